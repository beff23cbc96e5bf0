"""Throughput of import + segmentation on a generated corpus (words per second).

Run: ``python benchmarks/bench_segment.py [--words 1000000]``. The corpus is
interview transcripts with a mix of short exchanges and long answers, written
to bytes in memory so the figure covers decoding, turn detection and sentence
splitting (blank English pipeline with the rule-based sentencizer).
"""

from __future__ import annotations

import argparse
import random
import time

from qual_nlp.ingest.formats import parse_bytes
from qual_nlp.ingest.segment import segment_documents
from qual_nlp.resources import load_spacy

_VOCABULARY = (
    "the nurse case manager called patient after emergency visit care plan pharmacist "
    "family physician clinic coordination follow-up appointment housing social worker "
    "medication review frequent users primary care trust team meeting Hélène Saint-Jérôme "
    "we they it was really difficult because of the waiting list and transport"
)
_WORDS = _VOCABULARY.split()


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(6, 22))
    return words[0].capitalize() + " " + " ".join(words[1:]) + rng.choice(".?.!.")


def make_transcript(rng: random.Random, words: int) -> bytes:
    """One interview transcript of about ``words`` words (CRLF line ends, timestamps)."""
    lines, count, seconds = [], 0, 0
    while count < words:
        question = " ".join(_sentence(rng) for _ in range(rng.randint(1, 2)))
        answer = " ".join(_sentence(rng) for _ in range(rng.choice((1, 2, 3, 8, 15, 30))))
        seconds += rng.randint(5, 90)
        stamp = f"[{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}]"
        lines += [f"{stamp} Interviewer: {question}", "", f"P07: {answer}", ""]
        count += len(question.split()) + len(answer.split())
    return "\r\n".join(lines).encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--doc-words", type=int, default=8_000)
    args = parser.parse_args()
    rng = random.Random(7)
    corpus = [
        make_transcript(rng, args.doc_words) for _ in range(max(1, args.words // args.doc_words))
    ]
    total = sum(len(data.split()) for data in corpus)
    load_spacy()  # loading the pipeline is not part of the throughput
    began = time.perf_counter()
    docs = ((parse_bytes(f"T{i:03d}.txt", data), i) for i, data in enumerate(corpus))
    segments = sum(len(spans) for spans, _ in segment_documents(docs))
    elapsed = time.perf_counter() - began
    print(
        f"{total:,} words, {len(corpus)} documents, {segments:,} segments in {elapsed:.1f} s: "
        f"{total / elapsed:,.0f} words/s"
    )


if __name__ == "__main__":
    main()
