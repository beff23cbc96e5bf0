"""How well does the model code a clinic it has never seen? Leave-one-clinic-out on the sample.

For each clinic C01–C05: train the per-facet estimators on the gold codings of
every other document (other clinics and the focus groups), suggest codes for the
held-out clinic's participant segments, and score them against the human
labels (majority of the coders who reviewed each segment) with the same metrics
as ``qual-nlp evaluate``. Zero-shot suggestions on the same segments are the
baseline, scored in the same run.

    python benchmarks/bench_sample_clinics.py [--encoder NAME] [--backend NAME]
        [--samples FOLDER] [--french] [--json]

``--encoder``/``--backend`` are recorded in the sample project as ``qual-nlp init``
records them (default: the product's encoder through torch). ``--french`` asks
instead how a model trained on English transcripts codes French ones: for each
clinic with French documents (C01, C02, C04), train on the English documents of
every other clinic and the focus groups, and score that clinic's English documents
and its French documents side by side (same model, same clinic, only the language
differs). The French documents are a check, not something to tune on.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from qual_nlp.commands.demo import build_demo
from qual_nlp.project import Project
from qual_nlp.suggest import active, engine
from qual_nlp.suggest.evaluate import score
from qual_nlp.suggest.labels import NONE, facet_labels


def _truth(fl, ids: list[int]) -> list[tuple[str, ...]]:
    row = dict(zip(fl.segment_ids.tolist(), fl.labels, strict=True))
    out = []
    for i in ids:
        value = row[i]
        out.append((value,) if fl.exclusive else tuple(value))
    return out


def _predicted(proba: pd.DataFrame, exclusive: bool, cuts: dict[str, float]) -> list[tuple]:
    found = active.suggestions({"f": proba}, {"f": exclusive}, cuts)
    by_segment = found.groupby("segment_id")["code"].apply(tuple).to_dict()
    if exclusive:
        return [by_segment.get(i, (NONE,))[:1] for i in proba.index]
    return [by_segment.get(i, ()) for i in proba.index]


def _fold(codebook, labels, embedder, inputs, train: np.ndarray, tests: dict) -> list[dict]:
    """Train on the ``train`` rows of ``inputs``; score blended and zero-shot suggestions on
    each named boolean row mask of ``tests`` against the coders' labels."""
    ids = inputs.frame["segment_id"].to_numpy()
    texts, X, context = inputs.texts, inputs.X, inputs.context
    languages = np.asarray(inputs.languages, dtype=object)
    kept = set(ids[train].tolist())
    train_labels = {
        f: type(fl)(
            fl.facet,
            fl.exclusive,
            fl.segment_ids[[int(s) in kept for s in fl.segment_ids]],
            [lab for s, lab in zip(fl.segment_ids, fl.labels, strict=True) if int(s) in kept],
        )
        for f, fl in labels.items()
    }
    model = engine.train(
        codebook,
        X[train],
        ids[train],
        train_labels,
        embedder.name,
        texts=[t for t, h in zip(texts, train, strict=True) if h],
        context=context[train],
        cross_validate=False,
        languages=languages[train].tolist(),
    )
    cuts = engine.thresholds(model)
    rows = []
    for split, held in tests.items():
        test_ids = [int(i) for i in ids[held]]
        if not test_ids:
            continue
        test_texts = [t for t, h in zip(texts, held, strict=True) if h]
        trained = engine.predict(
            model, X[held], test_ids, test_texts, context[held], languages=languages[held].tolist()
        )
        zero = engine.zero_shot(codebook, embedder, X[held], test_ids, test_texts)
        blended = engine.blend(zero, trained, model)
        for facet in codebook.facets:
            fl = labels[facet.id]
            reviewed = set(fl.segment_ids.tolist())
            known = [i for i in test_ids if i in reviewed]
            truth = _truth(fl, known)
            scored = sorted({lab for row in truth for lab in row} - {NONE})
            if not scored:
                continue
            for name, proba in (("model", blended), ("zero-shot", zero)):
                p = proba[facet.id].loc[known]
                s = score(truth, _predicted(p, fl.exclusive, cuts), scored, fl.exclusive)
                rows.append(
                    {
                        "split": split,
                        "facet": facet.id,
                        "suggester": name,
                        "segments": len(known),
                        "macro_f1": round(s["macro_f1"], 3),
                        "micro_f1": round(s["micro_f1"], 3),
                        "kappa": None if s["kappa"] is None else round(s["kappa"], 3),
                    }
                )
    return rows


def run(
    encoder: str | None = None,
    backend: str | None = None,
    samples: str | None = None,
    french: bool = False,
) -> dict:
    """Leave-one-clinic-out figures; with ``french``, English-to-French figures instead:
    for each clinic with French documents, a model trained on the English documents of
    the other clinics, scored on that clinic's English and French documents."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sample.qnlp"
        Project.init(path, encoder=encoder, backend=backend).close()
        build_demo(path, samples=samples, suggest=False, train=False)
        with Project.open(path) as project:
            codebook = project.codebook()
            labels = facet_labels(project.codings(), project.review.coverage(), codebook)
            language = {
                d.name: (d.metadata or {}).get("language") or "en" for d in project.documents()
            }
            embedder = project.model.embedder()
            inputs = project.model.inputs(embedder)
            case = inputs.frame["case"].fillna("").to_numpy()
            is_french = inputs.frame["document"].map(language).eq("fr").to_numpy()
            clinics = ["C01", "C02", "C03", "C04", "C05"]
            if french:
                clinics = sorted(set(case[is_french]))
            rows = []
            for clinic in clinics:
                started = time.perf_counter()
                held = case == clinic
                if french:
                    tests = {"english": held & ~is_french, "french": held & is_french}
                    fold = _fold(codebook, labels, embedder, inputs, ~held & ~is_french, tests)
                else:
                    fold = _fold(codebook, labels, embedder, inputs, ~held, {"clinic": held})
                rows += [{"clinic": clinic, **row} for row in fold]
                print(f"{clinic}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    table = pd.DataFrame(rows)
    summary = (
        table.groupby(["split", "facet", "suggester"])[["macro_f1", "micro_f1", "kappa"]]
        .mean()
        .round(3)
        .reset_index()
    )
    return {
        "encoder": embedder.name,
        "per_clinic": rows,
        "mean_over_clinics": summary.to_dict(orient="records"),
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", help="sentence encoder, as qual-nlp init takes it")
    parser.add_argument("--backend", help="torch, onnx or onnx-int8")
    parser.add_argument("--samples", help="the sample study's folder (default: the bundled one)")
    parser.add_argument(
        "--french",
        action="store_true",
        help="train on English documents only; score the held-out English and French ones",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    return parser.parse_args()


if __name__ == "__main__":
    args = _arguments()
    result = run(args.encoder, args.backend, args.samples, args.french)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(pd.DataFrame(result["mean_over_clinics"]).to_string(index=False))
