"""The HTTP API end to end: ``qual-nlp serve`` as a real uvicorn process, driven with httpx
as a script would: sign in, upload three transcripts of the sample corpus, suggest as a
job polled to the end (with its progress), decide 20 items of the review queue, the theme
× case matrix as JSON and as XLSX, and a QDPX export valid against the REFI-QDA schema.
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_support import ROOT, free_port, start_server, stop_server  # noqa: E402

from qual_nlp.project import Project  # noqa: E402

pytestmark = pytest.mark.slow  # the real encoder runs in the server

SAMPLES = ROOT / "corpora_samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "refi"
TRANSCRIPTS = ("C01_ncm_interview.txt", "C02_manager_interview.txt", "C03_gp_interview.txt")
PASSWORD = "lead passphrase one"


def poll(client: Any, job_id: int, timeout: float = 900) -> tuple[dict, list[tuple]]:
    """Poll a job to its end; returns the last answer and every (state, done, total) seen."""
    seen: list[tuple] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        seen.append((job["state"], job["done"], job["total"]))
        if job["state"] in ("done", "failed"):
            return job, seen
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end in {timeout} s: {seen[-3:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import httpx

    folder = tmp_path_factory.mktemp("serve")
    path = folder / "study.qnlp"
    with Project.init(path) as project:
        project.access.add_user("lea", "lead", PASSWORD)
    port = free_port()
    process = start_server(str(path), port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            yield client, path
    finally:
        output = stop_server(process)
        assert "Traceback" not in output, output


def test_a_script_drives_the_whole_analysis_through_the_served_api(server):
    from lxml import etree
    from openpyxl import load_workbook

    client, path = server
    # sign in (OAuth2 password flow); every other route wants the token
    assert client.get("/api/v1/segments").status_code == 401
    wrong = client.post("/api/v1/auth/token", data={"username": "lea", "password": "wrong one"})
    assert wrong.status_code == 401
    signed = client.post("/api/v1/auth/token", data={"username": "lea", "password": PASSWORD})
    assert signed.status_code == 200 and signed.json()["token_type"] == "bearer"
    client.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"

    # upload three transcripts, one request each
    for name in TRANSCRIPTS:
        with (SAMPLES / name).open("rb") as fh:
            answer = client.post(
                "/api/v1/documents",
                files={"file": (name, fh, "text/plain")},
                data={"case": name[:3], "source_type": "interview"},
            )
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "imported" and answer.json()["segments"] > 10
    listed = client.get("/api/v1/documents").json()["documents"]
    assert sorted(d["name"] for d in listed) == sorted(TRANSCRIPTS)

    # suggest as a job: the request returns at once, the job reports its progress
    started = client.post("/api/v1/suggest", json={})
    assert started.status_code == 202
    job, seen = poll(client, started.json()["job_id"])
    assert job["state"] == "done", job["error"]
    assert job["result"]["suggestions"] > 0 and job["total"] > 0
    assert job["done"] == job["total"]
    assert any(state in ("queued", "running") for state, _, _ in seen)

    # decide 20 items from the queue: accept the top suggestion, or reject it
    decided = []
    for k in range(20):
        ids = client.get("/api/v1/review/next").json()["segment_ids"]
        assert ids, f"the queue ran dry after {k} decisions"
        item = client.get(f"/api/v1/review/items/{ids[0]}").json()
        top = [s["code"] for s in item["suggestions"][:1]]
        body = {
            "segment_id": ids[0],
            "accept": top if k % 4 else [],
            "reject": [] if k % 4 else top,
        }
        answer = client.post("/api/v1/review/decisions", json=body)
        assert answer.status_code == 200, answer.text
        decided.append((ids[0], body))
    assert len({s for s, _ in decided}) == 20  # the queue moves on to new segments

    # the same objects as `qual-nlp segments --json`
    page = client.get("/api/v1/segments?limit=500").json()
    with Project.open(path) as project:
        expected = project.as_user("lea").segments_report()
    assert page["total"] == len(expected)
    assert page["segments"] == expected[:500]
    accepted = [
        (s["id"], c["code"])
        for s in page["segments"]
        for c in s["codings"]
        if c["coder"] == "lea" and c["status"] == "accepted"
    ]
    wanted = [(sid, code) for sid, body in decided for code in body["accept"]]
    assert sorted(accepted) == sorted(wanted)

    # the theme × case matrix as JSON, and the same as XLSX
    matrix = client.get("/api/v1/matrix?rows=code&cols=case").json()
    assert matrix["rows"] == "code" and matrix["cols"] == "case"
    assert matrix["columns"] and set(matrix["columns"]) <= {"C01", "C02", "C03"}
    total = sum(v for row in matrix["data"] for v in row if v)
    assert total >= len({sid for sid, code in wanted if "/" in code}) > 0
    sheet = client.get("/api/v1/matrix?rows=code&cols=case&format=xlsx")
    assert sheet.status_code == 200
    assert "spreadsheetml" in sheet.headers["content-type"]
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("code", "name", "level")
    assert [r[0] for r in rows[1:]] == matrix["index"]
    assert [list(r[3:]) for r in rows[1:]] == matrix["data"]

    # export QDPX as a job, download it, validate against the REFI-QDA schema
    started = client.post("/api/v1/exports", json={"format": "qdpx"})
    assert started.status_code == 202
    job, _ = poll(client, started.json()["job_id"])
    assert job["state"] == "done", job["error"]
    download = client.get(started.json()["download"])
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        qde = etree.fromstring(archive.read("project.qde"))
        sources = [n for n in archive.namelist() if n.startswith("sources/")]
    schema = etree.XMLSchema(etree.parse(str(FIXTURES / "Project.xsd")))
    assert schema.validate(qde), schema.error_log
    assert len(sources) == 3


def test_serve_refuses_another_host_for_a_project_without_accounts(tmp_path):
    path = tmp_path / "solo.qnlp"
    Project.init(path).close()
    done = subprocess.run(
        [sys.executable, "-m", "qual_nlp", "serve", str(path), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2
    assert "no user accounts, so the API only listens on 127.0.0.1" in done.stderr
    assert "users" in done.stderr and "--role lead" in done.stderr
