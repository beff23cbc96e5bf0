"""The suggestion batch on Dask: segments per second for the single process, 1 worker and
2 workers, on one generated corpus, in the same run; peak RSS per worker.

A corpus of ``--segments`` participant passages (each after an interviewer's question, its
context) is generated from sample sentences recombined with varied openings and details,
so nearly every passage is a distinct text the encoder must see, and stored through the
library in bulk (``Store.add_document``, no segmentation). Each of the three runs starts
from an empty embedding cache, so each encodes every text:

- ``single``: ``project.model.suggest()`` in this process (its encoder uses every core);
- ``workers=1`` and ``workers=2``: ``project.model.suggest(workers=N)`` on a
  LocalCluster (one process per worker, one encoder thread each).

The figure is participant segments suggested per second, end to end (reading, encoding
text and context, zero-shot scoring, writing suggestions and scores). ``scaling`` is
workers=2 over workers=1.

    python benchmarks/dask_scaling.py --segments 2000            # a quick look
    python benchmarks/dask_scaling.py --segments 200000 --json   # the issue's size
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

OPENINGS = [
    "Honestly,",
    "Well,",
    "At first",
    "In our clinic",
    "For me",
    "Last winter",
    "Since the start",
    "You know,",
    "To be fair,",
    "In the beginning",
    "On the weekends",
    "With the new team",
]
SENTENCES = [
    "the nurse case manager calls me back the same day, which never happened before.",
    "we still don't get the discharge summaries from the hospital, so we find out late.",
    "the individual services plan takes too long to write.",
    "our manager protected time for the team meetings and that made a difference.",
    "some physicians were not convinced, they saw it as more paperwork.",
    "I feel supported, I know who to call when my sugar goes up.",
    "recruiting the patients with the greatest needs was harder than we expected.",
    "I have not been to the emergency room once since she started coming.",
    "the pharmacist and the social worker now talk to each other.",
    "it's a long drive from the village, and the bus only comes twice a week.",
    "the waiting list for the psychologist is still eight months.",
    "the forms are only in English, so my mother cannot fill them.",
    "we lost two nurses in the spring and the caseload doubled.",
    "the weekly huddle lets us solve problems before they grow.",
    "the family doctor never reads the plan we send.",
    "my daughter comes with me to every appointment now.",
]
DETAILS = [
    "around {n} patients",
    "for about {n} weeks",
    "in room {n}",
    "at {n} o'clock",
    "with {n} colleagues",
    "after {n} visits",
]
QUESTIONS = [
    "Can you tell me more about that?",
    "How did the team react when the programme started?",
    "What made it easier for you?",
    "What got in the way?",
    "How do you work with the family doctor?",
    "What would you change?",
]
PER_DOCUMENT = 100  # participant turns per generated transcript
#: the runs, in order: name -> workers (None: the single process)
RUNS: dict[str, int | None] = {"single": None, "workers_1": 1, "workers_2": 2}


def passage(rng: random.Random) -> str:
    """One participant turn: 1 or 2 recombined sentences with a varying detail."""
    parts = []
    for _ in range(rng.choice((1, 1, 2))):
        detail = rng.choice(DETAILS).format(n=rng.randint(2, 400))
        parts.append(f"{rng.choice(OPENINGS)} {rng.choice(SENTENCES)[:-1]}, {detail}.")
    return " ".join(parts)


def build(
    location: str,
    n_segments: int,
    seed: int = 0,
    encoder: str | None = None,
    backend: str | None = None,
) -> int:
    """A new project (by default multilingual-e5-small through onnx-int8, the product's
    default) holding ``n_segments`` participant segments; returns how many documents."""
    from qual_nlp.project import Project
    from qual_nlp.records import Document, SegmentSpan

    rng = random.Random(seed)
    with Project.init(location, encoder=encoder, backend=backend) as project:
        store = project.store
        n_docs = (n_segments + PER_DOCUMENT - 1) // PER_DOCUMENT
        made = 0
        for d in range(n_docs):
            lines, spans, offset = [], [], 0
            turns = min(PER_DOCUMENT, n_segments - made)
            for _ in range(turns):
                for speaker, text in (
                    ("Interviewer", rng.choice(QUESTIONS)),
                    ("P01", passage(rng)),
                ):
                    line = f"{speaker}: {text}"
                    start = offset + len(speaker) + 2
                    spans.append(
                        SegmentSpan(start, start + len(text), text, speaker, turn_index=len(spans))
                    )
                    lines.append(line)
                    offset += len(line) + 1
            made += turns
            name = f"G{d:05d}_interview.txt"
            document = Document(name, "\n".join(lines) + "\n", case=f"C{d % 10:02d}", sha256=name)
            store.add_document(document, spans, interviewers=["Interviewer"])
        return n_docs


def forget_vectors(location: str) -> None:
    """Empty the project's embedding cache and suggestions: the next run starts cold."""
    from sqlalchemy import text

    from qual_nlp.project import Project, inputs

    with Project.open(location) as project, project.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM embeddings"))
        conn.execute(text("DELETE FROM codings WHERE status = 'suggested'"))
        conn.execute(text("DELETE FROM segment_scores"))
        inputs.forget()


