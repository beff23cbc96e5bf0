"""The suggestion engine: embeddings → zero-shot and trained per-facet probabilities.

Works before any label (zero-shot similarity to each code's definition and
examples, with an explicit "none"), learns from reviewed segments (one
scikit-learn estimator per facet on cached embeddings), blends the two while
labels are few, and scores every trained version as a coder against the humans
(cross-validated macro-F1 and Cohen's κ).

Inputs and outputs are arrays and DataFrames; the facade does the storing.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qual_nlp.records import Codebook
from qual_nlp.suggest.labels import NONE, FacetLabels

#: Labels a facet needs before its trained estimator is used at all.
MIN_LABELS = 12
#: Blend weight of the trained estimator: n / (n + BLEND_K) for n labels.
BLEND_K = 60.0
#: Training segments a language needs before the word features (TF-IDF n-grams) are
#: trusted for its passages; passages in rarer languages are scored by the portable
#: estimators, which see the (multilingual) sentence vectors only.
MIN_LANGUAGE_ROWS = 30


@dataclass
class FacetModel:
    """A facet's trained estimator with what it was trained on."""

    facet: str
    exclusive: bool
    classes: list[str]
    estimator: Any
    n_labels: int
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainedModel:
    """Everything a model version needs to suggest again."""

    encoder: str
    facets: dict[str, FacetModel]
    created: float = field(default_factory=time.time)
    features: Any = None  # a fitted TextFeatures, or None for embeddings alone
    #: Estimators on the sentence vectors (and context vectors) alone, for passages in
    #: languages the word features never saw (trained with ``features``' TF-IDF only).
    portable: dict[str, FacetModel] = field(default_factory=dict)
    #: Training segments per language (ISO 639-1; "" for unknown).
    languages: dict[str, int] = field(default_factory=dict)

    @property
    def n_labels(self) -> int:
        return max((m.n_labels for m in self.facets.values()), default=0)

    def foreign(self, languages: Sequence[str | None]) -> np.ndarray:
        """Which rows are in a language with too few training segments for the word
        features (fewer than :data:`MIN_LANGUAGE_ROWS`, and not the language most training
        segments were in); all False when the model has no portable estimators or knows
        no training language."""
        mask = np.zeros(len(languages), dtype=bool)
        known = {k: v for k, v in self.languages.items() if k}
        if not self.portable or not known:
            return mask
        # the language most of the training was in keeps the word features, however few
        main = max(known, key=lambda k: known[k])
        for i, language in enumerate(languages):
            if language and language != main and known.get(str(language), 0) < MIN_LANGUAGE_ROWS:
                mask[i] = True
        return mask


def covered(texts: Sequence[str], languages: frozenset[str] | None) -> list[str]:
    """The texts an encoder covering ``languages`` (None: every language) represents well.

    A text is dropped only when it is recognisably in another language: an English-only
    encoder maps French prototypes to one crowded region, where they would pull the
    facets' calibration up and match every French-looking passage alike. Texts too short
    to tell (back-channels such as "Mm-hm.") are kept.
    """
    if languages is None:
        return list(texts)
    from qual_nlp.ingest.language import sentence_language

    out = []
    for text in texts:
        language = sentence_language(text)
        if language is None or language in languages:
            out.append(text)
    return out


def prototypes(
    codebook: Codebook, languages: frozenset[str] | None = None
) -> tuple[dict[str, dict[str, list[str]]], dict[str, bool]]:
    """Prototype texts per facet and code (definition, inclusion, examples, descendants),
    in the ``languages`` the encoder covers (None: all of them)."""
    from qual_nlp.codebook import prototype_texts

    texts = prototype_texts(codebook, include_descendants=True)
    return (
        {
            facet: {code: covered(items, languages) or items[:1] for code, items in codes.items()}
            for facet, codes in texts.items()
        },
        {f.id: f.exclusive for f in codebook.facets},
    )


