"""Per-segment inputs of a suggestion run, kept while the segments stay the same.

Re-suggesting after a review round or a retrain changes the model, not the
segments: their vectors, the preceding turn's vectors, their word counts and
their zero-shot scores are the same as last time. They are computed once per
project file and *segments generation* (see
:meth:`~qual_nlp.storage.store.Store.segments_generation`) and reused until an
import, deletion or case change makes the generation move on.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Projects whose inputs are kept (the app usually has one open; tests open many).
MAX_PROJECTS = 2

_lock = threading.Lock()
_cache: OrderedDict[tuple[Any, str], SegmentInputs] = OrderedDict()


def with_context(segments: pd.DataFrame) -> pd.DataFrame:
    """Participant segments with a ``context`` column: the last passage of the turn
    before theirs in the same document (typically the interviewer's question)."""
    frame = segments.sort_values(["document", "start"]).reset_index(drop=True)
    last = (
        frame.groupby(["document", "turn_index"], sort=False)["text"]
        .last()
        .rename("context")
        .reset_index()
    )
    last["turn_index"] = last["turn_index"] + 1  # a turn's last passage is the next one's context
    frame = frame.merge(last, on=["document", "turn_index"], how="left")
    frame["context"] = frame["context"].fillna("")
    return frame[~frame["is_interviewer"].astype(bool)].reset_index(drop=True)


@dataclass
class SegmentInputs:
    """Participant segments (with context), their vectors and derived per-segment inputs."""

    generation: tuple[int, int, int]
    frame: pd.DataFrame
    X: np.ndarray
    context: np.ndarray
    _counts: dict[int, Any] = field(default_factory=dict)
    _zero: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)

    @property
    def ids(self) -> list[int]:
        return [int(i) for i in self.frame["segment_id"]]

    @property
    def languages(self) -> list[str | None]:
        """Each segment's language: its document's (None when unknown)."""
        if "language" not in self.frame:
            return [None] * len(self.frame)
        return [v if isinstance(v, str) and v else None for v in self.frame["language"]]

    @property
    def texts(self) -> list[str]:
        return self.frame["text"].tolist()

    def counts(self, ngram_max: int) -> Any:
        """Word n-gram counts of every segment (tokenised once)."""
        from qual_nlp.suggest.features import TokenCounts

        if ngram_max not in self._counts:
            self._counts[ngram_max] = TokenCounts(self.texts, ngram_max)
        return self._counts[ngram_max]

    def zero_shot(self, codebook: Any, embedder: Any) -> dict[str, pd.DataFrame]:
        """Zero-shot probabilities per facet, recomputed only when the codebook changes."""
        from qual_nlp.suggest import engine

        protos, exclusive = engine.prototypes(codebook)
        key = hashlib.sha256(
            json.dumps(
                [protos, exclusive, engine.polarities(codebook), embedder.name], sort_keys=True
            ).encode("utf-8")
        ).hexdigest()
        if key not in self._zero:
            self._zero.clear()  # one codebook at a time
            self._zero[key] = engine.zero_shot(codebook, embedder, self.X, self.ids, self.texts)
        return self._zero[key]

    def predict(self, model: Any) -> dict[str, pd.DataFrame]:
        """A trained model's probabilities per facet for every segment, with the word
        counts it needs (kept between model versions) and each segment's language."""
        from qual_nlp.suggest import engine

        features = model.features
        counts = None
        if features is not None and getattr(features, "tfidf_", None) is not None:
            counts = self.counts(features.ngram_max)
        return engine.predict(
            model,
            self.X,
            self.ids,
            self.texts,
            self.context,
            counts=counts,
            languages=self.languages,
        )

    def rows(self, segment_ids: Any) -> np.ndarray:
        """Row positions, in reading order, of those of ``segment_ids`` that are
        participant segments."""
        return np.flatnonzero(self.frame["segment_id"].isin(list(segment_ids)).to_numpy())


def _key(store: Any, embedder: Any) -> tuple[Any, str]:
    location = store.location
    # in-memory databases share a URL: tell them apart by engine
    return (id(store.engine) if ":memory:" in location else location, embedder.name)


def segment_inputs(store: Any, embedder: Any) -> SegmentInputs:
    """The project's :class:`SegmentInputs`, reused while its segments generation holds."""
    key = _key(store, embedder)
    generation = store.segments_generation()
    with _lock:
        found = _cache.get(key)
        if found is not None and found.generation == generation:
            _cache.move_to_end(key)
            return found
    frame = with_context(store.segments_frame())
    frame["language"] = frame["document"].map(store.document_languages())
    texts = frame["text"].tolist()
    # one call for texts and contexts: one pass over what is not cached yet (one progress)
    vectors = embedder.encode([*texts, *frame["context"].tolist()])
    X, context = vectors[: len(texts)], vectors[len(texts) :]
    inputs = SegmentInputs(generation, frame, X, context)
    with _lock:
        _cache[key] = inputs
        _cache.move_to_end(key)
        while len(_cache) > MAX_PROJECTS:
            _cache.popitem(last=False)
    return inputs


def forget(store: Any | None = None) -> None:
    """Drop kept inputs: of one store (all encoders), or of every project."""
    with _lock:
        if store is None:
            _cache.clear()
            return
        location = store.location
        for key in [k for k in _cache if k[0] in (location, id(store.engine))]:
            del _cache[key]
