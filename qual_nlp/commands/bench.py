"""``qual-nlp bench``: throughput of the suggestion pipeline, as ratios within one run.

Measured in one process on the same generated texts, for one encoder:

* the encoder through torch (the reference) and through the chosen backend
  (segments/s, the model alone), their ratio, and the lowest cosine between the
  backend's vectors and torch's for the same texts;
* end-to-end import → segment → embed → suggest throughput with that backend, and its
  ratio to the backend alone (what the rest of the pipeline costs) and to torch;
* re-suggest time for N segments whose vectors are already cached (no encoding:
  load vectors, zero-shot + trained scoring, write suggestions and queue);
* the same end-to-end pipeline with all-MiniLM-L6-v2 through torch (the default of
  projects made before the multilingual encoder), and the ratio of the two;
* peak resident memory of the product's path (backend encoder, end to end and
  re-suggest), apart from the reference runs.

Each part runs in a fresh process of its own, one after the other, so a reference model
(the torch copy of the encoder, MiniLM) neither shares the product path's memory figure
nor warms its caches; the generated texts are the same in each.
"""

from __future__ import annotations

import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

OPENINGS = [
    "Honestly",
    "I mean",
    "You know",
    "Well",
    "So",
    "Um",
    "To be fair",
    "At first",
    "Since last spring",
    "With the new nurse",
]
CLAUSES = [
    "the case manager calls me back the same day",
    "we never get the discharge summary from the hospital",
    "writing the individual services plan takes a whole afternoon",
    "the physicians were not convinced it was worth the paperwork",
    "I feel safer knowing who to call when my breathing gets bad",
    "our manager protected time for the team meetings",
    "finding the patients with the greatest needs was harder than expected",
    "I have not been to the emergency room since she started coming",
    "the pharmacist and the social worker finally talk to each other",
    "the bus from the village only comes twice a week",
    "she helped me set up a pill box for my heart medication",
    "staff turnover meant we started over three times",
]


def generate_turns(n: int, seed: int = 11) -> list[str]:
    """``n`` distinct, spoken-style participant turns (10–40 words)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        parts = [rng.choice(OPENINGS) + ","] + [
            rng.choice(CLAUSES) for _ in range(rng.randint(1, 3))
        ]
        out.append(f"{' and '.join(parts)}, that was week {i}.")
    return out


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def raw_encoder(
    texts: list[str], encoder: str | None = None, backend: str = "torch"
) -> tuple[float, np.ndarray]:
    """Segments per second of the bare encoder (after a warm-up batch), and its vectors."""
    from qual_nlp.resources import DEFAULT_ENCODER, load_encoder

    model = load_encoder(encoder or DEFAULT_ENCODER, backend)
    model.encode(texts[:64], batch_size=64)
    start = time.perf_counter()
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    return len(texts) / (time.perf_counter() - start), np.asarray(vectors, dtype=np.float32)


def end_to_end(
    texts: list[str], folder: Path, encoder: str | None = None, backend: str | None = None
) -> tuple[float, dict[str, Any]]:
    """Segments per second from files on disk to stored suggestions (empty cache)."""
    from qual_nlp.project import Project

    docs = folder / "docs"
    docs.mkdir()
    per_doc = 100
    for d in range(0, len(texts), per_doc):
        lines = [f"P{d // per_doc:03d}: {t}" for t in texts[d : d + per_doc]]
        (docs / f"interview_{d // per_doc:04d}.txt").write_text("\n".join(lines) + "\n", "utf-8")
    project = Project.init(folder / "e2e.qnlp", encoder=encoder, backend=backend)
    project.model.embedder().encode(["warm-up"])  # load the model outside the timing, as raw does
    start = time.perf_counter()
    project.import_files([docs])
    result = project.model.suggest()
    seconds = time.perf_counter() - start
    project.close()
    return result["segments"] / seconds, result


def build_resuggest_project(
    n: int, path: Path, encoder: str | None = None, backend: str | None = None
) -> Any:
    """An ``n``-segment project with cached (random) vectors and 300 reviews; returns it open."""
    from qual_nlp.project import Project
    from qual_nlp.records import Document, SegmentSpan
    from qual_nlp.storage import text_hash
    from qual_nlp.suggest.embed import text_key

    texts = generate_turns(n, seed=5)
    project = Project.init(path, encoder=encoder, backend=backend)
    dim = project.model.embedder().dim
    per_doc = 2000
    for d in range(0, n, per_doc):
        chunk = texts[d : d + per_doc]
        body, spans, offset = [], [], 0
        for i, text in enumerate(chunk):
            line = f"P{i % 40:02d}: {text}"
            spans.append(SegmentSpan(offset + 5, offset + 5 + len(text), text, f"P{i % 40:02d}"))
            body.append(line)
            offset += len(line) + 1
        name = f"doc_{d // per_doc:03d}.txt"
        doc = Document(name, "\n".join(body) + "\n", case=f"C{d // per_doc % 5:02d}", sha256=name)
        project.store.add_document(doc, spans)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    encoder = project.model.embedder().name
    assert text_key("x") == text_hash("x"), "the store and the embedder must key texts alike"
    project.store.put_many({text_key(t): v for t, v in zip(texts, vectors, strict=True)}, encoder)
    # a few hundred reviews so a trained model takes part
    ids = project.segments()["segment_id"].tolist()
    for sid, text in zip(ids[:300], texts[:300], strict=True):
        code = "valence/barrier" if "never" in text or "harder" in text else "valence/facilitator"
        project.review.decide(
            int(sid), "ana", accept=[code, "cmo/context"] if "bus" in text else [code]
        )
    return project


def cached_resuggest(
    n: int, folder: Path, encoder: str | None = None, backend: str | None = None
) -> dict[str, Any]:
    """Re-suggest times on an ``n``-segment project whose vectors are cached.

    *cold*: the first suggestion run of a process (segments read, vectors looked
    up, words counted, zero-shot scored). *re-suggest*: what a reviewer waits for
    after a review round and a retrain — a new model version scores every
    segment and its suggestions and queue replace the old ones.
    """
    from qual_nlp.project import inputs as project_inputs

    project = build_resuggest_project(n, folder / "big.qnlp", encoder, backend)
    project.model.train(resuggest=False)
    project_inputs.forget()  # as in a freshly started process
    start = time.perf_counter()
    project.model.suggest()
    cold = time.perf_counter() - start
    # one more review round, then retrain: the new version re-suggests
    ids = project.segments()["segment_id"].tolist()
    for sid in ids[300:340]:
        project.review.decide(int(sid), "ana", accept=["valence/barrier"])
    train = project.model.train(resuggest=False)
    start = time.perf_counter()
    result = project.model.suggest()
    seconds = time.perf_counter() - start
    project.close()
    return {
        "resuggest_segments": n,
        "resuggest_seconds": round(seconds, 2),
        "resuggest_cold_seconds": round(cold, 2),
        "resuggest_suggestions": result["suggestions"],
        "resuggest_model": result["model"],
        "train_seconds_340_labels": train["train_seconds"],
    }


def _product_path(texts: list[str], encoder: str, backend: str) -> dict[str, Any]:
    """The product's path in this process: the backend alone, then end to end."""
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rate, vectors = raw_encoder(texts, encoder, backend)
        e2e, e2e_result = end_to_end(texts, folder, encoder, backend)
        out.update(
            raw_encoder_segments_per_s=round(rate, 1),
            end_to_end_segments_per_s=round(e2e, 1),
            end_to_end_suggestions=e2e_result["suggestions"],
            vectors=vectors,
        )
    out["peak_rss_mb"] = _rss_mb()
    return out


