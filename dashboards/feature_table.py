"""The attribute table below the map: a layer's features in view or selected, their count and
sums, and the files they are exported as.

A person selects features of the table's layer by a click on one (in the selection's mode),
a box dragged with the map's box tool, or a polygon drawn with its polygon tool; each adds
to the selection, outlined on the map. The table, the figures and the exports read the same
``layers.selection.Scope`` with the layer's filter, so they agree with each other and with the
map. The table is read only while it is open: most visits never open it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd
import panel as pn
import shapely
from bokeh.events import SelectionGeometry
from bokeh.models import BoxSelectTool, ColumnDataSource, PolyDrawTool

from dashboards.downloads import Made, download_button
from dashboards.exports import FORMATS, exported
from dashboards.map import LayerMap
from dashboards.measure import draw_on_double_click, svg_icon
from dashboards.outline import Outline
from dashboards.tables import number
from dashboards.theme import html_pane
from layers.selection import TABLE_ROWS, Scope, features, ids_within, outlines, table_rows, totals
from layers.spec import LayerSpec

SELECTION_COLOUR = "#00b3e6"  # no layer's style uses it, nor the search's mark
IN_VIEW, SELECTED = "view", "selection"
PAGE_ROWS = 10
POLYGON = svg_icon("<path d='M4 17 8 5l11 4-3 10z' stroke-dasharray='3 2'/><path d='M15 15l5 5'/>")
HINT = (
    "<p class='hint'>Izbor: klik na objekt v načinu »Izbor«, pravokotnik ali mnogokotnik v orodjih "
    "nad karto (dvoklik začne in konča).<br><span class='en'>Select: click a feature in "
    "“Selection” mode, or drag a box or draw a polygon with the tools above the map "
    "(a double-click starts and ends it).</span></p>"
)


def totals_html(spec: LayerSpec, found: dict[str, float], scope: str) -> str:
    """The count, the layer's sums and its length or area, as Slovenian writes numbers."""
    where = "v pogledu · in view" if scope == IN_VIEW else "izbranih · selected"
    parts = [f"<b>{number(found['count'])}</b> {where}"]
    for name in spec.totals:
        field = spec.field(name)
        decimals = 1 if field.type == "real" else 0
        parts.append(f"{field.label}: <b>{number(found[name], decimals)}</b>")
    if "km" in found:
        parts.append(f"dolžina · length: <b>{number(found['km'], 2)} km</b>")
    if "ha" in found:
        parts.append(f"površina · area: <b>{number(found['ha'], 2)} ha</b>")
    return f"<p class='totals' role='status'>{'; '.join(parts)}</p>"


def column_formats(spec: LayerSpec) -> dict:
    """Real numbers with a decimal comma and spaced thousands, as on every other page; whole
    numbers (years, codes, counts) as they are, not as 1,996."""
    money = {"type": "money", "decimal": ",", "thousand": " ", "precision": 2}
    formats = {"real": money, "integer": {"type": "plaintext"}}
    return {f.name: formats[f.type] for f in spec.fields if f.type in formats}


