"""De-identification speed against the bare spaCy pipeline it runs (words/s, as JSON).

Run: ``python benchmarks/deid_speed.py [--words 60000] [--repeats 3]``.

The texts are the fictional transcripts of ``tests/fixtures/deid`` (both corpora),
repeated per language until each language has about ``--words`` words. For each language
the script times, in the same run and on the same texts, (1) ``nlp.pipe`` of the spaCy
pipeline detection uses (``qual_nlp.resources.deid.load_deid_pipeline``: NER, tagger and
lemmas; no parser), (2) the full installed pipeline with its parser, for context, and
(3) detection (:func:`qual_nlp.deid.detect.detect_many`: that pipeline, then Presidio's
recognisers, the project's patterns and the refinements). Each is warmed up once and the
best of ``--repeats`` runs is kept; the ratio detection / bare pipeline is the figure of
merit (target at least 0.5).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qual_nlp.deid.detect import detect_many
from qual_nlp.deid.evaluate import load_corpus
from qual_nlp.resources.deid import DEID_MODELS, load_deid_pipeline

CORPORA = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "deid"


def texts_by_language(words: int) -> dict[str, list[str]]:
    docs = [d for name in ("test", "dev") for d in load_corpus(CORPORA / name)]
    out: dict[str, list[str]] = {}
    for language in sorted({d.language for d in docs}):
        base = [d.text for d in docs if d.language == language]
        texts: list[str] = []
        while sum(len(t.split()) for t in texts) < words:
            texts.extend(base)
        out[language] = texts
    return out


def best_of(repeats: int, run: Callable[[], Any]) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=60_000, help="words per language")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best is kept")
    args = parser.parse_args()
    import spacy

    report: dict[str, Any] = {}
    for language, texts in texts_by_language(args.words).items():
        words = sum(len(t.split()) for t in texts)
        nlp = load_deid_pipeline(language)
        full = spacy.load(DEID_MODELS[language])
        bare = best_of(args.repeats, lambda: list(nlp.pipe(texts, batch_size=8)))  # noqa: B023
        whole = best_of(args.repeats, lambda: list(full.pipe(texts, batch_size=8)))  # noqa: B023
        detect = best_of(args.repeats, lambda: list(detect_many(texts, language)))  # noqa: B023
        report[language] = {
            "documents": len(texts),
            "words": words,
            "spacy_pipeline": nlp.pipe_names,
            "bare_spacy_words_per_s": round(words / bare),
            "full_spacy_words_per_s": round(words / whole),
            "detection_words_per_s": round(words / detect),
            "ratio_detection_to_bare": round(bare / detect, 3),
        }
    report["ratio_min"] = min(v["ratio_detection_to_bare"] for v in report.values())
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
