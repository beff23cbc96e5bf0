"""Coders deciding at the same time, on SQLite and on a real PostgreSQL server.

The first test runs a small version of ``benchmarks/concurrency.py`` (separate
processes released together at a barrier); the full figures come from the script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from qual_nlp.records import Document, SegmentSpan

pytestmark = pytest.mark.backends

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "concurrency.py"


def test_coders_deciding_at_once_lose_no_write_and_duplicate_no_coding(project_location):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--project", project_location, "--coders", "4"]
        + ["--decisions", "40"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(result.stdout)
    assert figures["decisions"] == 160
    assert figures["segments"] == 20, "fewer segments than decisions: coders revisit them"
    assert (figures["errors"], figures["lost_writes"], figures["duplicate_codings"]) == (0, 0, 0)


def _one_segment(store) -> int:
    text = "P01: The nurse calls me back the same day.\n"
    span = SegmentSpan(5, len(text) - 1, text[5:-1], "P01")
    store.add_document(Document(name="one.txt", text=text, sha256="one"), [span])
    return int(store.segments_frame().iloc[0]["segment_id"])


def test_one_coder_deciding_twice_at_once_keeps_exactly_one_decision(store):
    """Two tabs of one coder submit different decisions on one segment at the same moment."""
    segment = _one_segment(store)
    decisions = (["valence/barrier", "cmo/context"], ["valence/facilitator"])
    rounds = 25
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def tab(accept: list[str]) -> None:
        for _ in range(rounds):
            barrier.wait(timeout=60)
            try:
                store.codings.review(segment, "ana", accept=accept, reject=["cmo/outcome"])
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=tab, args=(d,)) for d in decisions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    mine = store.codings.frame(coders=["ana"])
    assert not mine.duplicated(["segment_id", "code", "status"]).any()
    accepted = set(mine.loc[mine["status"] == "accepted", "code"])
    assert accepted in [set(d) for d in decisions], "one whole decision, never a mix"
    assert list(mine.loc[mine["status"] == "rejected", "code"]) == ["cmo/outcome"]
    assert len(store.codings.coverage()) == 1
    assert len(store.events().query("action == 'review'")) == 2 * rounds