def _resuggest_path(n: int, encoder: str, backend: str) -> dict[str, Any]:
    """The re-suggest figures of an ``n``-segment project, in a process of their own."""
    with tempfile.TemporaryDirectory() as tmp:
        out = cached_resuggest(n, Path(tmp), encoder, backend)
    out["resuggest_peak_rss_mb"] = _rss_mb()
    return out


def _torch_reference(texts: list[str], encoder: str) -> dict[str, Any]:
    rate, vectors = raw_encoder(texts, encoder, "torch")
    return {"rate": rate, "vectors": vectors, "peak_rss_mb": _rss_mb()}


def _english_reference(texts: list[str]) -> dict[str, Any]:
    """Today's English path: all-MiniLM-L6-v2 through torch, alone and end to end."""
    from qual_nlp.resources import ENGLISH_ENCODER

    rate, _ = raw_encoder(texts, ENGLISH_ENCODER, "torch")
    with tempfile.TemporaryDirectory() as tmp:
        e2e, _ = end_to_end(texts, Path(tmp), ENGLISH_ENCODER, "torch")
    return {"rate": rate, "e2e": e2e}


def _in_child(function: Any, *args: Any) -> Any:
    """``function(*args)`` in a fresh Python process (spawned, so nothing is inherited)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def run_bench(
    segments: int = 2000,
    resuggest: int = 100_000,
    encoder: str | None = None,
    backend: str | None = None,
    english_reference: bool = True,
) -> dict[str, Any]:
    """Every figure of ``qual-nlp bench`` in one run (the product's default encoder and
    backend unless given), each part in a process of its own."""
    from qual_nlp.resources import DEFAULT_BACKEND, DEFAULT_ENCODER, canonical_encoder

    encoder = canonical_encoder(encoder or DEFAULT_ENCODER)
    backend = backend or DEFAULT_BACKEND
    texts = generate_turns(segments)
    torch_ref = _in_child(_torch_reference, texts, encoder)
    product = _in_child(_product_path, texts, encoder, backend)
    vectors = product.pop("vectors")
    raw = product["raw_encoder_segments_per_s"]
    e2e = product["end_to_end_segments_per_s"]
    out: dict[str, Any] = {
        "segments": segments,
        "encoder": encoder,
        "backend": backend,
        "torch_encoder_segments_per_s": round(torch_ref["rate"], 1),
        "raw_encoder_segments_per_s": raw,
        "backend_vs_torch_ratio": round(raw / torch_ref["rate"], 3),
        "min_cosine_vs_torch": round(float(np.min(np.sum(vectors * torch_ref["vectors"], 1))), 4),
        "end_to_end_segments_per_s": e2e,
        "end_to_end_to_raw_ratio": round(e2e / raw, 3),
        "end_to_end_vs_torch_ratio": round(e2e / torch_ref["rate"], 3),
    }
    if english_reference:
        english = _in_child(_english_reference, texts)
        out.update(
            minilm_torch_encoder_segments_per_s=round(english["rate"], 1),
            minilm_torch_end_to_end_segments_per_s=round(english["e2e"], 1),
            end_to_end_vs_minilm_torch_ratio=round(e2e / english["e2e"], 3),
        )
    out.update(product)
    if resuggest:
        out.update(_in_child(_resuggest_path, resuggest, encoder, backend))
    out["torch_reference_peak_rss_mb"] = torch_ref["peak_rss_mb"]
    return out
