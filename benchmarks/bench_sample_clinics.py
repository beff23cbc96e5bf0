"""How well does the model code a clinic it has never seen? Leave-one-clinic-out on the sample.

For each clinic C01–C05: train the per-facet estimators on the gold codings of
every other document (other clinics and the focus groups), suggest codes for the
held-out clinic's participant segments, and score them against the human
labels (majority of the coders who reviewed each segment) with the same metrics
as ``qual-nlp evaluate``. Zero-shot suggestions on the same segments are the
baseline, scored in the same run.

    python benchmarks/bench_sample_clinics.py [--json]
"""

from __future__ import annotations

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


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sample.qnlp"
        build_demo(path, suggest=False, train=False)
        with Project.open(path) as project:
            codebook = project.codebook()
            labels = facet_labels(project.codings(), project.review.coverage(), codebook)
            embedder = project.model.embedder()
            inputs = project.model.inputs(embedder)
            segments = inputs.frame
            texts = inputs.texts
            X, context = inputs.X, inputs.context
            ids = segments["segment_id"].to_numpy()
            case_of = dict(zip(ids.tolist(), segments["case"].fillna("").tolist(), strict=True))
            rows = []
            for clinic in ["C01", "C02", "C03", "C04", "C05"]:
                started = time.perf_counter()
                held = np.array([case_of[int(i)] == clinic for i in ids])
                train_labels = {
                    f: type(fl)(
                        fl.facet,
                        fl.exclusive,
                        fl.segment_ids[[case_of[int(s)] != clinic for s in fl.segment_ids]],
                        [
                            lab
                            for s, lab in zip(fl.segment_ids, fl.labels, strict=True)
                            if case_of[int(s)] != clinic
                        ],
                    )
                    for f, fl in labels.items()
                }
                model = engine.train(
                    codebook,
                    X[~held],
                    ids[~held],
                    train_labels,
                    embedder.name,
                    texts=[t for t, h in zip(texts, held, strict=True) if not h],
                    context=context[~held],
                    cross_validate=False,
                )
                test_ids = [int(i) for i in ids[held]]
                test_texts = [t for t, h in zip(texts, held, strict=True) if h]
                trained = engine.predict(model, X[held], test_ids, test_texts, context[held])
                zero = engine.zero_shot(codebook, embedder, X[held], test_ids, test_texts)
                blended = engine.blend(zero, trained, model)
                cuts = engine.thresholds(model)
                for facet in codebook.facets:
                    fl = labels[facet.id]
                    known = [i for i in test_ids if i in set(fl.segment_ids.tolist())]
                    truth = _truth(fl, known)
                    scored = sorted({lab for row in truth for lab in row} - {NONE})
                    if not scored:
                        continue
                    for name, proba in (("model", blended), ("zero-shot", zero)):
                        p = proba[facet.id].loc[known]
                        s = score(truth, _predicted(p, fl.exclusive, cuts), scored, fl.exclusive)
                        rows.append(
                            {
                                "clinic": clinic,
                                "facet": facet.id,
                                "suggester": name,
                                "segments": len(known),
                                "macro_f1": round(s["macro_f1"], 3),
                                "micro_f1": round(s["micro_f1"], 3),
                                "kappa": None if s["kappa"] is None else round(s["kappa"], 3),
                            }
                        )
                print(f"{clinic}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    table = pd.DataFrame(rows)
    summary = (
        table.groupby(["facet", "suggester"])[["macro_f1", "micro_f1", "kappa"]]
        .mean()
        .round(3)
        .reset_index()
    )
    return {"per_clinic": rows, "mean_over_clinics": summary.to_dict(orient="records")}


if __name__ == "__main__":
    result = run()
    if "--json" in sys.argv:
        print(json.dumps(result, indent=1))
    else:
        print(pd.DataFrame(result["mean_over_clinics"]).to_string(index=False))
