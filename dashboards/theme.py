"""The look of the staff dashboards: one stylesheet, given to every HTML pane.

Panel renders each pane in its own shadow root, so a page-wide stylesheet would not reach it.
"""

from __future__ import annotations

from pathlib import Path

import panel as pn

THEME_CSS = (Path(__file__).parent / "theme.css").read_text(encoding="utf-8")


def html_pane(markup: str, **params) -> pn.pane.HTML:
    """An HTML pane styled by the theme."""
    return pn.pane.HTML(markup, stylesheets=[THEME_CSS], **params)
