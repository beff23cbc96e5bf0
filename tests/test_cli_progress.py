"""Long work shows progress: a tqdm bar on a terminal (stderr), nothing with --json or
when stderr is not a terminal. The terminal is a real pseudo-terminal (``pty``)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from qual_nlp.project import Project

ROOT = Path(__file__).resolve().parent.parent
BAR = re.compile(r"^import:\s+\d+%\|[^|]*\| *(\d+)/(\d+) \[")


def bars(err: str, pattern: re.Pattern[str] = BAR) -> list[tuple[int, int]]:
    """(done, total) of each redraw of a bar (tqdm redraws after a carriage return)."""
    found = (pattern.match(part) for part in re.split(r"[\r\n]+", err))
    return [(int(m.group(1)), int(m.group(2))) for m in found if m]


def run_on_a_terminal(*args: str, timeout: float = 600) -> tuple[int, str, str]:
    """Run ``python -m qual_nlp ARGS`` with stderr on a pseudo-terminal; (status, out, err)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qual_nlp", *args],
        stdout=subprocess.PIPE,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                data = os.read(controller, 65536)
            except OSError:  # the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(controller)
    out = proc.stdout.read().decode() if proc.stdout else ""
    status = proc.wait(timeout=60)
    return status, out, b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture
def hundred(tmp_path: Path) -> Path:
    folder = tmp_path / "transcripts"
    folder.mkdir()
    for i in range(100):
        (folder / f"C{i % 7:02d}_P{i:03d}.txt").write_text(
            f"Interviewer: How did the programme change things for you?\n"
            f"P{i:03d}: The nurse calls me back the same day, visit {i}. "
            "I don't go to the emergency any more.\n",
            encoding="utf-8",
        )
    return folder


def test_import_of_100_files_draws_a_bar_on_a_terminal(hundred: Path, tmp_path: Path) -> None:
    status, out, err = run_on_a_terminal("import", str(tmp_path / "p.qnlp"), str(hundred))
    assert status == 0, err
    assert "100 imported (100 documents" in out
    counts = bars(err)
    assert counts, f"no progress bar on the terminal: {err[-500:]!r}"
    assert {total for _, total in counts} == {100}
    assert counts[-1][0] == 100 or any(done == 100 for done, _ in counts)
    assert len({done for done, _ in counts}) >= 2, "the bar never moved"


def test_import_with_json_stays_quiet_on_a_terminal(hundred: Path, tmp_path: Path) -> None:
    status, out, err = run_on_a_terminal("import", str(tmp_path / "p.qnlp"), str(hundred), "--json")
    assert status == 0
    assert json.loads(out)["summary"]["documents"] == 100
    assert err.strip() == "", f"--json printed on stderr: {err[:300]!r}"


def test_import_is_quiet_when_stderr_is_not_a_terminal(hundred: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "qual_nlp", "import", str(tmp_path / "p.qnlp"), str(hundred)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0
    assert proc.stderr == ""


def test_export_draws_a_bar_on_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Interviewer: Why?\nP01: Because.\n", encoding="utf-8")
    with Project.init(tmp_path / "p.qnlp") as project:
        project.import_files([tmp_path / "a.txt"])
    status, _, err = run_on_a_terminal(
        "export", str(tmp_path / "p.qnlp"), "--format", "xlsx", "--out", str(tmp_path / "a.xlsx")
    )
    assert status == 0
    found = bars(err, re.compile(r"^export:\s+\d+%\|[^|]*\| *(\d+)/(\d+)"))
    assert found and found[-1][0] == found[-1][1], err[-300:]


def test_the_facade_reports_progress_as_a_plain_callable(hundred: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    with Project.init(tmp_path / "p.qnlp") as project:
        project.import_files([hundred], progress=lambda done, total: calls.append((done, total)))
        exported: list[tuple[int, int]] = []
        project.analysis.export(
            "qdpx", tmp_path / "p.qdpx", progress=lambda d, t: exported.append((d, t))
        )
    assert calls[0] == (0, 100) and calls[-1] == (100, 100)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls), "progress never goes back"
    assert exported == [(0, 1), (1, 1)]


@pytest.mark.slow
def test_suggest_and_train_report_progress(tmp_path: Path) -> None:
    """The real encoder: texts encoded, then segments scored (suggest); train re-suggests."""
    from test_app_support import build_project

    project_path = build_project(tmp_path)
    with Project.open(project_path) as project:
        seen: list[tuple[int, int]] = []
        result = project.model.suggest(progress=lambda d, t: seen.append((d, t)))
        assert seen[-1] == (result["segments"], result["segments"])
        trained: list[tuple[int, int]] = []
        project.model.train(progress=lambda d, t: trained.append((d, t)))
        assert trained, "train reported nothing"
    status, _, err = run_on_a_terminal("suggest", str(project_path))
    assert status == 0
    assert re.search(r"(^|\r)suggest:\s+100%\|", err), err[-300:]
