"""Review-queue latency at scale: from an accept to the next segment on screen.

Builds a project of ``--segments`` segments (default 100,000: interviews of 200
turns, one in four an interviewer's question) with model suggestions and queue
priorities on every participant turn, written through the store in bulk. Then
it times, for ``--actions`` consecutive decisions:

* ``facade``: the calls the Review page makes per action, in process —
  ``project.review.decide`` (accept), ``project.review.next`` (uncertainty order) and
  ``review_item`` for the next segment, plus ``codebook()`` for the labels;
* ``app``: the same decisions made by clicking *Accept all* in the real page
  under Streamlit's AppTest (script time: callback, queries and rendering,
  without the browser).

The same measurements are first made, in the same process, on a baseline project
of ``--baseline`` segments (default 1,000), so the figures at scale read against
the same machine under the same load: ``scale`` gives the ratios of the medians.
Under AppTest a click reruns the whole page (the browser reruns only the queue
fragment), so ``app`` is an upper bound; ``rerun_ms`` is a plain rerun of the
page without an action, for comparison.

Prints one JSON document: medians and 95th percentiles in milliseconds.

    python benchmarks/bench_review.py [--segments 100000] [--baseline 1000] [--actions 50]
                                      [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qual_nlp.project import Project  # noqa: E402
from qual_nlp.records import Document, SegmentSpan  # noqa: E402

QUESTIONS = [
    "Can you tell me more about that?",
    "How did the other staff react when the programme started?",
    "What changed for you since the nurse started calling?",
    "What made it harder?",
]
ANSWERS = [
    "The nurse case manager calls me back the same day, which never happened before.",
    "We still don't get the discharge summaries from the hospital, so we find out late.",
    "I think the individual services plan takes too long to write, honestly.",
    "Our manager protected time for the team meetings and that made a difference.",
    "Some physicians were not convinced at first, they saw it as more paperwork.",
    "I feel supported, I know who to call when my sugar goes up.",
    "Recruiting the patients with the greatest needs was harder than we expected.",
    "Since she started coming, I have not been to the emergency room once.",
    "The pharmacist and the social worker now talk to each other.",
    "It's a long drive from the village, and the bus only comes twice a week.",
]
CODES = ["valence/barrier", "valence/facilitator", "cmo/context", "cmo/mechanism", "cmo/outcome"]
MODEL = "model:bench@1"
TURNS_PER_DOC = 200


def transcript(rng: random.Random, n_turns: int, doc: int) -> tuple[str, list[SegmentSpan]]:
    """An interview text and its turn spans (labels outside the spans, as importers do)."""
    parts: list[str] = []
    spans: list[SegmentSpan] = []
    pos = 0
    for turn in range(n_turns):
        asking = turn % 4 == 0
        speaker = "Interviewer" if asking else "P01"
        body = (
            rng.choice(QUESTIONS)
            if asking
            else " ".join(rng.choice(ANSWERS) for _ in range(rng.randint(1, 4)))
            + f" (document {doc}, turn {turn})"
        )
        label = f"{speaker}: "
        start = pos + len(label)
        spans.append(SegmentSpan(start, start + len(body), body, speaker, None, turn))
        line = label + body + "\n"
        parts.append(line)
        pos += len(line)
    return "".join(parts), spans


def build(path: Path, n_segments: int, seed: int = 5) -> dict[str, Any]:
    """A project with ``n_segments`` segments, suggestions and priorities; timings in seconds."""
    rng = random.Random(seed)
    started = time.perf_counter()
    project = Project.init(path)
    n_docs = max(1, n_segments // TURNS_PER_DOC)
    for d in range(n_docs):
        turns = TURNS_PER_DOC if d < n_docs - 1 else n_segments - TURNS_PER_DOC * (n_docs - 1)
        text, spans = transcript(rng, turns, d)
        case = f"C{d % 10 + 1:02d}"
        document = Document(
            name=f"{case}_interview_{d:04d}.txt",
            text=text,
            case=case,
            sha256=hashlib.sha256(text.encode()).hexdigest(),
        )
        project.store.add_document(
            document,
            spans,
            roles={"P01": "patient"},
            interviewers=["Interviewer"],
            case_attributes={"province": f"P{d % 5}"},
        )
    imported = time.perf_counter() - started
    segments = project.segments()
    ids = segments.loc[~segments["is_interviewer"], "segment_id"].to_numpy()
    gen = np.random.default_rng(seed)
    first = gen.integers(0, 2, len(ids))  # barrier or facilitator
    second = gen.integers(2, 5, len(ids))  # a CMO role
    scores = gen.uniform(0.3, 0.99, (len(ids), 2))
    suggestions = pd.DataFrame(
        {
            "segment_id": np.concatenate([ids, ids]),
            "code": [CODES[i] for i in np.concatenate([first, second])],
            "score": np.concatenate([scores[:, 0], scores[:, 1]]),
            "model_version": MODEL,
        }
    )
    project.store.codings.replace_suggestions(MODEL, suggestions)
    priorities = pd.DataFrame(
        {
            "segment_id": ids,
            "uncertainty": 1 - 2 * np.abs(scores - 0.5).min(axis=1),
            "relevance": scores.max(axis=1),
        }
    )
    project.store.queue.write_scores(priorities, MODEL)
    project.close()
    return {
        "documents": n_docs,
        "segments": int(len(segments)),
        "participant_segments": int(len(ids)),
        "suggestions": int(len(suggestions)),
        "build_seconds": round(time.perf_counter() - started, 1),
        "import_seconds": round(imported, 1),
    }


def summary(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(p95, 1), "n": len(ms)}


def time_facade(path: Path, actions: int, coder: str = "bench-a") -> dict[str, Any]:
    """The Review page's per-action calls, one accept after another."""
    parts: dict[str, list[float]] = {"review": [], "next_to_review": [], "review_item": []}
    totals: list[float] = []
    with Project.open(path) as project:
        item = project.review.item(project.review.next(coder, n=1)[0], coder)
        for _ in range(actions):
            sid = int(item.segment["segment_id"])
            accept = [s["code"] for s in item.suggestions]
            t0 = time.perf_counter()
            project.review.decide(sid, coder, accept=accept)
            t1 = time.perf_counter()
            [next_id] = project.review.next(coder, order="uncertainty", n=1)
            t2 = time.perf_counter()
            item = project.review.item(next_id, coder)
            project.codebook()
            t3 = time.perf_counter()
            parts["review"].append(t1 - t0)
            parts["next_to_review"].append(t2 - t1)
            parts["review_item"].append(t3 - t2)
            totals.append(t3 - t0)
    return {"accept_to_next": summary(totals), **{k: summary(v) for k, v in parts.items()}}