def run(location: str, workers: int | None, partition: int) -> dict:
    from qual_nlp.project import Project

    forget_vectors(location)
    load = os.getloadavg()[0]  # other work on the machine, for reading the figures
    started = time.perf_counter()
    with Project.open(location) as project:
        if workers is None:
            summary = project.model.suggest()
        else:
            summary = project.model.suggest(workers=workers, partition_size=partition)
    seconds = time.perf_counter() - started
    out = {
        "segments": summary["segments"],
        "suggestions": summary["suggestions"],
        "seconds": round(seconds, 1),
        "segments_per_s": round(summary["segments"] / seconds, 1),
        "load_average_before": round(load, 2),
    }
    if workers is None:
        from qual_nlp.project.batch import peak_rss_mb

        out["peak_rss_mb"] = peak_rss_mb()
    else:
        out["workers_peak_rss_mb"] = [w["peak_rss_mb"] for w in summary["workers"].values()]
        out["partitions"] = summary["partitions"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=200_000, help="participant segments")
    parser.add_argument("--partition", type=int, default=2000, help="segments per task")
    parser.add_argument("--folder", help="where the project goes (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--encoder",
        help="the project's encoder (default: the product's; 'minilm' is the fastest, for "
        "English-only corpora)",
    )
    parser.add_argument("--backend", help="the encoder backend (default: the product's)")
    parser.add_argument(
        "--runs",
        default=",".join(RUNS),
        help="which runs, comma-separated (default: all three; one alone re-measures it)",
    )
    args = parser.parse_args(argv)
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = sorted(set(runs) - set(RUNS))
    if unknown:
        parser.error(f"unknown runs {unknown}; choose among {', '.join(RUNS)}")

    from qual_nlp.project import Project

    folder = Path(args.folder or tempfile.mkdtemp(prefix="dask_scaling_"))
    folder.mkdir(parents=True, exist_ok=True)
    location = str(folder / f"corpus_{args.segments}.qnlp")
    Path(location).unlink(missing_ok=True)
    started = time.perf_counter()
    documents = build(location, args.segments, encoder=args.encoder, backend=args.backend)
    built = time.perf_counter() - started
    report: dict = {
        "segments": args.segments,
        "documents": documents,
        "build_seconds": round(built, 1),
    }
    with Project.open(location) as project:
        report["encoder"], report["backend"] = project.model.encoder()
    for name in runs:
        report[name] = run(location, RUNS[name], args.partition)
        print(name, report[name], file=sys.stderr, flush=True)
    rate = {name: report[name]["segments_per_s"] for name in runs}
    if "workers_1" in rate and "workers_2" in rate:
        report["scaling_1_to_2"] = round(rate["workers_2"] / rate["workers_1"], 2)
    if "single" in rate and "workers_2" in rate:
        report["workers_2_vs_single"] = round(rate["workers_2"] / rate["single"], 2)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(
            f"{args.segments} segments: "
            + ", ".join(f"{name} {r}/s" for name, r in rate.items())
            + (f" (scaling {report['scaling_1_to_2']}x)" if "scaling_1_to_2" in report else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
