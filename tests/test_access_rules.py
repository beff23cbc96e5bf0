"""The access rules on their own: roles, the blind rule, passwords, lockout, sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qual_nlp import access
from qual_nlp.errors import ValidationError
from qual_nlp.records import Actor

LEAD = Actor("lea", "lead")
ANALYST = Actor("ana", "analyst")
PARTNER = Actor("pat", "patient_partner")
VIEWER = Actor("vic", "viewer")


def test_solo_mode_allows_everything():
    assert all(access.decide(None, a).allowed for a in access.ACTIONS)


def test_a_lead_may_do_everything_outside_a_blind_assignment():
    assert all(access.decide(LEAD, a).allowed for a in access.ACTIONS)


@pytest.mark.parametrize(
    "action",
    [access.SEE_SUGGESTIONS, access.SEE_OTHERS, access.SEE_AGREEMENT, access.EXPORT],
)
def test_a_patient_partner_never_sees_suggestions_others_agreement_or_exports(action):
    answer = access.decide(PARTNER, action)
    assert not answer.allowed
    assert "pat (patient partner) may not" in answer.reason


def test_a_patient_partner_codes_only_assigned_segments():
    assert access.decide(PARTNER, access.CODE, assigned=True).allowed
    refused = access.decide(PARTNER, access.CODE, assigned=False)
    assert not refused.allowed and "only the segments assigned" in refused.reason


def test_a_viewer_reads_matrices_and_reports_but_does_not_code_or_export():
    assert access.decide(VIEWER, access.SEE_MATRICES).allowed
    assert access.decide(VIEWER, access.SEE_AGREEMENT).allowed
    for action in (access.CODE, access.EXPORT, access.SEE_SUGGESTIONS, access.IMPORT):
        assert not access.decide(VIEWER, action).allowed


def test_analysts_and_investigators_code_and_see_suggestions_but_manage_nothing():
    for actor in (ANALYST, Actor("ivy", "investigator")):
        assert access.decide(actor, access.CODE).allowed
        assert access.decide(actor, access.SEE_SUGGESTIONS).allowed
        for action in (access.MANAGE_USERS, access.EDIT_CODEBOOK, access.ASSIGN, access.EXPORT):
            assert not access.decide(actor, action).allowed


def test_a_blind_assignment_hides_others_and_the_model_even_from_a_lead():
    for actor in (LEAD, ANALYST):
        for action in access.HIDDEN_WHILE_BLIND:
            assert not access.decide(actor, action, blind=True).allowed
        assert access.decide(actor, access.CODE, blind=True).allowed


def test_nobody_records_a_decision_in_someone_elses_name():
    refused = access.decide(LEAD, access.CODE, on_behalf_of="ana")
    assert not refused.allowed and "recorded under the signed-in user" in refused.reason
    assert access.decide(ANALYST, access.CODE, on_behalf_of="ana").allowed


def test_unknown_roles_and_actions_are_errors_that_say_what_is_expected():
    with pytest.raises(ValidationError, match="lead, analyst"):
        access.check_role("boss")
    with pytest.raises(ValidationError, match="unknown action"):
        access.decide(LEAD, "fly")
    assert access.check_role("Patient partner") == "patient_partner"


def test_passwords_are_argon2id_and_verify():
    hashed = access.hash_password("a long passphrase")
    assert hashed.startswith("$argon2id$") and "a long passphrase" not in hashed
    assert access.verify_password(hashed, "a long passphrase") == (True, None)
    assert access.verify_password(hashed, "a long passphrasE") == (False, None)
    assert access.verify_password("not a hash", "x") == (False, None)


def test_a_hash_made_with_old_parameters_is_rehashed_on_sign_in():
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("a long passphrase")
    ok, new = access.verify_password(old, "a long passphrase")
    assert ok and new is not None and new != old
    assert not PasswordHasher().check_needs_rehash(new)


def test_short_passwords_are_refused():
    with pytest.raises(ValidationError, match="at least 8"):
        access.hash_password("short")


def test_after_five_failures_the_account_waits_longer_each_time():
    policy = access.LockoutPolicy()
    t0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert [policy.wait_after(n) for n in range(1, 8)] == [0, 0, 0, 0, 30, 60, 120]
    assert policy.locked_until(4, t0) is None
    until = policy.locked_until(5, t0)
    assert policy.seconds_left(until, t0) == 30
    assert policy.seconds_left(until, t0 + timedelta(seconds=31)) == 0
    assert policy.wait_after(40) == policy.max_delay


def test_a_session_expires_when_idle_and_after_its_longest_life():
    policy = access.SessionPolicy(idle_minutes=30, max_hours=12)
    t0 = datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert not policy.expired(t0, t0 + timedelta(hours=11), t0 + timedelta(hours=11, minutes=5))
    assert policy.expired(t0, t0, t0 + timedelta(minutes=31))
    assert policy.expired(t0, t0 + timedelta(hours=12), t0 + timedelta(hours=12, minutes=1))
