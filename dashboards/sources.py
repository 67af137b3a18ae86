"""The data of the map's sources, sent to the page only when it changes something.

Bokeh sends a source's data to the page whenever it is set, however equal to what the page
holds: each pan sent every page the empty image of a layer drawn as vectors, the empty names of
a layer zoomed out, and the empty image of the readings drawn as squares. Each such message
also costs the server's event loop a pass over every model of the page (Bokeh's serializer
takes each one's reference).
"""

from __future__ import annotations

from bokeh.models import ColumnDataSource


def set_data(source: ColumnDataSource, data: dict) -> None:
    """Give ``source`` ``data``, unless both hold no rows."""
    if _rows(data) or _rows(source.data):
        source.data = data


def _rows(data: dict) -> int:
    return max((len(column) for column in data.values()), default=0)
