"""qual_nlp in the browser: import, review suggestions, read documents, edit the codebook,
build cross-case matrices and measure agreement.

    streamlit run streamlit_app.py -- study.qnlp      # or: qual-nlp app study.qnlp
    QUAL_NLP_PROJECT=study.qnlp streamlit run streamlit_app.py

Without a project the app opens on a picker. This file only sets up the
session (project, coder) and routes to the pages in ``app_pages/``.
"""

from __future__ import annotations

import os
import sys

import streamlit as st

from app_pages import (
    agreement_page,
    auth,
    codebook_page,
    common,
    deid_page,
    documents_page,
    import_page,
    markup,
    matrices_page,
    memos_page,
    partner_page,
    review_page,
    start,
)
from qual_nlp.errors import QualNLPError

st.set_page_config(page_title="qual_nlp", page_icon=":material/forum:", layout="wide")

# ---- the project: session state, else the command line / environment (once)
if common.PROJECT_KEY not in st.session_state and not st.session_state.get("app_closed"):
    given = common.location_from(sys.argv, os.environ)
    if given:
        st.session_state[common.PROJECT_KEY] = given

if common.PROJECT_KEY in st.session_state:
    try:
        common.project()
    except QualNLPError as exc:
        st.session_state["start_error"] = str(exc)
        st.session_state.pop(common.PROJECT_KEY)

if common.PROJECT_KEY not in st.session_state:
    st.navigation([st.Page(start.choose_project, title="Open a project", url_path="open")]).run()
    st.stop()

# ---- accounts: sign in (a project with users), or solo mode on 127.0.0.1 only
auth.gate(common.load_project(str(st.session_state[common.PROJECT_KEY])))

# ---- the coder
if common.CODER_KEY not in st.session_state:
    st.navigation([st.Page(start.choose_coder, title="Who is coding?", url_path="coder")]).run()
    st.stop()

start.sidebar(common.project().counts())
st.html(markup.STYLE)

pages = {
    "Code": [
        st.Page(
            review_page.render,
            title="Review queue",
            icon=":material/fact_check:",
            url_path="review",
            default=True,
        ),
        st.Page(
            documents_page.render,
            title="Documents",
            icon=":material/description:",
            url_path="documents",
        ),
        st.Page(
            import_page.render, title="Import", icon=":material/upload_file:", url_path="import"
        ),
    ],
    "Analyse": [
        st.Page(
            matrices_page.render, title="Matrices", icon=":material/grid_on:", url_path="matrices"
        ),
        st.Page(
            agreement_page.render, title="Agreement", icon=":material/groups:", url_path="agreement"
        ),
        st.Page(
            memos_page.render, title="Memos", icon=":material/sticky_note_2:", url_path="memos"
        ),
        st.Page(
            codebook_page.render,
            title="Codebook",
            icon=":material/account_tree:",
            url_path="codebook",
        ),
    ],
    "Share": [
        st.Page(deid_page.render, title="De-identify", icon=":material/shield:", url_path="deid"),
    ],
}
if auth.signed_in():  # only the pages the signed-in user's role may open
    pages = {
        section: [p for p in group if auth.visible_page(common.project(), p)]
        for section, group in pages.items()
    }
    if auth.visible(common.project(), "my-segments"):
        pages["Code"].insert(
            0,
            st.Page(
                partner_page.render,
                title="My segments",
                icon=":material/edit_note:",
                url_path="my-segments",
            ),
        )
    pages = {section: group for section, group in pages.items() if group}
st.navigation(pages).run()
