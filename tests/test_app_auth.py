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
