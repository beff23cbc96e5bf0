"""``qual-nlp serve --workers 2``: two uvicorn processes over one project share tokens,
jobs and export files, whichever process a request reaches."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_support import free_port, start_server, stop_server  # noqa: E402

from qual_nlp.project import Project  # noqa: E402

PASSWORD = "lead passphrase one"


def workers(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (uvicorn's workers; Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_two_workers_share_tokens_jobs_and_export_files(tmp_path):
    import httpx

    path = tmp_path / "study.qnlp"
    with Project.init(path) as project:
        project.access.add_user("lea", "lead", PASSWORD)
    port = free_port()
    server = start_server(str(path), port, "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    try:
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "lea", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert len(workers(server.pid)) >= 2  # the two workers (and a resource tracker)
        started = httpx.post(f"{base}/api/v1/exports", headers=headers, json={"format": "qdc"})
        assert started.status_code == 202, started.text
        job_id = started.json()["job_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            # a new connection each time: either worker may answer
            answer = httpx.get(f"{base}/api/v1/jobs/{job_id}", headers=headers)
            assert answer.status_code == 200, answer.text
            if answer.json()["state"] == "done":
                break
            time.sleep(0.2)
        assert answer.json()["state"] == "done", answer.json()
        for _ in range(10):
            download = httpx.get(f"{base}/api/v1/exports/{job_id}", headers=headers)
            assert download.status_code == 200, download.text
            assert download.content.startswith(b"<?xml")
    finally:
        output = stop_server(server)
    assert "Traceback" not in output, output
