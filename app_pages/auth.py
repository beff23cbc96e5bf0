"""Signing in: the login page, session expiry, sign-out, and which pages a role sees.

A project with user accounts asks for a user name and password before anything else;
the signed-in user is the coder (no "switch coder"). A project without accounts stays
in solo mode, but only when the app listens on this computer alone (127.0.0.1).
The rules themselves are the library's (``project.access``); this module only asks them.

Session keys: ``auth_actor`` (the signed-in :class:`~qual_nlp.records.Actor`),
``auth_since`` and ``auth_seen`` (ISO times), ``auth_msg`` (a message for the login page).

A reload or a bookmarked page keeps the user signed in: the session's signed token
(``project.access.session_token``; the rules, expiry included, are the library's) lives in
a cookie of this browser, refreshed while the user is active and cleared at sign-out.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import streamlit as st

from app_pages import common
from qual_nlp import access as rules
from qual_nlp.errors import QualNLPError
from qual_nlp.project import Project

ACTOR_KEY = "auth_actor"
SINCE_KEY = "auth_since"
SEEN_KEY = "auth_seen"
MSG_KEY = "auth_msg"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: minutes without activity before a session ends (default 30)
IDLE_ENV = "QUAL_NLP_SESSION_MINUTES"


def session_policy() -> rules.SessionPolicy:
    minutes = float(os.environ.get(IDLE_ENV, "") or 30)
    return rules.SessionPolicy(idle_minutes=minutes)


def _now() -> datetime:
    return datetime.now(UTC)


def listening_address() -> str:
    """The address the server listens on ('' when not set: `qual-nlp app` always sets it,
    and this folder's ``.streamlit/config.toml`` makes 127.0.0.1 the default)."""
    return str(st.get_option("server.address") or "")


def gate(base: Project) -> None:
    """Stop the run unless this session may go on: signed in (a project with accounts)
    or solo mode on 127.0.0.1. Sets the coder to the signed-in user."""
    if not base.has_users():
        address = listening_address()
        if address and address not in LOOPBACK:
            st.error(
                f"This project has no user accounts, so it is served on this computer only "
                f"(127.0.0.1), not on {address or 'every address'}. Add the lead first: "
                "`qual-nlp users PROJECT add NAME --role lead`, then restart the app."
            )
            st.stop()
        return
    actor = st.session_state.get(ACTOR_KEY)
    if actor is None:
        actor = _resume(base)
    if actor is not None and session_policy().expired(
        st.session_state[SINCE_KEY], st.session_state[SEEN_KEY], _now()
    ):
        sign_out(message="Your session expired. Sign in again.")
        actor = None
    if actor is None:
        st.navigation([st.Page(login, title="Sign in", url_path="signin")]).run()
        st.stop()
    st.session_state[SEEN_KEY] = _now().isoformat()
    _keep_cookie(base.as_user(actor))
    st.session_state[common.CODER_KEY] = actor.name
    st.session_state[common.ROLE_KEY] = actor.role.replace("_", " ")


# ------------------------------------------------------------ remembered sessions
#: how often (seconds) the cookie's last-seen time is refreshed while the user is active
COOKIE_REFRESH = 60


def cookie_name(location: str) -> str:
    """The session cookie of one project (cookies are shared by every port of a host).

    >>> cookie_name("study.qnlp").startswith("qual_nlp_session_")
    True
    """
    import hashlib

    return "qual_nlp_session_" + hashlib.sha256(location.encode()).hexdigest()[:10]


def _cookie_script(name: str, value: str, max_age: int) -> str:
    # the value is base64url and a dot: nothing to escape
    return (
        f"<script>document.cookie = '{name}={value}; Max-Age={max_age}; Path=/; "
        "SameSite=Strict';</script>"
    )


def _resume(base: Project) -> object | None:
    """A reload or a bookmark: the signed session kept in this browser's cookie, if it is
    still valid (the rules are the library's: ``project.access.resume``)."""
    if st.session_state.get("auth_signed_out"):
        return None  # the browser still sends the old cookie until the page reloads
    name = cookie_name(str(st.session_state[common.PROJECT_KEY]))
    token = st.context.cookies.get(name) if hasattr(st.context, "cookies") else None
    if not token:
        return None
    found = base.access.resume(str(token), session_policy(), now=_now())
    if found is None:
        return None
    actor, since = found
    st.session_state.update({ACTOR_KEY: actor, SINCE_KEY: since, SEEN_KEY: _now().isoformat()})
    return actor


def _keep_cookie(proj: Project) -> None:
    """Write (or refresh) this session's signed token in a cookie, at most once a minute."""
    now = _now()
    last = st.session_state.get("auth_cookie_at")
    if last is not None and (now - datetime.fromisoformat(last)).total_seconds() < COOKIE_REFRESH:
        return
    try:
        token = proj.access.session_token(st.session_state[SINCE_KEY], st.session_state[SEEN_KEY])
    except QualNLPError:
        return
    st.session_state["auth_cookie_at"] = now.isoformat()
    hours = session_policy().max_hours
    name = cookie_name(str(st.session_state[common.PROJECT_KEY]))
    st.html(_cookie_script(name, token, int(hours * 3600)), unsafe_allow_javascript=True)


def _sign_in() -> None:
    """The form's submit (Enter in either field, or the button)."""
    name = str(st.session_state.get("auth_name", "")).strip()
    password = str(st.session_state.get("auth_password", ""))
    st.session_state["auth_password"] = ""  # never kept in the session
    if not name or not password:
        st.session_state[MSG_KEY] = "Type your user name and password."
        return
    try:
        actor = common.load_project(str(st.session_state[common.PROJECT_KEY])).access.sign_in(
            name, password
        )
    except QualNLPError as exc:
        st.session_state[MSG_KEY] = str(exc)
        return
    stamp = _now().isoformat()
    st.session_state.update({ACTOR_KEY: actor, SINCE_KEY: stamp, SEEN_KEY: stamp})
    st.session_state.pop(MSG_KEY, None)


def login() -> None:
    """The login page: user name, password, Sign in (Enter submits too)."""
    st.title("Sign in")
    location = str(st.session_state[common.PROJECT_KEY])
    name = location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]  # not where it lives
    st.caption(f"Project: **{name}**")
    with st.form("auth_form", border=False, enter_to_submit=True):
        st.text_input("User name", key="auth_name", autocomplete="username")
        st.text_input(
            "Password", key="auth_password", type="password", autocomplete="current-password"
        )
        st.form_submit_button("Sign in", type="primary", on_click=_sign_in, key="auth_go")
    if st.session_state.get(MSG_KEY):
        st.error(st.session_state[MSG_KEY])
    if st.session_state.get("auth_signed_out"):  # forget the remembered session
        name = cookie_name(str(st.session_state[common.PROJECT_KEY]))
        st.html(_cookie_script(name, "", 0), unsafe_allow_javascript=True)


