"""The suggestion engine: codes suggested for segments, and how good they are.

Owns: :mod:`~qual_nlp.suggest.embed` (cached sentence embeddings over the encoder that
:mod:`qual_nlp.resources` loads), :mod:`~qual_nlp.suggest.zeroshot` (prototype scoring
from the codebook, with an explicit "none" and a polarity axis), :mod:`~qual_nlp.suggest.
features` and :mod:`~qual_nlp.suggest.classifier` (scikit-learn estimators per facet,
fitted by :mod:`~qual_nlp.suggest.logistic` and tuned by :mod:`~qual_nlp.suggest.tuning`),
:mod:`~qual_nlp.suggest.engine` (zero-shot and trained blended, per facet),
:mod:`~qual_nlp.suggest.active` (review order), :mod:`~qual_nlp.suggest.labels` (training
labels from codings), :mod:`~qual_nlp.suggest.modelio` (pickle-free model files),
:mod:`~qual_nlp.suggest.seed_vectors` (the built-in codebooks' shipped vectors) and
:mod:`~qual_nlp.suggest.evaluate` (scores on labelled CSVs). May import:
:mod:`qual_nlp.codebook`, :mod:`qual_nlp.resources`, :mod:`qual_nlp.errors`,
:mod:`qual_nlp.records`. It never touches a store: the facade passes it plain records
and DataFrames.
"""
