"""Time the analysis workbook export on a generated study of 50 000 codings.

Run: ``python benchmarks/bench_tables.py [--codings 50000] [--out FILE]``.

The study has 20 cases and documents of 200 segments (every other segment an
interviewer question). Each answer segment is coded by one or two analysts with a
valence code, a CFIR construct and, one time in four, a realist role; a model adds
scored suggestions. Three timings, in one process, on the same sheets:

- ``build``: :func:`qual_nlp.analysis.workbook.analysis_workbook` (every matrix, CMO
  chains, joint display, quotes, codebook) from the codings and segments frames;
- ``write``: :func:`qual_nlp.analysis.workbook.write_xlsx` of those sheets;
- ``baseline``: a plain openpyxl write-only dump of the same cells (values prepared
  beforehand, no styling, no formula guard).

It prints one JSON document with the seconds and ``write / baseline`` ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qual_nlp.analysis.workbook import _flat, analysis_workbook, write_xlsx
from qual_nlp.codebook import load_codebook
from qual_nlp.records import CODING_COLUMNS, SEGMENT_COLUMNS, Codebook

DOC_SIZE = 200
N_CASES = 20


def make_segments(n_answers: int, rng: np.random.Generator) -> pd.DataFrame:
    """Segments (SEGMENT_COLUMNS plus province) with ``n_answers`` participant segments."""
    n = 2 * n_answers
    ids = np.arange(1, n + 1)
    doc = (ids - 1) // DOC_SIZE
    position = (ids - 1) % DOC_SIZE
    interviewer = position % 2 == 0
    case = doc % N_CASES
    speaker = np.where(interviewer, "Interviewer", "P" + (doc % 7).astype(str))
    roles = np.array(["patient", "nurse case manager", "family physician", "manager"])
    role = np.where(interviewer, "interviewer", roles[doc % len(roles)])
    start = position * 120
    words = rng.integers(8, 60, size=n)
    text = [f"segment {i} " + "lorem ipsum " * int(w // 2) for i, w in zip(ids, words, strict=True)]
    return pd.DataFrame(
        {
            "segment_id": ids,
            "document": [f"D{d:04d}.txt" for d in doc],
            "case": [f"C{c:02d}" for c in case],
            "source_type": np.where(doc % 5 == 0, "focus_group", "interview"),
            "speaker": speaker,
            "role": role,
            "is_interviewer": interviewer,
            "timestamp": None,
            "turn_index": position,
            "start": start,
            "end": start + 100,
            "text": text,
        },
        columns=list(SEGMENT_COLUMNS),
    )


def make_codings(
    segments: pd.DataFrame, codebook: Codebook, n_codings: int, rng: np.random.Generator
) -> pd.DataFrame:
    """About ``n_codings`` codings (CODING_COLUMNS) on the participants' segments."""
    answers = segments[~segments["is_interviewer"]].reset_index(drop=True)
    valence = np.array([c.path for c in codebook.codes if c.facet == "valence"])
    cfir = np.array([c.path for c in codebook.codes if c.facet == "cfir_domain"])
    cmo = np.array(["cmo/context", "cmo/mechanism", "cmo/outcome"])
    per_segment = 2.25 * 1.3 + 0.5  # codes per segment x coders, plus model suggestions
    n_seg = min(len(answers), int(n_codings / per_segment) + 1)
    chosen = answers.iloc[:n_seg]
    parts = []
    for coder, share in (("ana", 1.0), ("ben", 0.3)):
        rows = chosen[rng.random(n_seg) < share]
        k = len(rows)
        for codes, rate in ((valence, 1.0), (cfir, 1.0), (cmo, 0.25)):
            keep = rng.random(k) < rate
            parts.append(
                rows[keep].assign(
                    code=rng.choice(codes, size=int(keep.sum())),
                    coder=coder,
                    coder_role="analyst",
                    status="accepted",
                    score=np.nan,
                    model_version=None,
                )
            )
    suggested = chosen[rng.random(n_seg) < 0.5]
    parts.append(
        suggested.assign(
            code=rng.choice(cfir, size=len(suggested)),
            coder="model@1",
            coder_role="model",
            status=np.where(rng.random(len(suggested)) < 0.3, "accepted", "suggested"),
            score=rng.random(len(suggested)),
            model_version="1",
        )
    )
    frame = pd.concat(parts, ignore_index=True).head(n_codings)
    frame = frame.assign(
        coding_id=np.arange(1, len(frame) + 1),
        facet=frame["code"].str.split("/").str[0],
        memo="",
        created_at="2024-01-01T00:00:00Z",
    )
    return frame[list(CODING_COLUMNS)]


def make_cases(rng: np.random.Generator) -> pd.DataFrame:
    before = rng.integers(50, 300, size=N_CASES)
    return pd.DataFrame(
        {
            "case": [f"C{c:02d}" for c in range(N_CASES)],
            "province": rng.choice(["QC", "ON", "NB", "MB"], size=N_CASES),
            "rurality": rng.choice(["urban", "rural"], size=N_CASES),
            "ed_visits_before": before,
            "ed_visits_after": (before * rng.uniform(0.5, 1.1, size=N_CASES)).astype(int),
        }
    )


def plain_rows(frame: pd.DataFrame) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of plain Python values (None for missing), for the baseline."""
    flat = _flat(frame)
    values = flat.astype(object).where(flat.notna(), None)
    return [str(c) for c in flat.columns], values.to_numpy().tolist()


def baseline_dump(path: Path, sheets: dict[str, tuple[list[str], list[list[Any]]]]) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for name, (header, rows) in sheets.items():
        ws = wb.create_sheet(name[:31])
        ws.append(header)
        for row in rows:
            ws.append(row)
    wb.save(path)


def run(n_codings: int, out: Path | None, seed: int = 7) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    codebook = load_codebook("cm-implementation")
    segments = make_segments(n_codings // 3 + DOC_SIZE, rng)
    codings = make_codings(segments, codebook, n_codings, rng)
    cases = make_cases(rng)
    segments = segments.merge(cases[["case", "province", "rurality"]], on="case", how="left")
    codings = codings.merge(cases[["case", "province", "rurality"]], on="case", how="left")

    with tempfile.TemporaryDirectory() as folder:
        target = out or Path(folder) / "analysis.xlsx"
        started = time.perf_counter()
        sheets = analysis_workbook(codings, segments, codebook, cases)
        built = time.perf_counter()
        write_xlsx(target, sheets)
        written = time.perf_counter()
        prepared = {name: plain_rows(frame) for name, frame in sheets.items()}
        base_start = time.perf_counter()
        baseline_dump(Path(folder) / "baseline.xlsx", prepared)
        base_end = time.perf_counter()
    write = written - built
    baseline = base_end - base_start
    return {
        "codings": len(codings),
        "segments": len(segments),
        "cells": int(sum(len(r) * len(h) for h, r in prepared.values())),
        "rows": {name: len(frame) for name, frame in sheets.items()},
        "build_seconds": round(built - started, 2),
        "write_seconds": round(write, 2),
        "export_seconds": round(written - started, 2),
        "baseline_seconds": round(baseline, 2),
        "write_vs_baseline": round(write / baseline, 2),
        "export_vs_baseline": round((written - started) / baseline, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codings", type=int, default=50_000)
    parser.add_argument("--out", type=Path, help="keep the workbook here")
    args = parser.parse_args()
    print(json.dumps(run(args.codings, args.out), indent=2))


if __name__ == "__main__":
    main()
