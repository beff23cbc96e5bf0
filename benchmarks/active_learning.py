"""Does the review queue's uncertainty order need fewer labels than a random order?

A simulated analyst labels a pool in batches; after each batch the facet's estimator
(the product's :class:`~qual_nlp.suggest.classifier.ExclusiveClassifier` on the
sentence vectors) is retrained and scored (Cohen's κ, macro-F1) on held-out rows. The
next batch is the pool's least certain rows under the current model — the product's own
``uncertainty`` (:func:`qual_nlp.suggest.active.priorities`: 1 − (top − runner-up)) — or
a random batch. Both start from the same random seed batch; several seeds are averaged.
The target is the κ of the model trained on the whole pool (the *frozen* model's final
κ); the report gives, per order, the labels needed to reach 95% of it. The simulation is
the library's (:mod:`qual_nlp.suggest.curves`, which the app's learning curve runs on a
project's own reviews); this script brings the data sets and prints the report.

    python benchmarks/active_learning.py annomi  [--cache FILE.qnlp] [--json]
    python benchmarks/active_learning.py sample  [--json]
    python benchmarks/active_learning.py phase1  [--cache FILE.qnlp] [--json]

Data: ``annomi`` — AnnoMI client talk type (``../shared/benchmarks``, the dev split only:
pool and held-out rows are whole transcripts of it); ``phase1`` — NHS patient feedback,
single-label themes (dev split only, grouped by row); ``sample`` — the sample study's
valence gold codings (held-out: one clinic per seed). Test splits are never read.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "benchmarks"
START, BATCH, SEEDS = 40, 40, 3


def run(X: np.ndarray, y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], budget):
    """The library's simulation (:func:`qual_nlp.suggest.curves.simulate`) in this
    script's report: the pool's final κ, the 95% target, labels to reach it, the curve."""
    from qual_nlp.suggest.curves import simulate

    curve = simulate(X, y, splits, start=START, batch=BATCH, budget=budget)
    return {
        "frozen_final_kappa": curve.pool_kappa,
        "target_kappa_95pct": curve.target_kappa,
        "labels_to_target": {o: curve.labels_to_target[o] for o in ("random", "uncertainty")},
        "curve": [
            {"order": p.order, "labels": p.labels, "kappa": p.kappa, "f1": p.f1}
            for p in sorted(curve.points, key=lambda p: (p.order, p.labels))
        ],
    }


def _embed(texts: list[str], cache: str | None) -> np.ndarray:
    from qual_nlp.project import Project

    with tempfile.TemporaryDirectory() as tmp:
        path = cache or str(Path(tmp) / "cache.qnlp")
        project = Project.open(path) if Path(path).exists() else Project.init(path)
        with project:
            return project.model.embedder().encode(texts)


def _grouped_splits(groups: np.ndarray, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupShuffleSplit

    idx = np.arange(len(groups))
    splitter = GroupShuffleSplit(n_splits=n, test_size=0.3, random_state=0)
    return [(idx[a], idx[b]) for a, b in splitter.split(idx, groups=groups)]


def dataset(name: str, cache: str | None):
    if name == "annomi":
        frame = pd.read_csv(SHARED / "annomi_mi_dialogues/splits/client_talk_type_dev.csv")
        y = frame["labels"].astype(str).to_numpy()
        X = _embed(frame["text"].fillna("").astype(str).tolist(), cache)
        return X, y, _grouped_splits(frame["transcript_id"].to_numpy(), SEEDS), 1200
    if name == "phase1":
        frame = pd.read_csv(SHARED / "pxtextmining_nhs_feedback/splits/phase1_single_label_dev.csv")
        frame = frame.sample(n=min(3000, len(frame)), random_state=0).reset_index(drop=True)
        y = frame["labels"].astype(str).to_numpy()
        X = _embed(frame["text"].fillna("").astype(str).tolist(), cache)
        return X, y, _grouped_splits(np.arange(len(frame)), SEEDS), 1200
    if name == "sample":
        from qual_nlp.commands.demo import build_demo
        from qual_nlp.project import Project
        from qual_nlp.suggest.labels import facet_labels

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sample.qnlp"
            build_demo(path, suggest=False, train=False)
            with Project.open(path) as project:
                labels = facet_labels(
                    project.codings(), project.review.coverage(), project.codebook()
                )["valence"]
                inputs = project.model.inputs()
                row = {int(s): i for i, s in enumerate(inputs.frame["segment_id"])}
                keep = [i for i, s in enumerate(labels.segment_ids) if int(s) in row]
                rows = [row[int(labels.segment_ids[i])] for i in keep]
                X = inputs.X[rows]
                y = np.array([str(labels.labels[i]) for i in keep])
                case = inputs.frame["case"].fillna("").to_numpy()[rows]
        clinics = [c for c in ("C01", "C02", "C03", "C04", "C05") if (case == c).any()][:SEEDS]
        idx = np.arange(len(y))
        splits = [(idx[case != c], idx[case == c]) for c in clinics]
        return X, y, splits, 400
    raise SystemExit(f"unknown data set {name!r}: annomi, phase1 or sample")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", choices=["annomi", "phase1", "sample"])
    parser.add_argument("--cache", help="a project file keeping the vectors between runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    X, y, splits, budget = dataset(args.data, args.cache)
    result = {"data": args.data, "rows": len(y), **run(X, y, splits, budget)}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    curve_table = pd.DataFrame(result.pop("curve"))
    print(json.dumps(result, indent=1))
    wide = curve_table.pivot(index="labels", columns="order", values="kappa")
    print(wide.to_string(), file=sys.stdout)


if __name__ == "__main__":
    main()
