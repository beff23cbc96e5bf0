"""Tokens and jobs in the project database, on SQLite and on a real PostgreSQL server:
tokens kept as digests, expiring and revocable; jobs started by the facade run in a thread
of their own on connections of their own, acting as the same user, and any process
reads their state, progress and result or error. The load benchmark's run through a real
uvicorn server, small, loses no write on either database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qual_nlp.errors import AccessDeniedError, SignInError
from qual_nlp.project import Project

pytestmark = pytest.mark.backends

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long passphrase"


@pytest.fixture
def team(project_location):
    with Project.init(project_location) as project:
        project.access.add_user("lea", "lead", PASSWORD)
        lead = project.as_user("lea")
        lead.access.add_user("ana", "analyst", PASSWORD)
        lead.access.add_user("vic", "viewer", PASSWORD)
        yield project, project_location


def test_tokens_are_kept_as_digests_expire_and_are_revoked(team):
    project, _ = team
    issued = project.access.issue_token("ana", PASSWORD)
    assert project.access.actor_for_token(issued.token).name == "ana"
    assert project.store.tokens.find(issued.token) is None
    later = datetime.now(UTC) + timedelta(hours=13)
    with pytest.raises(SignInError, match="expired"):
        project.access.actor_for_token(issued.token, now=later)
    with pytest.raises(SignInError, match="Wrong user name or password"):
        project.access.issue_token("ana", "not the passphrase")
    second = project.access.issue_token("ana", PASSWORD)
    with pytest.raises(AccessDeniedError):  # an analyst revokes only their own
        project.as_user("ana").access.revoke_tokens("lea")
    assert project.as_user("lea").access.revoke_tokens("ana") == 2
    for token in (issued.token, second.token):
        with pytest.raises(SignInError, match="revoked"):
            project.access.actor_for_token(token)
    events = project.store.events()
    assert issued.token not in events.to_string()  # never logged


def test_a_job_runs_in_the_background_as_its_user_and_any_process_reads_it(team, tmp_path):
    project, location = team
    lead = project.as_user("lea")
    job_id = lead.jobs.export("qdc", tmp_path / "codebook.qdc")
    job = lead.jobs.wait(job_id, timeout=120)
    assert (job.state, job.kind, job.actor, job.error) == ("done", "export", "lea", None)
    assert job.result["file"] == "codebook.qdc" and job.result["bytes"] > 1000
    assert job.done == job.total == 1  # progress went through to the end
    assert (tmp_path / "codebook.qdc").exists()
    with Project.open(location) as elsewhere:  # another connection, as another process would
        assert elsewhere.as_user("lea").jobs.get(job_id).state == "done"
        with pytest.raises(AccessDeniedError, match="started by someone else"):
            elsewhere.as_user("ana").jobs.get(job_id)


def test_a_failed_job_reports_what_to_fix_and_a_refused_one_never_starts(team, tmp_path):
    project, _ = team
    lead = project.as_user("lea")
    job_id = lead.jobs.export("pdf", tmp_path / "x.pdf")
    job = lead.jobs.wait(job_id, timeout=120)
    assert job.state == "failed"
    assert "export format 'pdf' is not one of" in job.error
    before = len(project.store.jobs.all())
    with pytest.raises(AccessDeniedError, match="may not run suggestions"):
        project.as_user("vic").jobs.suggest()
    assert len(project.store.jobs.all()) == before


def test_a_job_whose_server_process_stopped_reads_as_failed(team):
    import socket

    project, _ = team
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store = project.store
    orphan = store.jobs.create("suggest", "lea", f"{socket.gethostname()}:{dead.pid}")
    elsewhere = store.jobs.create("train", "lea", "another-host:1")
    lead = project.as_user("lea")
    job = lead.jobs.get(orphan)
    assert job.state == "failed" and "stopped before it ended" in job.error
    assert lead.jobs.get(elsewhere).state == "queued"  # it may be running on that host


def test_many_clients_deciding_through_the_served_api_lose_no_write(project_location):
    """benchmarks/api_load.py, small: a real uvicorn server, clients deciding at once."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "api_load.py"), "--project", project_location]
        + ["--segments", "300", "--clients", "4", "--decisions", "15"],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(result.stdout)
    assert figures["decisions"] == 60 and figures["segments_in_project"] >= 300
    assert (figures["errors"], figures["lost_writes"], figures["duplicate_codings"]) == (0, 0, 0)
    assert figures["integrity_problems"] == []
