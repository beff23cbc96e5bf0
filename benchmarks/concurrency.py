"""Many coders deciding at once: lost writes, errors and duplicate codings.

Creates (or opens) the project at ``--project`` — a SQLite file or a PostgreSQL URL —
imports one transcript of ``--segments`` participant turns under a name of its own,
then starts ``--coders`` processes that wait at a barrier and, all at the same time,
each make ``--decisions`` review decisions through the facade
(``project.review.decide``) on those segments. Every coder works through the same
segments in its own order and comes back to segments it already decided (more
decisions than segments), so the same rows are written by several processes at once
and a coder's later decision must replace its earlier one.

Afterwards it counts, from the store:

* ``lost_writes``: (coder, segment) pairs whose stored accepted/rejected codes are not
  the coder's last decision there, or that are not marked reviewed; plus review events
  missing from the event log;
* ``errors``: decisions that raised (the first few messages are kept);
* ``duplicate_codings``: codings beyond the first of one (segment, coder, code, status).

Prints one JSON document; exits 1 when any of the three is not 0.

    python benchmarks/concurrency.py --project postgresql://user@host:5432/db --coders 8
    python benchmarks/concurrency.py --project /tmp/conc.qnlp --coders 4 --decisions 500
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: codes a decision picks from (the built-in cm-implementation codebook)
CODES = (
    "valence/barrier",
    "valence/facilitator",
    "cmo/context",
    "cmo/mechanism",
    "cmo/outcome",
    "cm_component/coordination",
    "cm_component/care_planning",
)


def plan(coder: str, segment_ids: list[int], decisions: int) -> list[tuple[int, list, list]]:
    """The decisions one coder makes: (segment, accept, reject), deterministic per coder."""
    rng = random.Random(coder)
    order = segment_ids[:]
    rng.shuffle(order)
    steps = []
    for i in range(decisions):
        segment = order[i % len(order)]
        picked = rng.sample(CODES, 3)
        steps.append((segment, picked[: rng.randint(0, 2)], picked[2:]))
    return steps


def _worker(
    location: str,
    coder: str,
    steps: list[tuple[int, list, list]],
    barrier: Any,
    results: Any,
) -> None:
    from qual_nlp.project import Project

    errors: list[str] = []
    latencies: list[float] = []
    with Project.open(location) as project:
        project.review.next(coder)  # connect and warm up before the start
        barrier.wait()
        for segment, accept, reject in steps:
            started = time.perf_counter()
            try:
                project.review.decide(segment, coder, accept=accept, reject=reject)
            except Exception as exc:  # counted and reported, never hidden
                errors.append(f"{type(exc).__name__}: {exc}"[:300])
            latencies.append(time.perf_counter() - started)
    results.put({"coder": coder, "errors": errors, "latencies": latencies})


def _transcript(segments: int, run: str) -> str:
    lines = []
    for i in range(segments):
        speaker = "P01" if i % 2 else "P02"
        lines.append(f"{speaker}: Turn {i} of run {run}: the nurse called back about the visit.")
    return "\n".join(lines) + "\n"


def prepare(location: str, segments: int, run: str) -> list[int]:
    """Import this run's transcript; returns its segment ids."""
    from qual_nlp.project import Project

    folder = Path(tempfile.mkdtemp(prefix="qual_nlp_conc_"))
    path = folder / f"concurrency_{run}.txt"
    path.write_text(_transcript(segments, run), encoding="utf-8")
    with Project.init(location) as project:
        outcomes = project.import_files([path], case=f"bench-{run}", source_type="interview")
        if outcomes[0].status != "imported":
            raise SystemExit(f"could not import the benchmark transcript: {outcomes[0].message}")
        frame = project.store.segments_frame(document=path.name)
    path.unlink()
    folder.rmdir()
    return [int(i) for i in frame["segment_id"]]


def check(location: str, plans: dict[str, list[tuple[int, list, list]]]) -> dict[str, int]:
    """Compare the store with each coder's last decision per segment."""
    from qual_nlp.project import Project

    with Project.open(location) as project:
        store = project.store
        codings = store.codings.frame(coders=list(plans))
        covered = set(store.codings.coverage().itertuples(index=False, name=None))
        events = store.events()
    keys = ["segment_id", "coder", "code", "status"]
    duplicates = int(codings.duplicated(keys).sum())
    stored = {
        (int(seg), coder, status): set(group["code"])
        for (seg, coder, status), group in codings.groupby(["segment_id", "coder", "status"])
    }
    lost = 0
    for coder, steps in plans.items():
        last = {segment: (accept, reject) for segment, accept, reject in steps}
        for segment, (accept, reject) in last.items():
            got_accept = stored.get((segment, coder, "accepted"), set())
            got_reject = stored.get((segment, coder, "rejected"), set())
            reviewed = (segment, coder) in covered
            if got_accept != set(accept) or got_reject != set(reject) or not reviewed:
                lost += 1
    reviews = events[(events["action"] == "review") & events["actor"].isin(list(plans))]
    missing_events = sum(len(s) for s in plans.values()) - len(reviews)
    return {
        "lost_writes": lost + max(missing_events, 0),
        "missing_events": missing_events,
        "duplicate_codings": duplicates,
    }


def run(location: str, coders: int, decisions: int, segments: int | None = None) -> dict:
    """Run the benchmark on ``location``; returns the figures (see the module docstring)."""
    run_id = f"{os.getpid()}-{int(time.time())}"
    segment_ids = prepare(location, segments or max(20, decisions // 2), run_id)
    plans = {
        f"coder-{run_id}-{k}": plan(f"coder-{run_id}-{k}", segment_ids, decisions)
        for k in range(coders)
    }
    context = mp.get_context("spawn")
    barrier = context.Barrier(coders + 1)
    results = context.Queue()
    workers = [
        context.Process(target=_worker, args=(location, coder, steps, barrier, results))
        for coder, steps in plans.items()
    ]
    for worker in workers:
        worker.start()
    barrier.wait(timeout=300)
    started = time.perf_counter()
    outcomes = [results.get(timeout=3600) for _ in workers]
    seconds = time.perf_counter() - started
    for worker in workers:
        worker.join(timeout=60)
    errors = [e for o in outcomes for e in o["errors"]]
    latencies = sorted(x for o in outcomes for x in o["latencies"])
    total = coders * decisions
    figures = check(location, plans)
    from qual_nlp.storage.engine import to_url

    return {
        "backend": to_url(location).split(":", 1)[0].split("+", 1)[0],
        "coders": coders,
        "decisions_per_coder": decisions,
        "decisions": total,
        "segments": len(segment_ids),
        "seconds": round(seconds, 2),
        "decisions_per_second": round(total / seconds, 1) if seconds else None,
        "latency_ms": {
            "p50": round(1000 * statistics.median(latencies), 1),
            "p95": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1),
            "max": round(1000 * latencies[-1], 1),
        },
        "errors": len(errors),
        **figures,
        "error_samples": errors[:5],
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--project",
        help="project file (SQLite) or postgresql:// URL; default: a new temporary SQLite file",
    )
    parser.add_argument("--coders", type=int, default=4, help="coders deciding at once")
    parser.add_argument("--decisions", type=int, default=500, help="decisions per coder")
    parser.add_argument("--segments", type=int, help="segments (default: decisions / 2)")
    args = parser.parse_args(argv)
    location = args.project or str(Path(tempfile.mkdtemp(prefix="qual_nlp_conc_")) / "c.qnlp")
    result = run(location, args.coders, args.decisions, args.segments)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    failed = result["lost_writes"] or result["errors"] or result["duplicate_codings"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
