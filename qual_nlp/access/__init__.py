"""Accounts and permissions: who may do what in a project (pure rules, no store).

The facade (:mod:`qual_nlp.project`) asks :func:`decide` before every read and write
it serves, so the command line, the app and any later API obey the same rules:

* :mod:`~qual_nlp.access.policy` — roles, actions and the one deciding function;
* :mod:`~qual_nlp.access.passwords` — argon2id hashes (argon2-cffi), rehash on sign-in;
* :mod:`~qual_nlp.access.lockout` — waiting after repeated failures, session expiry;
* :mod:`~qual_nlp.access.tokens` — the HTTP API's bearer tokens: made, kept hashed, expiring;
* :mod:`~qual_nlp.access.sessions` — signed session tokens (a reload keeps one signed in).

>>> from qual_nlp.access import decide, SEE_SUGGESTIONS
>>> from qual_nlp.records import Actor
>>> decide(Actor("pp1", "patient_partner"), SEE_SUGGESTIONS).allowed
False
"""

from __future__ import annotations

from qual_nlp.access.lockout import LockoutPolicy, SessionPolicy
from qual_nlp.access.passwords import check_password_rules, hash_password, verify_password
from qual_nlp.access.policy import (
    ACTIONS,
    ASSIGN,
    ASSIGNED_ONLY,
    CODE,
    CONSENSUS,
    DEIDENTIFY,
    EDIT_CODEBOOK,
    EXPORT,
    HIDDEN_WHILE_BLIND,
    IMPORT,
    MANAGE_USERS,
    READ_DOCUMENTS,
    READ_MEMOS,
    ROLES,
    RUN_MODEL,
    SEE_AGREEMENT,
    SEE_MATRICES,
    SEE_OTHERS,
    SEE_SUGGESTIONS,
    WRITE_MEMOS,
    Decision,
    check_role,
    coder_role_of,
    decide,
    may,
    may_change_memo,
    plain_language,
)
from qual_nlp.access.sessions import fingerprint, issue_token, read_token
from qual_nlp.access.tokens import TokenPolicy, token_digest

__all__ = [
    "ACTIONS",
    "ASSIGN",
    "ASSIGNED_ONLY",
    "HIDDEN_WHILE_BLIND",
    "CODE",
    "CONSENSUS",
    "EDIT_CODEBOOK",
    "EXPORT",
    "IMPORT",
    "MANAGE_USERS",
    "READ_DOCUMENTS",
    "ROLES",
    "RUN_MODEL",
    "SEE_AGREEMENT",
    "SEE_MATRICES",
    "DEIDENTIFY",
    "SEE_OTHERS",
    "SEE_SUGGESTIONS",
    "WRITE_MEMOS",
    "READ_MEMOS",
    "Decision",
    "LockoutPolicy",
    "SessionPolicy",
    "TokenPolicy",
    "check_password_rules",
    "check_role",
    "coder_role_of",
    "decide",
    "hash_password",
    "may",
    "may_change_memo",
    "plain_language",
    "token_digest",
    "verify_password",
    "fingerprint",
    "issue_token",
    "read_token",
]
