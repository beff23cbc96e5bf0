"""De-identification of transcripts in English and French: detection of identifiers
(:mod:`~qual_nlp.deid.detect`, Presidio over spaCy with the project's own recognisers),
consistent pseudonyms (:mod:`~qual_nlp.deid.pseudonyms`), the rewritten text with
remapped offsets (:mod:`~qual_nlp.deid.rewrite`) and the evaluation on a corpus with
planted identifiers (:mod:`~qual_nlp.deid.evaluate`).

Pure functions over texts and records: the facade (``project.deid``) reads the store,
calls these, and writes back what they return.
"""

from __future__ import annotations