def sign_out(message: str | None = None) -> None:
    """Forget the signed-in user and every page's state of this session."""
    project = st.session_state.get(common.PROJECT_KEY)
    for key in list(st.session_state):
        del st.session_state[key]
    if project is not None:
        st.session_state[common.PROJECT_KEY] = project
    st.session_state["auth_signed_out"] = True
    if message:
        st.session_state[MSG_KEY] = message


def signed_in() -> bool:
    return st.session_state.get(ACTOR_KEY) is not None


#: a page's url path -> what one must be allowed to do to see it
PAGE_ACTIONS = {
    "documents": rules.READ_DOCUMENTS,
    "import": rules.IMPORT,
    "matrices": rules.SEE_MATRICES,
    "codebook": rules.READ_DOCUMENTS,
    "deid": rules.DEIDENTIFY,
}


#: page title -> its url path (Streamlit reports "" as the default page's path)
PAGE_PATHS = {
    "Review queue": "review",
    "Documents": "documents",
    "Import": "import",
    "Matrices": "matrices",
    "Agreement": "agreement",
    "Codebook": "codebook",
    "Memos": "memos",
    "My segments": "my-segments",
}


def visible_page(proj: Project, page: st.Page) -> bool:
    """May the acting user open this ``st.Page``? A page this module does not know is
    shown to leads only."""
    path = page.url_path or PAGE_PATHS.get(page.title, "")
    if not path:
        return proj.actor is None or proj.access.may(rules.MANAGE_USERS)
    return visible(proj, path)


def visible(proj: Project, url_path: str) -> bool:
    """May the acting user open this page? (Solo mode: every page.)"""
    if proj.actor is None:
        return True
    plain = proj.access.plain_language()
    if url_path == "my-segments":
        return plain
    if url_path == "memos":  # a patient partner's one page stays "My segments"
        return not plain and (
            proj.access.may(rules.WRITE_MEMOS) or proj.access.may(rules.READ_MEMOS)
        )
    if url_path == "review":
        return not plain and proj.access.may(rules.CODE)
    if url_path == "agreement":
        # coders finish their assignments there; a viewer reads the figures
        return not plain and (proj.access.may(rules.CODE) or proj.access.may(rules.SEE_AGREEMENT))
    action = PAGE_ACTIONS.get(url_path)
    return action is None or proj.access.may(action)
