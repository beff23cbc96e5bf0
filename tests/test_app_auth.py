"""The app's sign-in gate, headless (AppTest): the login page, session expiry, the
signed-in sidebar, and solo mode refused beyond 127.0.0.1."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_access_project import make_team  # noqa: E402
from test_app_support import app_on, build_project, fresh_caches  # noqa: E402, F401

from qual_nlp.project import Project  # noqa: E402
from qual_nlp.records import Actor  # noqa: E402


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Path:
    return make_team(tmp_path_factory.mktemp("team"))


def texts(at) -> str:
    parts = (
        [m.value for m in at.markdown] + [t.value for t in at.title] + [h.value for h in at.header]
    )
    parts += [e.value for e in at.error] + [b.label for b in at.button]
    return "\n".join(str(p) for p in parts)


def signed_in_app(path: Path, name: str, role: str, seen: datetime):
    at = app_on(path, coder=None)
    stamp = seen.isoformat()
    at.session_state["auth_actor"] = Actor(name, role)
    at.session_state["auth_since"] = stamp
    at.session_state["auth_seen"] = stamp
    return at


def test_a_project_with_accounts_opens_on_the_sign_in_page(team: Path):
    at = app_on(team, coder=None).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert {w.label for w in at.text_input} == {"User name", "Password"}
    assert "Continue as" not in texts(at) and "Who is coding?" not in texts(at)


def test_a_signed_in_user_codes_as_themselves_without_a_switch(team: Path):
    at = signed_in_app(team, "lea", "lead", datetime.now(UTC)).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at)
    assert "Signed in as **lea**" in shown and "Sign out" in shown
    assert "Switch coder" not in shown
    assert at.session_state["app_coder"] == "lea"


def test_an_idle_session_expires(team: Path):
    at = signed_in_app(team, "lea", "lead", datetime.now(UTC) - timedelta(hours=2)).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Sign in"]
    assert "Your session expired" in texts(at)
    assert "auth_actor" not in at.session_state


def test_solo_mode_is_refused_beyond_this_computer(tmp_path: Path):
    from streamlit import config

    path = build_project(tmp_path, suggestions=False)
    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = app_on(path).run()
    finally:
        config.set_option("server.address", before)
    assert "qual-nlp users PROJECT add NAME --role lead" in texts(at)
    assert not [h.value for h in at.header]  # no page rendered


PAGES = {
    "lea": (
        "lead",
        ["review", "documents", "import", "matrices", "agreement", "codebook", "memos"],
    ),
    "ana": ("analyst", ["review", "documents", "agreement", "codebook", "memos"]),
    "vic": ("viewer", ["matrices", "agreement", "memos"]),
    "pat": ("patient_partner", ["my-segments"]),
}


@pytest.mark.parametrize("user", list(PAGES))
def test_every_page_a_role_may_open_renders_for_it(team: Path, user: str):
    from test_app_support import open_page

    role, paths = PAGES[user]
    for path in paths:
        at = open_page(signed_in_app(team, user, role, datetime.now(UTC)), path)
        assert [h.value for h in at.header] or [t.value for t in at.title], path
        shown = texts(at)
        assert "Refused" not in shown, (path, shown)
        options = str([o for w in at.get("button_group") for o in w.proto.options])
        if path == "matrices":  # the export view is a lead's
            assert "Theme" in options and ("Export" in options) == (user == "lea")
        if path == "agreement":
            assert "Assignments" in options and "Statistics" in options
        if path == "review":  # not blind: the model's tools are there
            assert "Bulk accept" in str([e.label for e in at.expander])


def test_a_blind_analyst_sees_no_statistics_and_no_suggestion(tmp_path: Path):
    from test_app_support import open_page

    path = make_team(tmp_path)
    with Project.open(path) as project:
        project.as_user("lea").review.assign("round-2", ["ana"], blind=True)
    at = open_page(signed_in_app(path, "ana", "analyst", datetime.now(UTC)), "agreement")
    options = str([o for w in at.get("button_group") for o in w.proto.options])
    assert "Assignments" in options and "Statistics" not in options
    at = open_page(signed_in_app(path, "ana", "analyst", datetime.now(UTC)), "review")
    assert any("Blind coding" in str(i.value) for i in at.info)
    assert "Bulk accept" not in str([e.label for e in at.expander])


#: every page of the app, and the roles that may open it (a new page without a row fails)
PAGE_ROLES = {
    "review": {"lea", "ana"},
    "documents": {"lea", "ana"},
    "import": {"lea", "ana"},
    "matrices": {"lea", "ana", "vic"},
    "agreement": {"lea", "ana", "vic"},
    "codebook": {"lea", "ana"},
    "memos": {"lea", "ana", "vic"},
    "deid": {"lea"},
    "my-segments": {"pat"},
}


@pytest.mark.parametrize("user", list(PAGES))
def test_each_role_is_shown_exactly_the_pages_the_rules_allow(team: Path, user: str):
    from app_pages.auth import PAGE_ACTIONS, PAGE_PATHS, visible
    from qual_nlp.project import Project

    paths = set(PAGE_PATHS.values()) | set(PAGE_ACTIONS)
    assert paths == set(PAGE_ROLES), "a page has no row in PAGE_ROLES"
    with Project.open(team) as project:
        acting = project.as_user(user)
        shown = {path for path in paths if visible(acting, path)}
    assert shown == {path for path, users in PAGE_ROLES.items() if user in users}
