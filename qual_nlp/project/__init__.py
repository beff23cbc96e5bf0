"""The facade: a :class:`Project` is one study's store plus the services that work on it.

Everything the command line, the app and scripts do goes through here, so they cannot
disagree. Owns: :mod:`~qual_nlp.project.core` (open, import, codebook, segments,
review), :mod:`~qual_nlp.project.model` (suggest, train, model history),
:mod:`~qual_nlp.project.inputs` (per-segment model inputs kept while segments are
unchanged) and :mod:`~qual_nlp.project.analysis` (agreement, matrices, exports). May
import every package below it: storage, ingest, codebook, suggest, analysis, agreement,
exchange.

>>> from qual_nlp.project import Project
>>> project = Project.open("study.qnlp", create=True)  # doctest: +SKIP
"""

from __future__ import annotations

from qual_nlp.project.core import Project

__all__ = ["Project"]
