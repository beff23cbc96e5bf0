"""Suggestion runs split across Dask workers: ``project.model.suggest(workers=N)``.

The same suggestions and review scores as the single-process run
(:meth:`~qual_nlp.project.model.ModelService.suggest`), computed in partitions of whole
documents (a segment's context is the turn before it, in its own document) by the
workers of a Dask cluster (:mod:`qual_nlp.distributed`):

- the client plans partitions from each document's segment count, never reading text;
- every worker opens the project itself (the SQLite file or the PostgreSQL URL), loads
  the encoder, the codebook's zero-shot scorer and the trained model once (a worker
  plugin), then per partition reads that partition's segments, embeds what the cache
  lacks (writing the vectors back), scores, and replaces the partition's suggestions and
  review scores in bulk;
- writes are idempotent (a partition's suggestions are replaced, its scores upserted),
  so a task retried after its worker died, or a run started again after an interruption,
  leaves no duplicate; vectors cached by the interrupted run are not encoded again.

Memory per worker is bounded by the partition size, not by the corpus.

``project.import_files(..., workers=N)`` sends the segmentation (spaCy sentence
boundaries, the costly part of an import) to the workers in groups of files; the client
reads the files and writes the documents, in the order a single-process import would.
"""

from __future__ import annotations

import functools
import os
import resource as rusage
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

#: Participant segments per partition (whole documents, so a partition may hold more).
PARTITION_SEGMENTS = 2000


@dataclass(frozen=True)
class SuggestJob:
    """What every worker needs to suggest as the client would (plain values only)."""

    url: str
    encoder: str
    backend: str
    model: str  # the model family, e.g. "model:minilm"
    version: int  # 0: zero-shot only
    facet: str | None
    #: (facet, tuned encoder folder, version of its estimator) for each facet whose
    #: fine-tuned encoder is used: the workers score those facets from its vectors
    tuned: tuple[tuple[str, str, int], ...] = ()

    @property
    def coder(self) -> str:
        return f"{self.model}@{self.version}"


@dataclass(frozen=True)
class Partition:
    """Whole documents, by name, and how many participant segments they hold."""

    index: int
    documents: tuple[str, ...]
    segments: int


def plan(counts: pd.DataFrame, size: int = PARTITION_SEGMENTS) -> list[Partition]:
    """Documents (``document``, ``segments`` columns, in order) grouped into partitions of
    about ``size`` participant segments; a longer document is a partition of its own."""
    out: list[Partition] = []
    names: list[str] = []
    total = 0
    for name, n in zip(counts["document"], counts["segments"], strict=True):
        if names and total + int(n) > size:
            out.append(Partition(len(out), tuple(names), total))
            names, total = [], 0
        names.append(str(name))
        total += int(n)
    if names:
        out.append(Partition(len(out), tuple(names), total))
    return out


#: How many times this process loaded a :class:`WorkerState` (once per run, by the plugin).
LOADS = 0


class WorkerState:
    """A worker's open project and loaded models, shared by all its partitions."""

    def __init__(self, job: SuggestJob) -> None:
        global LOADS
        LOADS += 1
        from qual_nlp.errors import RecordNotFoundError
        from qual_nlp.project.model import make_embedder
        from qual_nlp.storage import Store
        from qual_nlp.suggest import engine

        self.job = job
        self.store = Store.open(job.url)
        try:
            codebook = self.store.load_codebook()
            if codebook is None:
                raise RecordNotFoundError(f"{self.store.location} has no codebook")
            self.embedder = make_embedder(self.store, job.encoder, job.backend)
            _ = self.embedder.model  # loaded here, once per worker
            self.model = None
            if job.version:
                found = self.store.model_versions.blob(job.model, job.version)
                if found is None:
                    raise RecordNotFoundError(
                        f"{self.store.location} has no {job.coder}; run the batch again"
                    )
                self.model = engine.loads(found[1])
            self.scorer = engine.scorer(codebook, self.embedder)
            self.exclusive = {f.id: f.exclusive for f in codebook.facets}
            # the trained model's thresholds; a partition adds those of the tuned facets
            # it scores (finetune.blend_tuned), as the single process does
            self.cuts = engine.thresholds(self.model)
            self.tuned = [self._load_tuned(*entry) for entry in job.tuned]
        except BaseException:
            self.store.close()
            raise

    def _load_tuned(self, facet: str, folder: str, version: int) -> tuple[str, Any, Any]:
        """A used facet's tuned encoder (from this worker's model cache) and its estimator."""
        from pathlib import Path

        from qual_nlp.errors import ModelError, RecordNotFoundError
        from qual_nlp.project.finetune import TUNED_BACKEND, TUNED_MODEL
        from qual_nlp.project.model import make_embedder
        from qual_nlp.suggest import engine

        if not Path(folder).is_dir():
            raise ModelError(
                f"facet {facet}: its fine-tuned encoder {folder} is not on this worker; copy "
                "that folder to the same path on every worker (or share the model cache, "
                "QUAL_NLP_MODEL_DIR), then run the batch again"
            )
        found = self.store.model_versions.blob(TUNED_MODEL, version)
        if found is None:
            raise RecordNotFoundError(
                f"{self.store.location} has no {TUNED_MODEL}@{version}; run the batch again"
            )
        embedder = make_embedder(self.store, folder, TUNED_BACKEND)
        _ = embedder.model  # loaded here, once per worker
        return facet, embedder, engine.loads(found[1])

    def close(self) -> None:
        self.store.close()


