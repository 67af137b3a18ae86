"""A download button whose file is made on a worker thread, the button showing it is busy.

A file that takes seconds (a printed view, a flood report, 100,000 features) made in the
button's callback held the event loop for every session and showed its maker nothing. Panel's
own busy indicator (``pn.state.sync_busy``) is no answer: it keeps every session's indicator
in one list of the process and sets them all, so each page's spinner turned for anyone's work.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

import panel as pn

# what a button's maker returns: the file's name and its bytes
Made = tuple[str, bytes]


def download_button(label: str, make: Callable[[], Made], **params) -> pn.widgets.FileDownload:
    """A button that downloads what ``make`` returns, made off the event loop; ``params`` as
    Panel's ``FileDownload`` takes them. ``make`` only reads the page's widgets: they are set
    on the loop, never from its thread."""
    button = pn.widgets.FileDownload(filename="download", label=label, **params)

    async def made() -> io.BytesIO:
        button.loading = True  # the button's own spinner, in this session only
        try:
            filename, content = await asyncio.to_thread(make)
        finally:
            button.loading = False
        button.filename = filename
        return io.BytesIO(content)

    button.callback = made
    return button
