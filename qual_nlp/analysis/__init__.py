"""Cross-case analysis: theme × case matrices, barrier/facilitator (valence) matrices,
realist CMO configurations and joint displays, all pure pandas over the codings and
segments DataFrames (:data:`qual_nlp.records.CODING_COLUMNS`, ``SEGMENT_COLUMNS``).

>>> from qual_nlp.analysis import theme_matrix
>>> theme_matrix(codings, cols="case", value="count", codebook=cb)  # doctest: +SKIP
"""

from __future__ import annotations

from qual_nlp.analysis._select import select_codings, select_segments
from qual_nlp.analysis.cmo import cmo_configurations, cmo_summary
from qual_nlp.analysis.joint import joint_display, numeric_columns
from qual_nlp.analysis.matrix import VALUES, theme_matrix, valence_matrix

__all__ = [
    "VALUES",
    "cmo_configurations",
    "cmo_summary",
    "joint_display",
    "numeric_columns",
    "select_codings",
    "select_segments",
    "theme_matrix",
    "valence_matrix",
]
