"""Time the agreement tables on a large generated study (seconds and peak memory, as JSON).

Run: ``python benchmarks/bench_agreement.py [--segments 100000] [--coders 20]``.

The study has ten cases, documents of 200 segments, and one facet of five
codes. Each document is reviewed by two to six coders drawn at random (so most
coder pairs share only part of the material), and each reviewer leaves about 5 %
of a document's segments unfinished: realistic missing data. Coders apply a
code with a per-code base rate and disagree with a shared latent truth one time
in ten. Each report is timed from the codings DataFrame, as
``project.agreement.report`` calls it; peak memory is measured in a second run under
``tracemalloc`` (Python and NumPy allocations) and as the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd

from qual_nlp.agreement import agreement_report, disagreements
from qual_nlp.records import CODING_COLUMNS

CODES = (
    "domain/innovation",
    "domain/outer",
    "domain/inner",
    "domain/individuals",
    "domain/process",
)
RATES = (0.30, 0.12, 0.25, 0.08, 0.15)


def make_study(
    n_segments: int, n_coders: int, *, seed: int = 11, doc_size: int = 200
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Codings (CODING_COLUMNS) and coverage (segment_id, coder) of a generated study."""
    rng = np.random.default_rng(seed)
    coders = np.array([f"coder{i:02d}" for i in range(n_coders)], dtype=object)
    segment_ids = np.arange(1, n_segments + 1)
    document = (segment_ids - 1) // doc_size
    case = document % 10
    covered = np.zeros((n_segments, n_coders), dtype=bool)
    for d in range(int(document.max()) + 1):
        rows = np.flatnonzero(document == d)
        n_reviewers = int(rng.integers(2, min(6, n_coders) + 1))
        for reviewer in rng.choice(n_coders, size=n_reviewers, replace=False):
            covered[rows[rng.random(len(rows)) > 0.05], reviewer] = True
    truth = rng.random((n_segments, len(CODES))) < np.array(RATES)
    unit, coder = np.nonzero(covered)
    coverage = pd.DataFrame({"segment_id": segment_ids[unit], "coder": coders[coder]})

    parts = []
    for index in range(len(CODES)):
        applied = truth[unit, index] ^ (rng.random(len(unit)) < 0.10)
        parts.append((unit[applied], coder[applied], index))
    u = np.concatenate([p[0] for p in parts])
    c = np.concatenate([p[1] for p in parts])
    k = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    n = len(u)
    codings = pd.DataFrame(
        {
            "coding_id": np.arange(n),
            "segment_id": pd.array(segment_ids[u], dtype="Int64"),
            "document": np.char.add("doc", document[u].astype(str)).astype(object),
            "case": np.char.add("C", case[u].astype(str)).astype(object),
            "source_type": "interview",
            "speaker": "P01",
            "role": "patient",
            "start": u * 100,
            "end": u * 100 + 90,
            "text": "…",
            "facet": "domain",
            "code": np.array(CODES, dtype=object)[k],
            "coder": coders[c],
            "coder_role": "analyst",
            "status": "accepted",
            "score": np.nan,
            "model_version": None,
            "memo": "",
            "created_at": "",
        },
        columns=list(CODING_COLUMNS),
    )
    return codings, coverage


def measure(call: Callable[[], object]) -> dict[str, float]:
    """Seconds of one call, then the peak traced allocation of a second call."""
    began = time.perf_counter()
    call()
    seconds = time.perf_counter() - began
    tracemalloc.start()
    call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": round(seconds, 3), "peak_traced_mb": round(peak / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--coders", type=int, default=20)
    args = parser.parse_args()
    began = time.perf_counter()
    codings, coverage = make_study(args.segments, args.coders)
    generated = time.perf_counter() - began
    runs = {
        "by_code": lambda: agreement_report(codings, coverage, by="code"),
        "by_pair": lambda: agreement_report(codings, coverage, by="pair"),
        "by_pair_code": lambda: agreement_report(codings, coverage, by=("pair", "code")),
        "by_case_code": lambda: agreement_report(codings, coverage, by=("case", "code")),
        "disagreements": lambda: disagreements(codings, coverage),
    }
    results = {name: measure(call) for name, call in runs.items()}
    print(
        json.dumps(
            {
                "segments": args.segments,
                "coders": args.coders,
                "codes": len(CODES),
                "coverage_rows": len(coverage),
                "coding_rows": len(codings),
                "generate_seconds": round(generated, 2),
                "runs": results,
                "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
