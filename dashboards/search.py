"""The search box: places and things by name, answered as one types; a choice zooms to it.

The answers come from ``layers.search`` (PostgreSQL's trigrams over the names every layer
declares), only from the layers the session's role may see. Choosing one turns its layer on,
shows it with a margin, outlines it on the map, and puts the feature in the details pane.
"""

from __future__ import annotations

import html
from functools import partial

import panel as pn

from dashboards.map import LayerMap
from dashboards.outline import Outline
from dashboards.theme import html_pane
from layers.registry import layer
from layers.search import MIN_QUERY, RESULTS, Found, Place, find, place_of

MARK_COLOUR = "#e6007e"  # no layer's style uses it: the mark stands out on any of them


def answers_said(count: int, query: str) -> str:
    """How many answers a query has, said in both languages (Slovenian counts have four forms:
    1 zadetek, 2 zadetka, 3 zadetki, 5 zadetkov, and so on by the last two digits)."""
    last = count % 100
    noun = {1: "zadetek", 2: "zadetka", 3: "zadetki", 4: "zadetki"}.get(last, "zadetkov")
    quoted = html.escape(query.strip())
    if count == 0:
        said = f"Ni zadetkov za »{quoted}«. <span class='en'>Nothing found for “{quoted}”.</span>"
    else:
        plural = "" if count == 1 else "s"
        said = f"{count} {noun} za »{quoted}« <span class='en'>· {count} result{plural} for “{quoted}”</span>"
    return f"<p class='hint' role='status'>{said}</p>"


class SearchBox(pn.viewable.Viewer):
    """One text box for every name the role may find, its answers below it as buttons."""

    def __init__(self, layer_map: LayerMap, role: str, **params) -> None:
        super().__init__(**params)
        self.map, self.role = layer_map, role
        self.mark = Outline(layer_map.figure, MARK_COLOUR, "search_mark")
        self.input = pn.widgets.TextInput(
            label="Iskanje · Search",
            placeholder="naslov, ulica, naselje, ime … · address, street, place, name …",
            sizing_mode="stretch_width",
            css_classes=["search-input"],
        )
        # One button for each place in the list, kept: typing relabels them, so a click always
        # lands on a live button and chooses what the list holds at that place when it
        # arrives (a button made per answer and replaced on the next key lost the click).
        self.buttons = [self._button(place) for place in range(RESULTS)]
        self.answers = pn.Column(
            *self.buttons, sizing_mode="stretch_width", css_classes=["search-answers"]
        )
        # what the answers below are for: read out by a screen reader as it changes, and what
        # tells anyone that the list has caught up with the typing
        self.said = html_pane("", margin=(0, 10), visible=False)
        self.found: list[Found] = []
        guarded = layer_map.outage.guarded
        self.input.param.watch(guarded(self._search), "value_input")
        # Enter, not any new value: leaving the box for an answer's button must not choose
        self.input.param.watch(guarded(self._choose_first), "enter_pressed")

    def _search(self, event) -> None:
        query = event.new or ""
        self._list(find(self.map.engine, query, self.role), query)

    def _list(self, found: list[Found], query: str) -> None:
        """Show ``found``, the answers to ``query``, and say how many there are."""
        self.found = found
        for place, button in enumerate(self.buttons):
            if place < len(found):
                self._label(button, found[place])
            button.visible = place < len(found)
        self.said.visible = len(query.strip()) >= MIN_QUERY
        self.said.object = answers_said(len(found), query)

    def _button(self, place: int) -> pn.widgets.Button:
        """The button of the answer at ``place`` in the list (hidden while there is none)."""
        button = pn.widgets.Button(
            button_type="light",
            sizing_mode="stretch_width",
            css_classes=["search-answer"],
            visible=False,
        )
        button.on_click(self.map.outage.guarded(lambda _event: self._choose_at(place)))
        return button

    @staticmethod
    def _label(button: pn.widgets.Button, found: Found) -> None:
        spec = layer(found.layer)
        detail = f" ({found.detail})" if found.detail else ""
        button.name = f"{found.label}{detail} — {spec.title_sl}"
        button.description = f"{spec.title_sl} · {spec.title_en}"

    def _choose_at(self, place: int) -> None:
        if place < len(self.found):
            self.choose(self.found[place])

    def _choose_first(self, _event) -> None:
        self._choose_at(0)

    def choose(self, found: Found) -> None:
        """Show answer ``found``: its layer on, the map on it, outlined, its details."""
        place = place_of(self.map.engine, found.entry, self.role)
        if place is None:  # reloaded away since it was found: the list is out of date
            self._list([], self.input.value_input or "")
            return
        self.map.next_tick(partial(self.map.outage.guarded(self._show), place))

    def _show(self, place: Place) -> None:
        self.map.show_layer(place.layer)
        self.map.zoom_to(place.bounds)
        self.mark.show([place.shape])
        if place.feature_id is not None:
            self.map.show_feature(layer(place.layer), place.feature_id)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            html_pane("<div class='panel-title'>Iskanje · Search</div>"),
            self.input,
            self.said,
            self.answers,
            sizing_mode="stretch_width",
        )
