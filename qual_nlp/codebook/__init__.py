"""Codebooks: facets of codes with definitions and examples (the model), their YAML
reading, checking and writing, pure edits, and the built-in codebooks.

Owns: :mod:`~qual_nlp.codebook.parse` (reading the YAML format),
:mod:`~qual_nlp.codebook.checks` (validation), :mod:`~qual_nlp.codebook.tree` (tree
queries), :mod:`~qual_nlp.codebook.load` (files and the built-ins shipped under
``builtin/``), :mod:`~qual_nlp.codebook.dump` (writing YAML) and
:mod:`~qual_nlp.codebook.edit` (add, rename, merge, move, remove). May import:
:mod:`qual_nlp.errors`, :mod:`qual_nlp.records` and PyYAML; nothing else of qual_nlp
(REFI-QDA ``.qdc`` lives in :mod:`qual_nlp.exchange`).

>>> from qual_nlp.codebook import ancestors, builtin_codebook
>>> ancestors(builtin_codebook(), "cfir_domain/inner_culture")
['cfir_domain/inner_setting']
"""

from __future__ import annotations

from qual_nlp.codebook.checks import MIN_POLARITY_PAIRS, validate
from qual_nlp.codebook.dump import dump_codebook
from qual_nlp.codebook.load import (
    BUILTIN_PACKAGE,
    DEFAULT_CODEBOOK,
    builtin_codebook,
    list_builtin,
    load_codebook,
)
from qual_nlp.codebook.parse import parse_codebook
from qual_nlp.codebook.tree import (
    ancestors,
    children_of,
    code_paths,
    descendants,
    facet_of,
    get_code,
    prototype_texts,
)

__all__ = [
    "BUILTIN_PACKAGE",
    "DEFAULT_CODEBOOK",
    "MIN_POLARITY_PAIRS",
    "ancestors",
    "builtin_codebook",
    "children_of",
    "code_paths",
    "descendants",
    "dump_codebook",
    "facet_of",
    "get_code",
    "list_builtin",
    "load_codebook",
    "parse_codebook",
    "prototype_texts",
    "validate",
]
