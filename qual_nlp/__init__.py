"""qual_nlp: NLP-assisted qualitative analysis of interview transcripts and field notes.

Importing this package is cheap: heavy libraries (torch, spaCy,
sentence-transformers, SQLAlchemy, Streamlit) load only when a feature needs them.

>>> import qual_nlp
>>> project = qual_nlp.open_project("study.qnlp", create=True)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from qual_nlp.project import Project


def open_project(location: str, create: bool = False, **kwargs: Any) -> Project:
    """Open (or with ``create=True`` create) a project at a path or database URL."""
    from qual_nlp.project import Project

    return Project.open(location, create=create, **kwargs)


__all__ = ["__version__", "open_project"]