def time_app(path: Path, actions: int, coder: str = "bench-b") -> dict[str, Any]:
    """Clicks on *Accept all* in the real Review page under AppTest (server-side time)."""
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.session_state["app_project"] = str(path)
    at.session_state["app_coder"] = coder
    at.run()
    at._page_hash = calc_hash("review")
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    reruns = []
    for _ in range(min(actions, 10)):
        t0 = time.perf_counter()
        at.run()
        reruns.append(time.perf_counter() - t0)
    samples = []
    seen = set()
    for _ in range(actions):
        current = next(h.value for h in at.html if 'class="q-turn q-current"' in h.value)
        seen.add(current)
        button = at.button(key="review_accept_all")
        t0 = time.perf_counter()
        button.click().run()
        samples.append(time.perf_counter() - t0)
        if at.exception:
            raise RuntimeError(at.exception[0].value)
    if len(seen) != actions:
        raise RuntimeError("the page did not move on after each accept")
    with Project.open(path) as project:
        decided = project.codings(coders=[coder])["segment_id"].nunique()
    return {
        "first_render_ms": round(first * 1000, 1),
        "rerun_ms": summary(reruns),
        "accept_to_next": summary(samples),
        "segments_decided": int(decided),
    }


def measure(folder: Path, n_segments: int, actions: int) -> dict[str, Any]:
    """Build (or reuse) a project of ``n_segments`` in ``folder`` and time both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-review-{n_segments}.qnlp"
    built = {"reused": True} if path.exists() else build(path, n_segments)
    return {
        "project": built,
        "facade": time_facade(path, actions),
        "app": time_app(path, actions),
    }


def ratios(base: dict[str, Any], big: dict[str, Any]) -> dict[str, float]:
    """Median at scale divided by the baseline median, for each accept-to-next figure."""
    out = {}
    for side in ("facade", "app"):
        small = base[side]["accept_to_next"]["median_ms"]
        large = big[side]["accept_to_next"]["median_ms"]
        out[f"{side}_accept_to_next"] = round(large / small, 2) if small else float("nan")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000, help="segments of the baseline")
    parser.add_argument("--actions", type=int, default=50)
    parser.add_argument("--keep", help="build the projects in this folder and keep them")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        baseline = measure(folder, args.baseline, args.actions)
        at_scale = measure(folder, args.segments, args.actions)
    result = {
        "baseline": baseline,
        "at_scale": at_scale,
        "scale": {
            "segments": round(args.segments / max(1, args.baseline), 1),
            **ratios(baseline, at_scale),
        },
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