def load_worker(job: SuggestJob) -> WorkerState:
    """Run once per worker by the plugin."""
    return WorkerState(job)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB. Linux's VmHWM, which starts afresh in a
    new program; ``ru_maxrss`` would carry over the peak of the process a worker was
    forked from (on Linux it survives ``execve``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(rusage.getrusage(rusage.RUSAGE_SELF).ru_maxrss / 1024, 1)


def suggest_partition(state: WorkerState, part: Partition) -> dict[str, Any]:
    """Runs on a worker: embed, score and write one partition; a small summary back."""
    from qual_nlp.project.finetune import blend_tuned
    from qual_nlp.project.inputs import with_context
    from qual_nlp.suggest import active, engine

    started = time.perf_counter()
    job, store, embedder = state.job, state.store, state.embedder
    frame = with_context(store.segments_frame(documents=list(part.documents)))
    ids = [int(i) for i in frame["segment_id"]]
    texts = frame["text"].tolist()
    encoded = embedder.n_encoded
    vectors = embedder.encode([*texts, *frame["context"].tolist()])
    X, context = vectors[: len(texts)], vectors[len(texts) :]
    zero = engine.score_zero_shot(state.scorer, X, ids, texts)
    # each passage's language (its document's), as the single-process run passes them
    named = frame["document"].map(store.document_languages())
    languages = [v if isinstance(v, str) and v else None for v in named]
    counted: dict[int, Any] = {}

    def predict(model: Any, X: Any, context: Any) -> dict[str, Any]:
        """As :meth:`SegmentInputs.predict`, on this partition's segments."""
        counts = None
        features = model.features
        if features is not None and getattr(features, "tfidf_", None) is not None:
            from qual_nlp.suggest.features import TokenCounts

            n = features.ngram_max
            counts = counted[n] = counted.get(n) or TokenCounts(texts, n)
        return engine.predict(model, X, ids, texts, context, counts=counts, languages=languages)

    trained = {}
    model = state.model
    if model is not None and ids:
        trained = predict(model, X, context)
    proba = engine.blend(zero, trained, model)
    cuts = dict(state.cuts)
    # facets whose fine-tuned encoder is used read its vectors, as in the single process
    for facet, tuned_embedder, tuned_model in state.tuned if ids else ():
        if facet not in proba:
            continue  # the codebook lost the facet since
        tuned_vectors = tuned_embedder.encode([*texts, *frame["context"].tolist()])
        mine = predict(tuned_model, tuned_vectors[: len(texts)], tuned_vectors[len(texts) :])
        blend_tuned(facet, zero, mine, tuned_model, proba, cuts)
    chosen = {job.facet: proba[job.facet]} if job.facet else proba
    found = active.suggestions(chosen, state.exclusive, cuts)
    found = found.assign(model_version=job.coder)
    if ids:
        store.codings.replace_suggestions(job.coder, found, segment_ids=ids, facet=job.facet)
        store.queue.write_scores(active.priorities(proba, state.exclusive, cuts), job.coder)
    return {
        "partition": part.index,
        "segments": len(ids),
        "suggestions": len(found),
        "by_facet": {str(k): int(v) for k, v in found["facet"].value_counts().items()},
        "encoded": embedder.n_encoded - encoded,
        "pid": os.getpid(),
        "loads": LOADS,
        "peak_rss_mb": peak_rss_mb(),
        "seconds": round(time.perf_counter() - started, 3),
    }


def suggest(
    service: Any,
    facet: str | None,
    *,
    workers: int | None,
    scheduler: str | None,
    partition_size: int | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """The distributed :meth:`ModelService.suggest` (access already checked)."""
    from qual_nlp import distributed
    from qual_nlp.distributed.cluster import check

    check(workers, scheduler)  # before anything is read
    started = time.perf_counter()
    store = service.store
    service._project.codebook()  # a project without a codebook fails here, not on workers
    encoder, backend = service.encoder()
    latest = store.model_versions.blob(service.MODEL)
    version = int(latest[0]) if latest else 0
    from qual_nlp.project.finetune import used_facets

    tuned = tuple(
        (name, str(record["encoder"]), int(record["version"]))
        for name, record in sorted(used_facets(store).items())
    )
    job = SuggestJob(store.reopen_url(), encoder, backend, service.MODEL, version, facet, tuned)
    store.ensure_coder(job.coder, "model")  # made once here, not raced by the workers
    partitions = plan(store.participant_counts(), partition_size or PARTITION_SEGMENTS)
    plugin = distributed.worker_resources(
        f"qual_nlp-suggest-{job.coder}", functools.partial(load_worker, job)
    )
    with distributed.connect(workers, scheduler) as client:
        results = distributed.run_partitions(
            client,
            suggest_partition,
            partitions,
            plugin=plugin,
            sizes=[p.segments for p in partitions],
            progress=progress,
            label="suggest",
        )
    by_facet: dict[str, int] = {}
    peak: dict[int, float] = {}
    loads: dict[int, int] = {}
    for r in results:
        for name, n in r["by_facet"].items():
            by_facet[name] = by_facet.get(name, 0) + n
        peak[r["pid"]] = max(peak.get(r["pid"], 0.0), r["peak_rss_mb"])
        loads[r["pid"]] = max(loads.get(r["pid"], 0), r["loads"])
    from qual_nlp.project.finetune import missing

    return {
        "model": job.coder,
        "tuned_facets": [name for name, _, _ in tuned],
        # a tuned encoder that won but is not on this machine: run finetune again
        "tuned_missing": missing(store),
        "segments": sum(r["segments"] for r in results),
        "uncovered_documents": service.uncovered(),
        "suggestions": sum(r["suggestions"] for r in results),
        "by_facet": dict(sorted(by_facet.items())),
        "seconds": round(time.perf_counter() - started, 2),
        "partitions": len(partitions),
        "encoded": sum(r["encoded"] for r in results),
        # per worker process: its peak memory, and how often it loaded the models
        "workers": {
            str(pid): {"peak_rss_mb": mb, "loads": loads[pid]} for pid, mb in sorted(peak.items())
        },
    }


# ------------------------------------------------------------------ import
#: Files per segmentation task.
FILES_PER_TASK = 8


def load_segmenter() -> None:
    """Run once per worker: the default sentence pipeline, loaded before the first task."""
    from qual_nlp.resources import load_spacy

    load_spacy()


def segment_part(_loaded: Any, part: list[tuple[Any, str | None]]) -> list[list[Any]]:
    """Runs on a worker: the segments of each (parsed document, language) of a group."""
    from qual_nlp.ingest.segment import segment_documents

    stream = ((parsed, i) for i, (parsed, _language) in enumerate(part))
    out: list[list[Any]] = [[] for _ in part]
    for spans, i in segment_documents(stream, language=lambda i: part[i][1]):
        out[i] = spans
    return out


def segment_on_workers(
    documents: list[tuple[Any, str | None]],
    *,
    workers: int | None,
    scheduler: str | None,
) -> list[list[Any]]:
    """The segments of every (parsed document, language), segmented on Dask workers, in
    the order given (as :func:`~qual_nlp.ingest.segment.segment_documents` would)."""
    from qual_nlp import distributed

    parts = [documents[i : i + FILES_PER_TASK] for i in range(0, len(documents), FILES_PER_TASK)]
    plugin = distributed.worker_resources("qual_nlp-segmenter", load_segmenter)
    with distributed.connect(workers, scheduler) as client:
        results = distributed.run_partitions(
            client, segment_part, parts, plugin=plugin, label="segment"
        )
    return [spans for group in results for spans in group]
