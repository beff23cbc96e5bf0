"""Import + segmentation throughput on a generated corpus (words per second).

Generates interview transcripts and field notes (≥ 1M words by default), imports
them into a fresh SQLite project, and reports words/s end to end (read, decode,
detect speakers, segment with spaCy, store). The baseline, run in the same
process on the same texts, is spaCy's sentencizer alone over every turn; the
ratio says how much of the time is the rest of the pipeline.

    python benchmarks/bench_import.py --words 1000000 --json
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

SENTENCES = [
    "The nurse case manager calls me back the same day, which never happened before.",
    "We still don't get the discharge summaries from the hospital, so we find out late.",
    "Um, I think the individual services plan takes too long to write, honestly.",
    "Our manager protected time for the team meetings and that made a difference.",
    "Some physicians were not convinced at first, they saw it as more paperwork.",
    "I feel supported, I know who to call when my sugar goes up.",
    "Recruiting the patients with the greatest needs was harder than we expected.",
    "Since she started coming, I have not been to the emergency room once.",
    "You know, the pharmacist and the social worker now talk to each other.",
    "It's a long drive from the village, and the bus only comes twice a week.",
    "Mm-hmm.",
    "Right, right.",
    "Can you tell me more about that?",
    "And how did the other staff react when the programme started?",
]
SPEAKERS = ["P07", "NCM", "Dr. Tremblay", "Hélène", "MARIE-ÈVE"]


def make_corpus(folder: Path, words: int, seed: int = 7) -> int:
    """Write transcripts and field notes totalling at least ``words`` words."""
    rng = random.Random(seed)
    total = 0
    n = 0
    while total < words:
        lines = []
        minute = 0
        if n % 6 == 5:
            for _ in range(60):
                para = " ".join(rng.choice(SENTENCES[:10]) for _ in range(rng.randint(2, 7)))
                lines.append(para + "\n")
                total += len(para.split())
            (folder / f"notes_{n:04d}.md").write_text("\n".join(lines), encoding="utf-8")
        else:
            speaker = rng.choice(SPEAKERS)
            for _ in range(120):
                question = rng.choice(SENTENCES[12:])
                answer = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 9)))
                minute += 1
                lines.append(f"Interviewer: {question}")
                lines.append(f"[00:{minute // 60:02d}:{minute % 60:02d}] {speaker}: {answer}")
                total += len(question.split()) + len(answer.split())
            (folder / f"interview_{n:04d}.txt").write_text(
                "\n".join(lines) + "\n", encoding="utf-8"
            )
        n += 1
    return total


def baseline_sentencizer(folder: Path) -> float:
    """Seconds for spaCy's sentencizer alone over the same texts (the baseline)."""
    from qual_nlp.resources import load_spacy

    nlp = load_spacy()
    texts = [p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())]
    turns = [t for text in texts for t in text.split("\n") if t.strip()]
    start = time.perf_counter()
    for _doc in nlp.pipe(turns, batch_size=256):
        pass
    return time.perf_counter() - start


def run(words: int) -> dict:
    from qual_nlp.project import Project

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        total = make_corpus(folder, words)
        files = len(list(folder.iterdir()))
        base = baseline_sentencizer(folder)
        project = Project.init(Path(tmp) / "bench.qnlp")
        start = time.perf_counter()
        outcomes = project.import_files([folder])
        seconds = time.perf_counter() - start
        segments = project.counts()["segments"]
        project.close()
    failed = [o.message for o in outcomes if o.status == "failed"]
    return {
        "words": total,
        "files": files,
        "segments": segments,
        "failed": len(failed),
        "import_seconds": round(seconds, 2),
        "import_words_per_s": round(total / seconds),
        "baseline_sentencizer_seconds": round(base, 2),
        "baseline_words_per_s": round(total / base),
        "ratio_import_to_baseline": round((total / seconds) / (total / base), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.words)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:32s} {value}")
    return 0 if not result["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
