"""The HTTP API's rules: every route is in the one rule table, and for every role each
route answers as the rules of ``qual_nlp.access`` say (403, or an answer), through
FastAPI's in-process client over a real project file. Without a valid token (none,
unknown, expired, revoked, of a disabled account) every route but sign-in answers 401.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_support import PASSWORDS, TEAM, make_team, token  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from qual_nlp.access import decide  # noqa: E402
from qual_nlp.api import create_app  # noqa: E402
from qual_nlp.api.routes import PUBLIC, RULES  # noqa: E402
from qual_nlp.project import Project  # noqa: E402
from qual_nlp.records import Actor  # noqa: E402

C01 = "C01_interview_NCM.txt"

Context = dict[str, Any]
#: (method, route path) -> how to call it for one user: (url, request options)
Request = Callable[[Context, str], tuple[str, dict[str, Any]]]

REQUESTS: dict[tuple[str, str], Request] = {
    ("DELETE", "/auth/token"): lambda c, who: ("/api/v1/auth/token", {}),
    ("GET", "/me"): lambda c, who: ("/api/v1/me", {}),
    ("GET", "/documents"): lambda c, who: ("/api/v1/documents", {}),
    ("GET", "/documents/{name}"): lambda c, who: (f"/api/v1/documents/{C01}", {}),
    ("POST", "/documents"): lambda c, who: (
        "/api/v1/documents",
        {"files": {"file": (f"{who}_notes.txt", f"Notes by {who}. The clinic was busy.\n")}},
    ),
    ("POST", "/imports"): lambda c, who: (
        "/api/v1/imports",
        {"files": [("files", (f"{who}_batch.txt", f"Batch notes of {who}.\n"))]},
    ),
    ("GET", "/segments"): lambda c, who: ("/api/v1/segments?limit=5", {}),
    ("GET", "/review/next"): lambda c, who: ("/api/v1/review/next", {}),
    ("GET", "/review/items/{segment_id}"): lambda c, who: (
        f"/api/v1/review/items/{c['assigned']}",
        {},
    ),
    ("POST", "/review/decisions"): lambda c, who: (
        "/api/v1/review/decisions",
        {"json": {"segment_id": c["assigned"], "accept": ["cmo/context"]}},
    ),
    ("POST", "/review/bulk-accept"): lambda c, who: (
        "/api/v1/review/bulk-accept",
        {"json": {"code": "valence/barrier", "min_score": 0.99, "preview": True}},
    ),
    ("GET", "/codebook"): lambda c, who: ("/api/v1/codebook", {}),
    ("POST", "/codebook/codes"): lambda c, who: (
        "/api/v1/codebook/codes",
        {
            "json": {
                "id": f"new_{who}",
                "facet": "cmo",
                "name": f"New by {who}",
                "definition": "A new idea.",
            }
        },
    ),
    ("PATCH", "/codebook/codes/{path:path}"): lambda c, who: (
        "/api/v1/codebook/codes/cmo/outcome",
        {"json": {"name": "Outcome"}},
    ),
    ("GET", "/matrix"): lambda c, who: ("/api/v1/matrix?rows=code&cols=case", {}),
    ("GET", "/cmo"): lambda c, who: ("/api/v1/cmo", {}),
    ("GET", "/agreement"): lambda c, who: ("/api/v1/agreement?by=code", {}),
    ("POST", "/suggest"): lambda c, who: ("/api/v1/suggest", {"json": {}}),
    ("POST", "/train"): lambda c, who: ("/api/v1/train", {}),
    ("POST", "/finetune"): lambda c, who: (
        "/api/v1/finetune",
        {"json": {"facet": "valence", "minutes": 1, "folds": 2}},
    ),
    ("POST", "/learning-curve"): lambda c, who: (
        "/api/v1/learning-curve",
        {"json": {"facet": "valence", "seeds": 1}},
    ),
    ("GET", "/model"): lambda c, who: ("/api/v1/model", {}),
    ("POST", "/exports"): lambda c, who: ("/api/v1/exports", {"json": {"format": "qdc"}}),
    ("GET", "/exports/{job_id}"): lambda c, who: (f"/api/v1/exports/{c['jobs'][who]}", {}),
    ("GET", "/jobs"): lambda c, who: ("/api/v1/jobs", {}),
    ("GET", "/jobs/{job_id}"): lambda c, who: (f"/api/v1/jobs/{c['jobs'][who]}", {}),
}


#: allowed answers that are not 2xx: the export file of a job this server did not start
NOT_READY = {(("GET", "/exports/{job_id}"), 404)}


@pytest.fixture(scope="module")
def served(tmp_path_factory, monkeypatch_module):
    """The team project served in-process; jobs are recorded but their work not run (the
    real jobs run in tests/test_api_server.py against uvicorn)."""
    from qual_nlp.project.jobs import JobService

    def recorded(self, kind, work, *, cleanup=None):
        actor = self._project.actor
        if cleanup:
            cleanup()
        return int(self.store.jobs.create(kind, actor.name if actor else None))

    monkeypatch_module.setattr(JobService, "start", recorded)
    path = make_team(tmp_path_factory.mktemp("api"))
    with Project.open(path) as project:
        assigned = int(sorted(project.store.assignments.segment_ids("pat"))[0])
        jobs = {name: int(project.store.jobs.create("export", name)) for name in TEAM}
    app = create_app(path)
    with TestClient(app) as client:
        tokens = {name: token(client, name) for name in TEAM}
        yield client, {"assigned": assigned, "jobs": jobs, "tokens": tokens, "path": path}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def api_routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for r in app.routes:
        path = getattr(r, "path", "")
        if path.startswith("/api/v1/"):
            out += [(m, path.removeprefix("/api/v1")) for m in sorted(r.methods - {"HEAD"})]
    return out


def test_every_route_has_a_rule_and_a_request_in_this_test(served):
    client, _ = served
    routes = api_routes(client.app)
    assert len(routes) >= 20
    missing_rule = [r for r in routes if r not in RULES]
    assert not missing_rule, (
        f"routes with no access rule in qual_nlp.api.routes.RULES: {missing_rule}"
    )
    missing_case = [r for r in routes if r not in REQUESTS and RULES[r] != PUBLIC]
    assert not missing_case, f"routes this permission test does not call: {missing_case}"
    # nothing else is served but the OpenAPI document and its pages
    others = {getattr(r, "path", "") for r in client.app.routes} - {
        f"/api/v1{p}" for _, p in routes
    }
    assert others <= {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@pytest.mark.parametrize("name", list(TEAM))
def test_each_role_gets_exactly_what_the_rules_allow_on_every_route(served, name):
    client, context = served
    role = TEAM[name]
    headers = {"Authorization": f"Bearer {context['tokens'][name]}"}
    wrong = []
    statuses: dict[tuple[str, str], int] = {}
    for key in api_routes(client.app):
        if RULES[key] == PUBLIC:
            continue
        method, _ = key
        url, options = REQUESTS[key](context, name)
        if key == ("DELETE", "/auth/token"):  # signing out: with a token of its own
            own = {"Authorization": f"Bearer {token(client, name)}"}
            answer = client.request(method, url, headers=own, **options)
        else:
            answer = client.request(method, url, headers=headers, **options)
        allowed = all(decide(Actor(name, role), action).allowed for action in RULES[key])
        refused = answer.status_code == 403
        answered = 200 <= answer.status_code < 300 or (key, answer.status_code) in NOT_READY
        if refused == allowed or (allowed and not answered):
            wrong.append((key, answer.status_code, answer.text[:200]))
        statuses[key] = answer.status_code
    assert not wrong, f"{role}: answers not as the rules say: {wrong}"
    # the table is not vacuous: each role is refused somewhere, or allowed everywhere
    assert (403 in statuses.values()) == (role != "lead")


def test_a_refusal_says_why_and_is_logged(served):
    client, context = served
    headers = {"Authorization": f"Bearer {context['tokens']['vic']}"}
    answer = client.post(
        "/api/v1/review/decisions",
        headers=headers,
        json={"segment_id": context["assigned"], "accept": ["cmo/context"]},
    )
    assert answer.status_code == 403
    assert "vic (viewer) may not code segments" in answer.json()["detail"]
    with Project.open(context["path"]) as project:
        events = project.store.events()
    refused = events[(events["action"] == "refused") & (events["actor"] == "vic")]
    assert "code segments" in set(refused["entity_id"])


def test_a_partner_decides_only_assigned_segments_even_through_the_api(served):
    client, context = served
    headers = {"Authorization": f"Bearer {context['tokens']['pat']}"}
    with Project.open(context["path"]) as project:
        assigned = set(project.store.assignments.segment_ids("pat"))
        other = next(
            int(i) for i in project.store.segments_frame()["segment_id"] if int(i) not in assigned
        )
    answer = client.post(
        "/api/v1/review/decisions", headers=headers, json={"segment_id": other, "accept": []}
    )
    assert answer.status_code == 403
    assert "only the segments assigned" in answer.json()["detail"]
    seen = client.get("/api/v1/segments?limit=1000", headers=headers).json()["segments"]
    assert {s["id"] for s in seen} <= assigned and seen
    assert all(c["coder"] == "pat" for s in seen for c in s["codings"])  # no suggestions


def test_a_blind_assignment_hides_others_work_through_the_api_too(tmp_path):
    path = make_team(tmp_path)
    with Project.open(path) as project:
        project.as_user("lea").review.assign("round-ana", ["ana"], documents=[C01], blind=True)
        mine = int(sorted(project.store.assignments.segment_ids("ana"))[0])
    with TestClient(create_app(path)) as client:
        headers = {"Authorization": f"Bearer {token(client, 'ana')}"}
        refused = client.get("/api/v1/matrix", headers=headers)
        assert refused.status_code == 403 and "blind assignment" in refused.json()["detail"]
        item = client.get(f"/api/v1/review/items/{mine}", headers=headers).json()
        assert item["blind"] is True and item["suggestions"] == []
        seen = client.get("/api/v1/segments?limit=1000", headers=headers).json()["segments"]
        assert {c["coder"] for s in seen for c in s["codings"]} <= {"ana"}
        assert client.get("/api/v1/me", headers=headers).json()["blind"] is True


# ------------------------------------------------------------------- tokens
def test_without_a_valid_token_every_route_but_sign_in_answers_401(served):
    client, context = served
    for method, path in api_routes(client.app):
        if RULES[(method, path)] == PUBLIC:
            continue
        url = "/api/v1" + path.replace("{name}", C01).replace("{segment_id}", "1")
        url = url.replace("{path:path}", "cmo/outcome").replace("{job_id}", "1")
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
            answer = client.request(method, url, headers=headers)
            assert answer.status_code == 401, (method, url, headers, answer.text)
            assert "sign in" in answer.json()["detail"].lower()
            assert answer.headers["www-authenticate"] == "Bearer"


def test_a_wrong_password_answers_401_and_the_token_route_follows_oauth2(served):
    client, _ = served
    answer = client.post("/api/v1/auth/token", data={"username": "ana", "password": "nope nope"})
    assert answer.status_code == 401
    assert "Wrong user name or password" in answer.json()["detail"]
    spec = client.get("/openapi.json").json()
    flows = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "auth/token"
    assert "/api/v1/segments" in spec["paths"] and "/api/v1/matrix" in spec["paths"]


def test_tokens_are_stored_hashed_and_expire(tmp_path):
    from datetime import UTC, datetime, timedelta

    path = make_team(tmp_path)
    with TestClient(create_app(path, token_hours=1)) as client:
        issued = token(client, "ana")
        with Project.open(path) as project:
            stored = project.store.tokens
            from qual_nlp.access import token_digest

            assert stored.find(issued) is None  # the token itself is not kept
            assert stored.find(token_digest(issued)).user == "ana"
            later = datetime.now(UTC) + timedelta(hours=2)
            with pytest.raises(Exception, match="expired"):
                project.access.actor_for_token(issued, now=later)
        assert (
            client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued}"}).json()["name"]
            == "ana"
        )
    with TestClient(create_app(path, token_hours=-1)) as client:  # issued already expired
        stale = token(client, "ana")
        answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {stale}"})
        assert answer.status_code == 401 and "expired" in answer.json()["detail"]


def test_revoke_on_the_command_line_ends_every_token_of_a_user(tmp_path, monkeypatch):
    from qual_nlp.cli import main

    path = make_team(tmp_path)
    with TestClient(create_app(path)) as client:
        first, second = token(client, "zed"), token(client, "zed")
        other = token(client, "ana")
        monkeypatch.setenv("QUAL_NLP_PASSWORD", PASSWORDS["lea"])
        assert main(["users", str(path), "revoke", "zed", "--user", "lea"]) == 0
        for revoked in (first, second):
            answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {revoked}"})
            assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
        assert (
            client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"}).status_code
            == 200
        )
        # an analyst may not revoke someone else's tokens; a user may sign out themselves
        monkeypatch.setenv("QUAL_NLP_PASSWORD", PASSWORDS["ana"])
        assert main(["users", str(path), "revoke", "lea", "--user", "ana"]) == 2
        bye = client.delete("/api/v1/auth/token", headers={"Authorization": f"Bearer {other}"})
        assert bye.json() == {"revoked": 1}
        assert (
            client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"}).status_code
            == 401
        )


def test_a_disabled_account_loses_its_token_at_once(tmp_path):
    path = make_team(tmp_path)
    with TestClient(create_app(path)) as client:
        issued = token(client, "ana")
        with Project.open(path) as project:
            project.as_user("lea").access.set_enabled("ana", False)
        answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued}"})
        assert answer.status_code == 401 and "disabled" in answer.json()["detail"]


def test_a_project_without_accounts_tells_how_to_add_the_lead(tmp_path):
    path = tmp_path / "solo.qnlp"
    Project.init(path).close()
    with TestClient(create_app(path)) as client:
        answer = client.post("/api/v1/auth/token", data={"username": "me", "password": "whatever1"})
        assert answer.status_code == 401
        assert "users PROJECT add NAME --role lead" in answer.json()["detail"]
