"""What every service of a project shares: the project it belongs to, and its store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from qual_nlp.project.core import Project


class Service:
    """A part of a :class:`~qual_nlp.project.core.Project` (``project.review`` and its kin)."""

    def __init__(self, project: Project) -> None:
        self._project = project

    @property
    def store(self) -> Any:
        return self._project.store