class FeatureTable(pn.viewable.Viewer):
    """The table of the chosen layer below ``layer_map``; ``audit`` records each export."""

    def __init__(
        self,
        layer_map: LayerMap,
        role: str,
        audit: Callable[[str, str], None] | None = None,
        **params,
    ) -> None:
        super().__init__(**params)
        self.map, self.role, self.audit = layer_map, role, audit
        tabled = [s for s in layer_map.specs if layer_map.layers[s.id].tabled and not s.basemap]
        self.specs = {s.id: s for s in tabled}
        self.selected: frozenset[int] = frozenset()
        self.outline = Outline(layer_map.figure, SELECTION_COLOUR, "selection", width=3)
        self.card = pn.Card(
            title="Tabela in izbor · Table and selection", collapsed=True,
            sizing_mode="stretch_width", css_classes=["feature-table"],
        )  # fmt: skip
        self.body = None  # the table and its controls, made when first needed
        self._add_tools()
        guarded = layer_map.outage.guarded
        self.card.param.watch(guarded(self._opened), "collapsed")
        layer_map.param.watch(guarded(lambda _e: self._view_moved()), "viewport")
        layer_map.param.watch(guarded(self._clicked), "details")
        for controls in layer_map.filters.values():
            controls.param.watch(guarded(lambda _e: self._refiltered()), "current")

    def _opened(self, event) -> None:
        if not event.new:
            self._build()
            self.update()

    def _build(self) -> None:
        """The table and its controls (once): most visits never open the table, and every
        visit's page is built."""
        if self.body:
            return
        guarded = self.map.outage.guarded
        self.layer_choice = pn.widgets.Select(
            name="Sloj · Layer", options={s.title: s.id for s in reversed(self.specs.values())},
            width=260,
        )  # fmt: skip
        self.scope = pn.widgets.RadioButtonGroup(
            options={"V pogledu · In view": IN_VIEW, "Izbor · Selection": SELECTED},
            button_type="default",
        )
        clear_button = pn.widgets.Button(name="Počisti izbor · Clear the selection")
        self.summary = html_pane("", sizing_mode="stretch_width")
        self.table, self.tabled_layer = None, None  # made for the layer chosen
        self.table_holder = pn.Column(sizing_mode="stretch_width")
        self.file_format = pn.widgets.Select(
            name="Oblika · Format", options={f.label: k for k, f in FORMATS.items()}, width=220
        )
        self.export_selected = self._download("Izvozi izbor · Export the selection", SELECTED)
        self.export_selected.disabled = not self.selected
        self.export_layer = self._download("Izvozi sloj (s filtrom) · Export the layer", None)
        self.layer_choice.param.watch(guarded(lambda _e: self.clear()), "value")
        self.scope.param.watch(guarded(lambda _e: self.update()), "value")
        clear_button.on_click(guarded(lambda _e: self.clear()))
        self.body = pn.Column(
            pn.Row(self.layer_choice, self.scope, clear_button),
            html_pane(HINT, sizing_mode="stretch_width"),
            self.summary,
            self.table_holder,
            pn.Row(self.file_format, self.export_selected, self.export_layer),
            sizing_mode="stretch_width",
        )
        self.card.objects = [self.body]

    def _download(self, label: str, scope: str | None) -> pn.widgets.FileDownload:
        return download_button(
            label, lambda: self.exported_file(scope),
            button_type="primary" if scope else "default", sizing_mode="stretch_width",
        )  # fmt: skip

    def _add_tools(self) -> None:
        """The box and the polygon to select with, among the map's tools."""
        figure = self.map.figure
        drawn = figure.patches(
            "xs", "ys", source=ColumnDataSource({"xs": [], "ys": []}), line_color=SELECTION_COLOUR,
            line_width=2, line_dash="dashed", fill_alpha=0.1, fill_color=SELECTION_COLOUR,
        )  # fmt: skip
        corners = figure.scatter(
            "x", "y", source=ColumnDataSource({"x": [], "y": []}), size=7, color=SELECTION_COLOUR
        )
        polygon = PolyDrawTool(
            renderers=[drawn], vertex_renderer=corners, num_objects=1, icon=POLYGON,
            description="Izberi z mnogokotnikom · Select by a polygon",
        )  # fmt: skip
        box = BoxSelectTool(
            renderers=[self.outline.line_renderer], persistent=False,
            description="Izberi s pravokotnikom · Select by a box",
        )  # fmt: skip
        figure.add_tools(box, polygon)
        draw_on_double_click(figure, [polygon])
        self.drawn = drawn.data_source
        self.drawn.on_change("data", lambda _a, _o, new: self._polygon_drawn(new))
        figure.on_event(SelectionGeometry, self.map.outage.guarded(self._box_dragged))

    @property
    def spec(self) -> LayerSpec:
        """The table's layer."""
        return self.specs[self.layer_choice.value]

    def _scope(self, which: str | None) -> Scope:
        """The layer as filtered: the features in view, the selection, or all of them."""
        spec = self.spec
        base = {"part": self.map.part(spec), "where": self.map.where(spec)}
        if which == IN_VIEW:
            view = self.map.viewport
            box = shapely.box(view.xmin, view.ymin, view.xmax, view.ymax)
            return Scope(spec, area=box, **base)
        if which == SELECTED:
            return Scope(spec, ids=self.selected, **base)
        return Scope(spec, **base)

    def update(self) -> None:
        """Read the table and its figures again, if the table is open."""
        if self.card.collapsed or not self.body:
            return
        scope = self._scope(self.scope.value)
        spec = scope.spec
        rows = table_rows(self.map.engine, scope, self.role)
        for field in spec.fields:  # a date as ISO writes it sorts as the date does
            if field.type in ("date", "timestamp"):
                rows[field.name] = [str(v)[:16] if v else "" for v in rows[field.name]]
        if self.tabled_layer != spec.id:
            self.table, self.tabled_layer = self._new_table(spec, rows), spec.id
            self.table_holder.objects = [self.table]
        else:  # the same columns: only the rows are sent
            self.table.value = rows
        said = totals_html(spec, totals(self.map.engine, scope, self.role), self.scope.value)
        if len(rows) == TABLE_ROWS:
            said += (
                f"<p class='hint'>Tabela kaže prvih {number(TABLE_ROWS)}; izvoz vsebuje vse. "
                f"<span class='en'>The table shows the first {TABLE_ROWS:,}; an export holds "
                "them all.</span></p>"
            )
        self.summary.object = said

    def _new_table(self, spec: LayerSpec, rows: pd.DataFrame) -> pn.widgets.Tabulator:
        """A table made for ``spec``'s columns. A layer's columns are never changed on a shown
        table: the browser's table may not be built yet, and changing its columns then throws."""
        table = pn.widgets.Tabulator(
            rows, titles={f.name: f.label for f in spec.fields}, hidden_columns=[spec.id_column],
            formatters=column_formats(spec), pagination="remote", page_size=PAGE_ROWS,
            disabled=True, show_index=False, sizing_mode="stretch_width", selectable=False,
        )  # fmt: skip
        table.on_click(self.map.outage.guarded(self._row_clicked))
        return table

    def _view_moved(self) -> None:
        if self.body and self.scope.value == IN_VIEW:
            self.update()

    def _refiltered(self) -> None:
        """A filter changed: the selection keeps only what the layer's filter lets through."""
        if not self.body:
            return
        if self.selected:
            kept = ids_within(self.map.engine, self._scope(SELECTED), self.role)
            self._select(kept, replace=True)
        else:
            self.update()

    def _select(self, ids: frozenset[int], replace: bool = False) -> None:
        """Add ``ids`` to the selection (or make them the selection), outline it, show it."""
        self.selected = ids if replace else self.selected | ids
        self.export_selected.disabled = not self.selected
        self.map.show_layer(self.spec.id)
        shapes = []
        if self.selected:
            tolerance = self.map.viewport.ground_pixel_size / 2
            shapes = outlines(self.map.engine, self._scope(SELECTED), self.role, tolerance)
        self.outline.show(shapes)
        # the table is read once: by the change of its mode, or by its opening, or here
        read_by_change = self.selected and (self.scope.value != SELECTED or self.card.collapsed)
        if self.selected:
            self.scope.value = SELECTED  # read here only while the table is open
            self.card.collapsed = False
        if not read_by_change:
            self.update()

    def clear(self) -> None:
        """An empty selection, the table back to what is in view."""
        self.selected = frozenset()
        self.export_selected.disabled = True
        self.outline.clear()
        self.scope.value = IN_VIEW
        self.update()

    def _select_in(self, area: shapely.Geometry) -> None:
        self._build()
        self._select(
            ids_within(
                self.map.engine, dataclasses.replace(self._scope(None), area=area), self.role
            )
        )

    def _box_dragged(self, event: SelectionGeometry) -> None:
        geometry = event.geometry or {}
        if geometry.get("type") != "rect" or not event.final:
            return  # the click tool's selections are points: a click picks, elsewhere
        box = [geometry[k] for k in ("x0", "y0", "x1", "y1")]
        self._select_in(shapely.box(*box))

    def _polygon_drawn(self, data: dict) -> None:
        xs, ys = data["xs"], data["ys"]
        if not xs or len(xs[-1]) < 3:
            return
        corners = shapely.Polygon(np.column_stack([xs[-1], ys[-1]]))
        if not corners.is_valid or corners.area == 0:
            corners = shapely.make_valid(corners)
        self.map.next_tick(lambda: setattr(self.drawn, "data", {"xs": [], "ys": []}))
        self._select_in(corners)

    def _clicked(self, event) -> None:
        """In the selection's mode, a click on a feature of the table's layer adds it to the
        selection, or takes it out."""
        found = event.new
        if not self.body or self.scope.value != SELECTED or not found:
            return
        if found["spec"].id != self.spec.id:
            return
        feature = frozenset([found["attributes"][self.spec.id_column]])
        if feature <= self.selected:
            self._select(self.selected - feature, replace=True)
        else:
            self._select(feature)

    def _row_clicked(self, event) -> None:
        """Zoom the map to the row's feature and show its details."""
        row = self.table.value.iloc[event.row]
        feature_id = int(row[self.spec.id_column])
        shapes = outlines(
            self.map.engine, Scope(self.spec, ids=frozenset([feature_id])), self.role, 0
        )
        if shapes:
            self.map.zoom_to(shapely.bounds(shapes[0]).tolist())
        self.map.show_feature(self.spec, feature_id)

    def exported_file(self, which: str | None) -> Made:
        """The chosen layer's features in ``which`` (the selection, or the filtered layer) as a
        file of the chosen format, its export recorded."""
        spec, file_format = self.spec, FORMATS[self.file_format.value]
        scope = self._scope(which)
        frame = features(self.map.engine, scope, self.role)
        part = "izbor" if which == SELECTED else "sloj"
        if self.audit:
            detail = f"{spec.id}; {part}; {len(frame)} features; filter {scope.where.said()}"
            self.audit(file_format.action, f"{detail}; {self.file_format.value}")
        content = exported(frame, spec, self.file_format.value)
        return f"{spec.id}_{part}{file_format.suffix}", content

    def __panel__(self) -> pn.viewable.Viewable:
        return self.card
