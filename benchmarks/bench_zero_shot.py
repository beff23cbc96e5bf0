"""Zero-shot suggestions on the sample study, per facet, as the coders coded it.

No training: every participant segment that a coder reviewed gets the built-in
codebook's zero-shot suggestions (prototype similarity, calibrated from the codebook
itself). Scored per clinic against the coders' majority labels with the metrics of
``qual-nlp evaluate`` (macro-F1, κ), and — for every facet — how many codes zero-shot
suggests per passage next to how many the coders gave, so a facet that over-suggests
shows it. Focus groups are scored as a sixth group. Optionally per language (a study
with French documents). Nothing here is tuned on: it is the check.

    python benchmarks/bench_zero_shot.py [--encoder NAME] [--backend B] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
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
    return [(row[i],) if fl.exclusive else tuple(row[i]) for i in ids]


def _predicted(proba: pd.DataFrame, exclusive: bool) -> list[tuple]:
    found = active.suggestions({"f": proba}, {"f": exclusive}, {})
    by_segment = found.groupby("segment_id")["code"].apply(tuple).to_dict()
    if exclusive:
        return [by_segment.get(i, (NONE,))[:1] for i in proba.index]
    return [by_segment.get(i, ()) for i in proba.index]


def _count(labels: list[tuple]) -> float:
    return float(np.mean([len([x for x in row if x != NONE]) for row in labels]))


def run(encoder: str | None = None, backend: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sample.qnlp"
        Project.init(path, encoder=encoder, backend=backend).close()
        build_demo(path, suggest=False, train=False)
        with Project.open(path) as project:
            codebook = project.codebook()
            used = project.model.encoder()
            labels = facet_labels(project.codings(), project.review.coverage(), codebook)
            embedder = project.model.embedder()
            inputs = project.model.inputs(embedder)
            segments = inputs.frame
            ids = segments["segment_id"].to_numpy()
            zero = engine.zero_shot(codebook, embedder, inputs.X, ids.tolist(), inputs.texts)
            documents = {d: project.document(d) for d in segments["document"].unique()}
    case = segments["case"].fillna("FG").replace("", "FG").to_numpy()
    language = np.array(
        [documents[d].metadata.get("language") or "?" for d in segments["document"]]
    )
    rows = []
    for facet in codebook.facets:
        fl = labels[facet.id]
        coded = set(fl.segment_ids.tolist())
        for group_kind, groups in (("clinic", case), ("language", language)):
            for group in sorted(set(groups.tolist())):
                known = [int(i) for i, g in zip(ids, groups, strict=True) if g == group]
                known = [i for i in known if i in coded]
                if not known:
                    continue
                truth = _truth(fl, known)
                scored = sorted({lab for row in truth for lab in row} - {NONE})
                if not scored:
                    continue
                predicted = _predicted(zero[facet.id].loc[known], fl.exclusive)
                s = score(truth, predicted, scored, fl.exclusive)
                rows.append(
                    {
                        "by": group_kind,
                        "group": group,
                        "facet": facet.id,
                        "segments": len(known),
                        "macro_f1": round(s["macro_f1"], 3),
                        "kappa": None if s["kappa"] is None else round(s["kappa"], 3),
                        "coders_codes_per_passage": round(_count(truth), 3),
                        "suggested_codes_per_passage": round(_count(predicted), 3),
                    }
                )
    table = pd.DataFrame(rows)
    clinics = table[table["by"] == "clinic"]
    summary = (
        clinics.groupby("facet")[
            ["macro_f1", "kappa", "coders_codes_per_passage", "suggested_codes_per_passage"]
        ]
        .mean()
        .round(3)
        .reset_index()
    )
    summary["rate_ratio"] = (
        summary["suggested_codes_per_passage"] / summary["coders_codes_per_passage"]
    ).round(2)
    languages = table[table["by"] == "language"].drop(columns="by")
    return {
        "encoder": list(used),
        "mean_over_clinics": summary.to_dict(orient="records"),
        "by_language": languages.to_dict(orient="records"),
        "per_group": rows,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder")
    parser.add_argument("--backend")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.encoder, args.backend)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print("encoder:", *result["encoder"])
        print(pd.DataFrame(result["mean_over_clinics"]).to_string(index=False))
        print(pd.DataFrame(result["by_language"]).to_string(index=False), file=sys.stderr)
