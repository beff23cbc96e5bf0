"""A reload keeps a user signed in: signed session tokens, honoured only while valid."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_access_project import PASSWORDS, make_team  # noqa: E402

from qual_nlp.access import SessionPolicy  # noqa: E402
from qual_nlp.project import Project  # noqa: E402

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_token_resumes_the_session_until_it_expires_or_the_account_changes(tmp_path):
    with Project.open(make_team(tmp_path)) as project:
        ana = project.sign_in("ana", PASSWORDS["ana"])
        since = T0.isoformat()
        token = ana.access.session_token(since, (T0 + timedelta(minutes=5)).isoformat())
        policy = SessionPolicy(idle_minutes=30)
        actor, signed_in = project.access.resume(token, policy, now=T0 + timedelta(minutes=20))
        assert (actor.name, actor.role, signed_in) == ("ana", "analyst", since)
        # idle too long, or a forged or damaged token: sign in again
        assert project.access.resume(token, policy, now=T0 + timedelta(minutes=40)) is None
        assert project.access.resume(token[:-3] + "abc", policy, now=T0) is None
        assert project.access.resume("not a token", policy, now=T0) is None
        payload, signature = token.split(".")
        other = project.as_user("lea").access.session_token(since, since)
        assert project.access.resume(other.split(".")[0] + "." + signature, policy, now=T0) is None
        # a new password ends every remembered session
        ana.access.set_password("ana", "a brand new passphrase")
        assert project.access.resume(token, policy, now=T0 + timedelta(minutes=20)) is None
        token = ana.access.session_token(since, since)
        assert project.access.resume(token, policy, now=T0 + timedelta(minutes=1)) is not None
        project.as_user("lea").access.set_enabled("ana", False)
        assert project.access.resume(token, policy, now=T0 + timedelta(minutes=1)) is None


def test_the_secret_is_made_once_and_never_written_to_the_event_log(tmp_path):
    with Project.open(make_team(tmp_path)) as project:
        lea = project.as_user("lea")
        first = lea.access.session_token(T0.isoformat(), T0.isoformat())
        again = lea.access.session_token(T0.isoformat(), T0.isoformat())
        assert first == again  # the same secret signs both
        secret = project.store.get_meta("session_secret")
        events = project.store.events()
        assert not events.astype(str).apply(lambda col: col.str.contains(secret)).any().any()
