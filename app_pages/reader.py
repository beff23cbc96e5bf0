"""The Documents page's reading view: the transcript with highlights and coding stripes,
shown by a small local Streamlit component (``components/reader/index.html``: plain
JavaScript, nothing fetched) that reports a click on a coding and a text selection.

The HTML itself is :func:`app_pages.markup.document_html` (pure, tested directly).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit.components.v1 as components

from app_pages import markup

_FOLDER = Path(__file__).resolve().parent / "components" / "reader"
_reader = components.declare_component("qual_nlp_reader", path=str(_FOLDER))


def reader(html: str, *, key: str, height: int = 640, selected: list[int] | None = None) -> Any:
    """Show ``html`` (from :func:`markup.document_html`); returns the last event:
    ``{"kind": "open", "ids": [...], "n": …}`` or ``{"kind": "select", "start", "end", "n"}``,
    or None before any."""
    return _reader(
        html=html,
        style=markup.READER_STYLE,
        height=height,
        selected=selected or [],
        key=key,
        default=None,
    )