def polarities(
    codebook: Codebook, languages: frozenset[str] | None = None
) -> dict[str, tuple[str, str, list[tuple[str, str]]]]:
    """Per bipolar facet: (negative code path, positive code path, contrasting pairs),
    the pairs in the ``languages`` the encoder covers (None: all of them)."""
    out = {}
    for f in codebook.facets:
        if f.polarity is None:
            continue
        pairs = list(f.polarity.pairs)
        kept = [(a, b) for a, b in pairs if len(covered([a, b], languages)) == 2]
        out[f.id] = (
            f"{f.id}/{f.polarity.negative}",
            f"{f.id}/{f.polarity.positive}",
            kept or pairs,
        )
    return out


def scorer(codebook: Codebook, embedder: Any) -> Any:
    """A :class:`PrototypeScorer` fitted on the codebook's texts in the languages the
    embedder's encoder covers."""
    from qual_nlp.resources import covered_languages
    from qual_nlp.suggest.zeroshot import NONE_PROTOTYPES, PrototypeScorer

    languages = covered_languages(str(getattr(embedder, "name", "")))
    protos, exclusive = prototypes(codebook, languages)
    none = covered(NONE_PROTOTYPES, languages)
    return PrototypeScorer(embedder=embedder, none_prototypes=none).fit(
        protos, exclusive, polarities(codebook, languages)
    )


