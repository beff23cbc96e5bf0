"""Codebooks: facets of codes with definitions and examples (the model), their YAML
reading, checking and writing, pure edits, and the built-in codebooks.

Owns: :mod:`~qual_nlp.codebook.io` (YAML in and out, checks, tree queries, the built-ins
shipped under ``builtin/``) and :mod:`~qual_nlp.codebook.edit` (add, rename, merge,
move, remove). May import: :mod:`qual_nlp.errors`, :mod:`qual_nlp.records` and PyYAML;
nothing else of qual_nlp (REFI-QDA ``.qdc`` lives in :mod:`qual_nlp.exchange`).

>>> from qual_nlp.codebook import ancestors, builtin_codebook
>>> ancestors(builtin_codebook(), "cfir_domain/inner_culture")
['cfir_domain/inner_setting']
"""

from __future__ import annotations

from qual_nlp.codebook.io import (
    BUILTIN_PACKAGE,
    DEFAULT_CODEBOOK,
    MIN_POLARITY_PAIRS,
    ancestors,
    builtin_codebook,
    children_of,
    code_paths,
    descendants,
    dump_codebook,
    facet_of,
    get_code,
    list_builtin,
    load_codebook,
    parse_codebook,
    prototype_texts,
    validate,
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
