"""The entry screens: open (or create) a project, then say who is coding."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages import common
from qual_nlp.errors import QualNLPError
from qual_nlp.project import Project


def _candidates() -> list[str]:
    """Project files near the working directory (``*.qnlp`` here and one level down)."""
    here = Path.cwd()
    found = sorted({*here.glob("*.qnlp"), *here.glob("*/*.qnlp")})
    return [str(p.relative_to(here)) for p in found]


def _open(location: str, *, create: bool) -> None:
    location = location.strip()
    if not location:
        st.session_state["start_error"] = "Type a project file path or a database URL first."
        return
    try:
        if create:
            Project.init(location).close()
        common.load_project(location)
    except QualNLPError as exc:
        st.session_state["start_error"] = str(exc)
        return
    st.session_state.pop("start_error", None)
    st.session_state[common.PROJECT_KEY] = location


def choose_project() -> None:
    """No project was named on the command line: pick or create one."""
    st.title("qual_nlp")
    st.caption(
        "NLP-assisted qualitative analysis. Everything stays on this computer. "
        "Tip: `streamlit run streamlit_app.py -- PROJECT` or `QUAL_NLP_PROJECT=PROJECT` "
        "opens a project directly."
    )
    found = _candidates()
    if found:
        st.subheader("Projects in this folder")
        for i, path in enumerate(found):
            st.button(
                path, key=f"start_pick_{i}", on_click=_open, args=(path,), kwargs={"create": False}
            )
    st.subheader("Open or create")
    st.text_input(
        "Project file or database URL",
        key="start_location",
        placeholder="study.qnlp  or  postgresql://user@localhost/study",
    )
    left, right = st.columns(2)
    left.button(
        "Open",
        key="start_open",
        type="primary",
        on_click=lambda: _open(st.session_state["start_location"], create=False),
    )
    right.button(
        "Create a new project (codebook: cm-implementation)",
        key="start_create",
        on_click=lambda: _open(st.session_state["start_location"], create=True),
    )
    if st.session_state.get("start_error"):
        st.error(st.session_state["start_error"])


def _enter(name: str, role: str) -> None:
    name = name.strip()
    if not name or name.startswith("model:") or name == "consensus":
        st.session_state["start_coder_error"] = (
            "Type your name (not 'consensus' and not starting with 'model:')."
        )
        return
    st.session_state.pop("start_coder_error", None)
    st.session_state[common.CODER_KEY] = name
    st.session_state[common.ROLE_KEY] = role


def choose_coder() -> None:
    """Say who is coding: an existing coder, or a new name with a role."""
    proj = common.project()
    st.title("Who is coding?")
    st.caption(f"Project: `{proj.location}`")
    _work_to_review(proj)
    roles = {c.name: c.role for c in proj.coders() if c.role not in common.NOT_HUMAN}
    if roles:
        st.subheader("Continue as")
        cols = st.columns(min(4, len(roles)))
        for i, (name, role) in enumerate(roles.items()):
            cols[i % len(cols)].button(
                f"{name} · {role}",
                key=f"start_coder_{i}",
                on_click=_enter,
                args=(name, role),
                width="stretch",
            )
    st.subheader("New coder")
    with st.form("start_new_coder", border=False):
        name = st.text_input("Your name or initials", key="start_coder_name")
        role = st.radio("Role", common.HUMAN_ROLES, key="start_coder_role", horizontal=True)
        if st.form_submit_button("Start coding", type="primary", key="start_coder_go"):
            _enter(name, role)
            if common.CODER_KEY in st.session_state:
                st.rerun()
    if st.session_state.get("start_coder_error"):
        st.error(st.session_state["start_coder_error"])


def _work_to_review(proj: Project) -> None:
    """Say how much a new coder finds to review (the sample project leaves all of it)."""
    try:
        waiting = proj.review.waiting_for_a_new_coder()
    except QualNLPError:
        return
    if waiting:
        st.info(
            f"**{waiting} segments are waiting for review.** A new coder starts with all of "
            "them, most uncertain first, with the model's suggestions ticked; the Review "
            "queue page opens first.",
            icon=":material/fact_check:",
        )


def sidebar(counts: dict[str, int]) -> None:
    """Project, coder and a way to switch either."""
    with st.sidebar:
        location = str(st.session_state[common.PROJECT_KEY])
        st.markdown(f"**{Path(location).name if '://' not in location else location}**")
        if st.session_state.get("auth_actor") is not None:
            _signed_in_sidebar()
            return
        st.caption(
            f"{counts.get('documents', 0)} documents · {counts.get('segments', 0)} segments · "
            f"{counts.get('codings', 0)} codings"
        )
        st.markdown(
            f"Coding as **{st.session_state[common.CODER_KEY]}** "
            f"({st.session_state.get(common.ROLE_KEY, 'analyst')})"
        )
        left, right = st.columns(2)
        left.button("Switch coder", key="app_switch_coder", on_click=_forget, args=("coder",))
        right.button("Close project", key="app_close", on_click=_forget, args=("project",))


def _signed_in_sidebar() -> None:
    """Who is signed in, and Sign out (no switching coder: the coder is the user)."""
    from app_pages import auth

    st.markdown(
        f"Signed in as **{st.session_state[common.CODER_KEY]}** "
        f"({st.session_state.get(common.ROLE_KEY, '')})"
    )
    st.button("Sign out", key="app_sign_out", on_click=auth.sign_out)


def _forget(what: str) -> None:
    st.session_state.pop(common.CODER_KEY, None)
    st.session_state.pop(common.ROLE_KEY, None)
    if what == "project":
        st.session_state.pop(common.PROJECT_KEY, None)
        st.session_state["app_closed"] = True
