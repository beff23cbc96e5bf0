"""Hostile and malformed requests: each gets a 4xx with a JSON ``detail`` that says what
to fix (never a 500, never a traceback), nothing is stored half-way, and the project's
integrity check passes afterwards with its counts unchanged."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_support import make_team, token  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from qual_nlp.api import create_app  # noqa: E402
from qual_nlp.project import Project  # noqa: E402

LIMIT = 20_000  # bytes: the upload limit of the server under test


def qde(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<Project xmlns="urn:QDA-XML:project:1.0" name="hostile">{body}</Project>'
    ).encode()


def zip_bomb() -> bytes:
    """A .qdpx of under 1 MB whose one source expands to 400 MiB of zeros."""
    guid = "00000000-0000-0000-0000-000000000010"
    source = (
        f'<Sources><TextSource guid="{guid}" name="Interview 1" '
        f'plainTextPath="internal://{guid}.txt"/></Sources>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("project.qde", qde(source))
        with zf.open(f"sources/{guid}.txt", "w", force_zip64=True) as fh:
            for _ in range(100):
                fh.write(b"\0" * 2**22)
    return out.getvalue()


def escaping_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("project.qde", qde(""))
        zf.writestr("../../outside.txt", b"evil")
    return out.getvalue()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    path = make_team(tmp_path_factory.mktemp("bad"))
    with Project.open(path) as project:
        pat_ids = set(project.store.assignments.segment_ids("pat"))
        other = next(
            int(i) for i in project.store.segments_frame()["segment_id"] if i not in pat_ids
        )
        bomb = zip_bomb()
    assert len(bomb) < LIMIT * 50  # the bomb itself is small; the limit is raised for it
    with TestClient(create_app(path, max_upload_bytes=2_000_000)) as client:
        yield client, path, {"ana": token(client, "ana"), "pat": token(client, "pat")}, other, bomb


def counts(path: Any) -> dict[str, Any]:
    """What the project holds; of the event log, all but the refusals (which are logged)."""
    with Project.open(path) as project:
        events = project.store.events()
        kept = int((events["action"] != "refused").sum())
        return project.counts() | {"codebook": len(project.codebook().codes), "events": kept}


def test_hostile_and_malformed_requests_get_a_4xx_that_says_what_to_fix(served):
    client, path, tokens, other, bomb = served
    ana = {"Authorization": f"Bearer {tokens['ana']}"}
    pat = {"Authorization": f"Bearer {tokens['pat']}"}
    decisions = "/api/v1/review/decisions"
    before = counts(path)
    cases: list[tuple[str, int, str, Any]] = [
        # (what, expected status, words the detail must hold, the request)
        (
            "bad JSON",
            422,
            "not valid JSON",
            lambda: client.post(
                decisions,
                headers=ana | {"Content-Type": "application/json"},
                content=b'{"segment_id": 1, "accept": [',
            ),
        ),
        (
            "a forged token with a malformed body: the token is refused first",
            401,
            "not one this project issued",
            lambda: client.post(
                decisions,
                headers={
                    "Authorization": "Bearer forged-token",
                    "Content-Type": "application/json",
                },
                content=b'{"segment_id": ',
            ),
        ),
        (
            "a forged token with an upload: refused before the file is read",
            401,
            "not one this project issued",
            lambda: client.post(
                "/api/v1/documents",
                headers={"Authorization": "Bearer forged-token"},
                files={"file": ("../evil.txt", b"")},
            ),
        ),
        (
            "a JSON list, not an object",
            422,
            "must be a JSON object",
            lambda: client.post(decisions, headers=ana, json=[1, 2]),
        ),
        (
            "no body",
            422,
            "no body",
            lambda: client.post(decisions, headers=ana),
        ),
        (
            "unknown segment",
            404,
            "segment 987654 is not in the project",
            lambda: client.post(decisions, headers=ana, json={"segment_id": 987654, "accept": []}),
        ),
        (
            "unknown code",
            404,
            "not in the codebook",
            lambda: client.post(
                decisions, headers=ana, json={"segment_id": other, "accept": ["cmo/nonsense"]}
            ),
        ),
        (
            "the same code accepted and rejected",
            422,
            "both accepted and rejected",
            lambda: client.post(
                decisions,
                headers=ana,
                json={"segment_id": other, "accept": ["cmo/context"], "reject": ["cmo/context"]},
            ),
        ),
        (
            "deciding a segment not assigned",
            403,
            "only the segments assigned",
            lambda: client.post(decisions, headers=pat, json={"segment_id": other, "accept": []}),
        ),
        (
            "unknown document",
            404,
            "'nope.txt' is not in the project",
            lambda: client.get("/api/v1/documents/nope.txt", headers=ana),
        ),
        (
            "unknown job",
            404,
            "job 424242 is not in this project",
            lambda: client.get("/api/v1/jobs/424242", headers=ana),
        ),
        (
            "a job id that is not a number",
            422,
            "job_id",
            lambda: client.get("/api/v1/jobs/abc", headers=ana),
        ),
        (
            "a file over the limit",
            413,
            "larger than",
            lambda: client.post(
                "/api/v1/documents",
                headers=ana,
                files={"file": ("big.txt", b"P01: words\n" * 300_000)},
            ),
        ),
        (
            "a zip bomb in a .qdpx",
            422,
            "zip bomb",
            lambda: client.post("/api/v1/documents", headers=ana, files={"file": ("b.qdpx", bomb)}),
        ),
        (
            "a .qdpx entry pointing outside the archive",
            422,
            "outside the archive",
            lambda: client.post(
                "/api/v1/documents", headers=ana, files={"file": ("e.qdpx", escaping_archive())}
            ),
        ),
        (
            "a file name with ../",
            422,
            "not a plain file name",
            lambda: client.post(
                "/api/v1/documents",
                headers=ana,
                files={"file": ("../../etc/cron.d/evil.txt", b"P01: hello\n")},
            ),
        ),
        (
            "JSON where a multipart upload is expected",
            422,
            "file is missing",
            lambda: client.post("/api/v1/documents", headers=ana, json={"file": "x.txt"}),
        ),
        (
            "an empty file",
            422,
            "empty",
            lambda: client.post(
                "/api/v1/documents", headers=ana, files={"file": ("empty.txt", b"")}
            ),
        ),
        (
            "binary junk named .txt",
            422,
            "junk.txt",
            lambda: client.post(
                "/api/v1/documents",
                headers=ana,
                files={"file": ("junk.txt", bytes(range(256)) * 40)},
            ),
        ),
        (
            "a file type no importer reads",
            422,
            "tool.exe",
            lambda: client.post(
                "/api/v1/documents", headers=ana, files={"file": ("tool.exe", b"MZ\x90\x00")}
            ),
        ),
        (
            "limit=0",
            422,
            "limit",
            lambda: client.get("/api/v1/segments?limit=0", headers=ana),
        ),
        (
            "limit that is not a number",
            422,
            "limit",
            lambda: client.get("/api/v1/segments?limit=ten", headers=ana),
        ),
        (
            "a negative offset",
            422,
            "offset",
            lambda: client.get("/api/v1/segments?offset=-5", headers=ana),
        ),
        (
            "an unknown code as a filter",
            404,
            "'nope/nope' is not in the codebook",
            lambda: client.get("/api/v1/segments?code=nope/nope", headers=ana),
        ),
        (
            "bulk accept of an unknown code",
            404,
            "not in the codebook",
            lambda: client.post(
                "/api/v1/review/bulk-accept", headers=ana, json={"code": "x/y", "min_score": 0.5}
            ),
        ),
        (
            "an unknown matrix value",
            422,
            "value",
            lambda: client.get("/api/v1/matrix?value=everything", headers=ana),
        ),
        (
            "an unknown export format",
            403,
            "may not export",
            lambda: client.post("/api/v1/exports", headers=ana, json={"format": "pdf"}),
        ),
        (
            "a JSON body over 1 MB",
            413,
            "larger than",
            lambda: client.post(
                decisions, headers=ana, json={"segment_id": other, "memo": "x" * 1_200_000}
            ),
        ),
        (
            "fine-tuning an unknown facet",
            404,
            "'valance' is not in the codebook (cfir",
            lambda: client.post("/api/v1/finetune", headers=ana, json={"facet": "valance"}),
        ),
        (
            "fine-tuning with no time",
            422,
            "minutes",
            lambda: client.post(
                "/api/v1/finetune", headers=ana, json={"facet": "valence", "minutes": 0}
            ),
        ),
        (
            "sign-in without the form fields",
            422,
            "username is missing",
            lambda: client.post("/api/v1/auth/token", json={"user": "ana"}),
        ),
        (
            "a forged token",
            401,
            "not one this project issued",
            lambda: client.get("/api/v1/me", headers={"Authorization": "Bearer " + "A" * 43}),
        ),
        (
            "a path climbing out with ../",
            404,
            "no route",
            lambda: client.get("/api/v1/../../etc/passwd"),
        ),
        (
            "an unknown route, signed in",
            404,
            "GET /openapi.json lists every route",
            lambda: client.get("/api/v1/nothing-here", headers=ana),
        ),
    ]
    assert len(cases) >= 15
    wrong = []
    for what, status, words, request in cases:
        answer = request()
        detail = (
            answer.json().get("detail")
            if answer.headers.get("content-type", "").startswith("application/json")
            else None
        )
        if (
            answer.status_code != status
            or not isinstance(detail, str)
            or words.lower() not in detail.lower()
            or "Traceback" in answer.text
        ):
            wrong.append((what, answer.status_code, answer.text[:300]))
    assert not wrong, "\n".join(map(str, wrong))
    with Project.open(path) as project:
        assert project.integrity() == []
    assert counts(path) == before  # nothing stored, not even half-way


def test_the_integrity_check_finds_a_broken_project(tmp_path):
    """The check the suite relies on is not blind: it reports a segment cut loose."""
    path = make_team(tmp_path)
    with Project.open(path) as project:
        assert project.integrity() == []
        with project.store.engine.begin() as conn:
            conn.exec_driver_sql('UPDATE segments SET "end" = 10000000 WHERE id = 1')
        assert project.integrity() == ["1 documents have segments outside their text"]
