"""What every service of a project shares: the project it belongs to, and its store."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from qual_nlp.project.core import Project


#: How long work reports how far it is: ``progress(done, total)``, called again as it goes.
#: Totals count the work's units (files, texts encoded, facets, steps) and may change
#: between its stages; the command line draws it with tqdm, the app with ``st.progress``.
Progress = Callable[[int, int], None]


class Service:
    """A part of a :class:`~qual_nlp.project.core.Project` (``project.review`` and its kin)."""

    def __init__(self, project: Project) -> None:
        self._project = project

    @property
    def store(self) -> Any:
        return self._project.store