def zero_shot(
    codebook: Codebook,
    embedder: Any,
    X: np.ndarray,
    index: Sequence[int],
    texts: Sequence[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Per-facet probabilities from similarity to code prototypes (no labels needed);
    bipolar facets choose between their two codes by stance."""
    return score_zero_shot(scorer(codebook, embedder), X, index, texts)


def score_zero_shot(
    fitted: Any, X: np.ndarray, index: Sequence[int], texts: Sequence[str] | None = None
) -> dict[str, pd.DataFrame]:
    """:func:`zero_shot` with a :func:`scorer` already fitted (kept across batches)."""
    return _frames(fitted.predict_proba(X, texts), index)


def featurise(
    features: Any, X: np.ndarray, texts: Sequence[str] | None, context: np.ndarray | None
) -> Any:
    """The estimator input: ``X`` alone, or the fitted :class:`TextFeatures` stack."""
    if features is None or texts is None:
        return X
    return features.transform(X, texts, context)


def _frames(proba: Mapping[str, Any], index: Sequence[int]) -> dict[str, pd.DataFrame]:
    out = {}
    for facet, value in proba.items():
        frame = value if isinstance(value, pd.DataFrame) else pd.DataFrame(value)
        frame.index = pd.Index(list(index), name="segment_id")
        out[facet] = frame
    return out


def make_estimator(exclusive: bool) -> Any:
    """The per-facet estimator: multiclass with "none", or one-vs-rest with thresholds."""
    from qual_nlp.suggest.classifier import ExclusiveClassifier, MultiLabelClassifier

    return ExclusiveClassifier() if exclusive else MultiLabelClassifier()


def _targets(labels: FacetLabels, classes: list[str]) -> np.ndarray | list:
    if labels.exclusive:
        return np.asarray(labels.labels, dtype=object)
    return [list(t) for t in labels.labels]


def _usable(labels: FacetLabels) -> bool:
    if len(labels) < MIN_LABELS:
        return False
    if labels.exclusive:
        return len(set(labels.labels)) >= 2
    positives = {c for t in labels.labels for c in t}
    return len(positives) >= 1 and any(len(t) == 0 for t in labels.labels)


def cross_validated_metrics(
    estimator_factory: Any, X: np.ndarray, labels: FacetLabels, folds: int = 3
) -> dict[str, Any]:
    """Macro-F1 and Cohen's κ of the model against the human labels, by cross-validation."""
    from sklearn.metrics import cohen_kappa_score, f1_score
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.preprocessing import MultiLabelBinarizer

    n = len(labels)
    if labels.exclusive:
        y = np.asarray(labels.labels, dtype=object)
        counts = pd.Series(y).value_counts()
        k = int(min(folds, counts.min())) if counts.min() >= 2 else 0
        if k < 2:
            return {"n": n, "mode": "too few labels to cross-validate"}
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=0)
        pred = np.empty(n, dtype=object)
        for train, test in splitter.split(X, y):
            est = estimator_factory(True).fit(X[train], y[train])
            pred[test] = est.predict(X[test])
        present = sorted(set(y) - {NONE})
        return {
            "n": n,
            "macro_f1": float(f1_score(y, pred, labels=present, average="macro", zero_division=0)),
            "kappa": float(cohen_kappa_score(y.astype(str), pred.astype(str))),
            "accuracy": float(np.mean(y == pred)),
        }
    mlb = MultiLabelBinarizer()
    Y = mlb.fit_transform([list(t) for t in labels.labels])
    k = min(folds, n)
    if k < 2 or Y.shape[1] == 0:
        return {"n": n, "mode": "too few labels to cross-validate"}
    pred_rows: list[Any] = [None] * n
    for train, test in KFold(n_splits=k, shuffle=True, random_state=0).split(X):
        est = estimator_factory(False).fit(X[train], [list(labels.labels[i]) for i in train])
        rows = (
            est.predict_labels(X[test]) if hasattr(est, "predict_labels") else est.predict(X[test])
        )
        for i, row in zip(test, rows, strict=True):
            pred_rows[i] = row
    P = _binarize(pred_rows, list(mlb.classes_))
    kappas = [
        cohen_kappa_score(Y[:, j], P[:, j])
        for j in range(Y.shape[1])
        if len(set(Y[:, j]) | set(P[:, j])) > 1
    ]
    return {
        "n": n,
        "macro_f1": float(f1_score(Y, P, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(Y, P, average="micro", zero_division=0)),
        "kappa": float(np.nanmean(kappas)) if kappas else None,
    }


def _binarize(rows: Sequence[Any], classes: list[str]) -> np.ndarray:
    """Predicted rows (label lists or 0/1 arrays) as a 0/1 matrix over ``classes``."""
    out = np.zeros((len(rows), len(classes)), dtype=int)
    index = {c: j for j, c in enumerate(classes)}
    for i, row in enumerate(rows):
        if row is None:
            continue
        if isinstance(row, np.ndarray) and row.dtype != object and len(row) == len(classes):
            out[i] = row.astype(int)
            continue
        for label in row:
            if label in index:
                out[i, index[label]] = 1
    return out


def train(
    codebook: Codebook,
    X: np.ndarray,
    segment_ids: np.ndarray,
    labels: Mapping[str, FacetLabels],
    encoder: str,
    *,
    texts: Sequence[str] | None = None,
    context: np.ndarray | None = None,
    cross_validate: bool = True,
    languages: Sequence[str | None] | None = None,
) -> TrainedModel:
    """Fit one estimator per facet with enough labels; ``X`` rows align with ``segment_ids``.

    With ``texts`` (and optionally ``context``, the preceding turn's vectors)
    the estimators see :class:`~qual_nlp.suggest.features.TextFeatures`:
    embedding + context embedding + TF-IDF n-grams; otherwise the embeddings.

    Word n-grams learnt from one language say nothing of another: a model trained on
    English codings scores French passages by the English words it does not find there
    (κ near 0, where the multilingual vectors alone carry most of the signal). So
    with word features, ``portable`` estimators on the vectors alone are fitted too,
    and ``languages`` (one per row; None when unknown) records how many training
    segments each language had: :func:`predict` scores a passage in a language with
    fewer than :data:`MIN_LANGUAGE_ROWS` of them by the portable estimators.
    """
    features = None
    if texts is not None and len(texts):
        from qual_nlp.suggest.features import TextFeatures

        features = TextFeatures().fit(list(texts))
    F = featurise(features, X, texts, context)
    facets = _fit_facets(codebook, F, segment_ids, labels, cross_validate)
    portable: dict[str, FacetModel] = {}
    if features is not None and features.tfidf_ is not None:
        from qual_nlp.suggest.features import TextFeatures

        vectors_only = TextFeatures(context_weight=features.context_weight, tfidf_weight=0.0).fit(
            []
        )
        P = featurise(vectors_only, X, texts, context)
        portable = _fit_facets(codebook, P, segment_ids, labels, False, only=set(facets))
    counts: dict[str, int] = {}
    if languages is not None:
        for language in languages:
            key = str(language or "")
            counts[key] = counts.get(key, 0) + 1
    return TrainedModel(encoder, facets, features=features, portable=portable, languages=counts)


def _fit_facets(
    codebook: Codebook,
    F: Any,
    segment_ids: np.ndarray,
    labels: Mapping[str, FacetLabels],
    cross_validate: bool,
    only: set[str] | None = None,
) -> dict[str, FacetModel]:
    """One fitted estimator per facet with usable labels (rows of ``F`` align with
    ``segment_ids``)."""
    row_of = {int(s): i for i, s in enumerate(segment_ids)}
    facets: dict[str, FacetModel] = {}
    for facet in codebook.facets:
        if only is not None and facet.id not in only:
            continue
        fl = labels.get(facet.id)
        if fl is None:
            continue
        keep = [i for i, s in enumerate(fl.segment_ids) if int(s) in row_of]
        fl = FacetLabels(fl.facet, fl.exclusive, fl.segment_ids[keep], [fl.labels[i] for i in keep])
        if not _usable(fl):
            continue
        Xf = F[[row_of[int(s)] for s in fl.segment_ids]]
        metrics = cross_validated_metrics(make_estimator, Xf, fl) if cross_validate else {}
        estimator = make_estimator(fl.exclusive).fit(Xf, _targets(fl, []))
        classes = [str(c) for c in getattr(estimator, "classes_", [])]
        facets[facet.id] = FacetModel(facet.id, fl.exclusive, classes, estimator, len(fl), metrics)
    return facets


def predict(
    model: TrainedModel,
    X: np.ndarray,
    index: Sequence[int],
    texts: Sequence[str] | None = None,
    context: np.ndarray | None = None,
    *,
    counts: Any = None,
    languages: Sequence[str | None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Per-facet probabilities from the trained estimators.

    ``counts`` (a :class:`~qual_nlp.suggest.features.TokenCounts` of ``texts``)
    saves tokenising the texts again for the TF-IDF features. ``languages`` (one per
    row) sends rows in languages the model hardly saw in training to its portable
    estimators (see :func:`train`).
    """
    if model.features is not None and texts is None:
        raise ValueError("this model was trained on text features: pass the segments' texts")
    # text features are scored block by block, computed once for every facet
    blocks = (
        None
        if model.features is None
        else model.features.weighted_blocks(X, texts, context, counts)
    )
    foreign = model.foreign(languages) if languages is not None else np.zeros(len(X), bool)
    if foreign.any():
        rows = np.flatnonzero(foreign)
        portable_blocks = [(np.asarray(X)[rows], 1.0)]
        if model.features is not None and model.features.context_weight > 0:
            ctx = np.zeros_like(X) if context is None else context
            portable_blocks.append((np.asarray(ctx)[rows], float(model.features.context_weight)))
    out = {}
    for facet, fm in model.facets.items():
        if blocks is None:
            proba = fm.estimator.predict_proba(X)
        else:
            proba = fm.estimator.predict_proba_blocks(blocks)
        columns = [str(c) for c in fm.estimator.classes_]
        other = model.portable.get(facet)
        if foreign.any() and other is not None:
            proba = np.array(proba, dtype=float, copy=True)
            proba[rows] = _aligned(other, fm, other.estimator.predict_proba_blocks(portable_blocks))
        out[facet] = pd.DataFrame(
            proba, index=pd.Index(list(index), name="segment_id"), columns=columns
        )
    return out


def _aligned(portable: FacetModel, main: FacetModel, proba: np.ndarray) -> np.ndarray:
    """The portable estimator's probabilities in the main one's column order, and (for
    multi-label facets) moved in logit space so that the portable estimator's own
    decision threshold falls on the main one's: one threshold per code then decides
    for every row, whichever estimator scored it."""
    order = [list(portable.estimator.classes_).index(c) for c in main.estimator.classes_]
    proba = np.asarray(proba, dtype=float)[:, order]
    mine = getattr(portable.estimator, "thresholds_", None)
    theirs = getattr(main.estimator, "thresholds_", None)
    if mine is None or theirs is None:
        return proba

    def logit(p: Any) -> Any:
        p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
        return np.log(p) - np.log1p(-p)

    shift = logit(theirs) - logit(np.asarray(mine, dtype=float)[order])
    return 1.0 / (1.0 + np.exp(-(logit(proba) + shift)))


def blend(
    zero: Mapping[str, pd.DataFrame],
    trained: Mapping[str, pd.DataFrame],
    model: TrainedModel | None,
) -> dict[str, pd.DataFrame]:
    """Weighted mean of zero-shot and trained probabilities: the trained share grows with labels."""
    out = dict(zero)
    if model is None:
        return out
    for facet, p in trained.items():
        n = model.facets[facet].n_labels
        w = n / (n + BLEND_K)
        z = zero.get(facet)
        if z is None:
            out[facet] = p
            continue
        columns = list(dict.fromkeys([*p.columns, *z.columns]))
        out[facet] = w * p.reindex(columns=columns, fill_value=0.0) + (1 - w) * z.reindex(
            columns=columns, fill_value=0.0
        )
    return out


def thresholds(model: TrainedModel | None) -> dict[str, float]:
    """Per-code decision thresholds of the multi-label estimators (default 0.5)."""
    out: dict[str, float] = {}
    if model is None:
        return out
    for fm in model.facets.values():
        values = getattr(fm.estimator, "thresholds_", None)
        if values is not None:
            out.update(
                {str(c): float(t) for c, t in zip(fm.estimator.classes_, values, strict=True)}
            )
    return out


def dumps(model: TrainedModel) -> bytes:
    """Serialise without pickle: a zip of each estimator's own npz/JSON files plus a manifest."""
    import zipfile

    from qual_nlp.suggest.modelio import save_estimator

    buffer = io.BytesIO()
    manifest = {
        "encoder": model.encoder,
        "created": model.created,
        "languages": model.languages,
        "portable": sorted(model.portable),
        "facets": {
            f: {
                "exclusive": m.exclusive,
                "classes": m.classes,
                "n_labels": m.n_labels,
                "metrics": m.metrics,
            }
            for f, m in model.facets.items()
        },
    }
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, default=float))
        for facet, fm in model.facets.items():
            zf.writestr(f"{facet}.bin", save_estimator(fm.estimator))
        for facet, fm in model.portable.items():
            zf.writestr(f"portable/{facet}.bin", save_estimator(fm.estimator))
        if model.features is not None:
            zf.writestr("features.bin", save_estimator(model.features))
    return buffer.getvalue()


def loads(blob: bytes) -> TrainedModel:
    import zipfile

    from qual_nlp.suggest.modelio import load_estimator

    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        facets = {
            f: FacetModel(
                f,
                bool(m["exclusive"]),
                list(m["classes"]),
                load_estimator(zf.read(f"{f}.bin")),
                int(m["n_labels"]),
                dict(m["metrics"]),
            )
            for f, m in manifest["facets"].items()
        }
        names = set(zf.namelist())
        features = load_estimator(zf.read("features.bin")) if "features.bin" in names else None
        portable = {
            f: FacetModel(
                f,
                facets[f].exclusive,
                facets[f].classes,
                load_estimator(zf.read(f"portable/{f}.bin")),
                facets[f].n_labels,
            )
            for f in manifest.get("portable", [])
            if f in facets
        }
    return TrainedModel(
        manifest["encoder"],
        facets,
        manifest["created"],
        features,
        portable,
        {str(k): int(v) for k, v in manifest.get("languages", {}).items()},
    )
