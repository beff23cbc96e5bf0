"""Codebook: browse facets and codes; add, rename, merge and move codes; import and export."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from app_pages import common, markup
from qual_nlp import access as rules
from qual_nlp.project import Project
from qual_nlp.records import Code, Codebook

TOP = "(top level)"


def _edit(action: Callable[[], Any], done: str) -> None:
    """Run a codebook edit; show its result (or the library's error) after the rerun."""
    try:
        result = action()
    except Exception as exc:
        st.session_state["codebook_msg"] = ("error", str(exc))
        return
    extra = f" ({result} codings moved)" if isinstance(result, int) and result else ""
    st.session_state["codebook_msg"] = ("success", done + extra)


def _add(proj: Project, codebook: Codebook, labels: dict[str, str]) -> None:
    facets = common.facet_names(codebook)
    with st.form("codebook_add", border=False):
        a, b = st.columns(2)
        facet = a.selectbox(
            "Facet", list(facets), format_func=facets.__getitem__, key="codebook_add_facet"
        )
        parent = b.selectbox(
            "Parent",
            [TOP, *labels],
            format_func=lambda p: labels.get(p, p),
            help="Must be a code of the same facet",
            key="codebook_add_parent",
        )
        a, b, c = st.columns([2, 2, 1])
        code_id = a.text_input(
            "Id (letters, digits, _)", placeholder="waiting_times", key="codebook_add_id"
        )
        name = b.text_input("Name", placeholder="Waiting times", key="codebook_add_name")
        color = c.color_picker("Colour", "#6C7A89", key="codebook_add_color")
        definition = st.text_area("Definition", height=68, key="codebook_add_definition")
        a, b = st.columns(2)
        inclusion = a.text_area("Include when", height=68, key="codebook_add_inclusion")
        exclusion = b.text_area("Exclude when", height=68, key="codebook_add_exclusion")
        examples = st.text_area("Examples (one per line)", height=68, key="codebook_add_examples")
        if st.form_submit_button("Add code", type="primary", key="codebook_add_go"):
            parent_id = None if parent == TOP else parent.split("/", 1)[1]
            code = Code(
                id=code_id.strip(),
                facet=facet,
                name=name.strip() or code_id.strip(),
                parent=parent_id,
                definition=definition.strip(),
                inclusion=inclusion.strip(),
                exclusion=exclusion.strip(),
                examples=tuple(e.strip() for e in examples.splitlines() if e.strip()),
                color=color.upper(),
            )
            _edit(lambda: proj.add_code(code, actor=common.coder()), f"Added {code.path}.")
            st.rerun()


def _rename(proj: Project, labels: dict[str, str]) -> None:
    with st.form("codebook_rename", border=False):
        path = st.selectbox(
            "Code", list(labels), format_func=labels.__getitem__, key="codebook_rename_code"
        )
        name = st.text_input("New name", key="codebook_rename_name")
        go = st.form_submit_button("Rename", type="primary", key="codebook_rename_go")
        if go and name.strip():
            _edit(
                lambda: proj.rename_code(path, name.strip(), actor=common.coder()),
                f"Renamed {path} to {name.strip()}.",
            )
            st.rerun()


def _merge(proj: Project, labels: dict[str, str]) -> None:
    with st.form("codebook_merge", border=False):
        sources = st.multiselect(
            "Merge these codes",
            list(labels),
            format_func=labels.__getitem__,
            key="codebook_merge_sources",
        )
        target = st.selectbox(
            "into", list(labels), format_func=labels.__getitem__, key="codebook_merge_target"
        )
        st.caption("Their codings move to the target; the merged codes leave the codebook.")
        go = st.form_submit_button("Merge", type="primary", key="codebook_merge_go")
        if go and sources:
            chosen = [s for s in sources if s != target]
            _edit(
                lambda: proj.merge_codes(chosen, target, actor=common.coder()),
                f"Merged {len(chosen)} code(s) into {target}.",
            )
            st.rerun()


def _move(proj: Project, labels: dict[str, str]) -> None:
    with st.form("codebook_move", border=False):
        path = st.selectbox(
            "Code", list(labels), format_func=labels.__getitem__, key="codebook_move_code"
        )
        parent = st.selectbox(
            "New parent",
            [TOP, *labels],
            format_func=lambda p: labels.get(p, p),
            key="codebook_move_parent",
        )
        if st.form_submit_button("Move", type="primary", key="codebook_move_go"):
            new_parent = None if parent == TOP else parent
            _edit(
                lambda: proj.move_code(path, new_parent, actor=common.coder()),
                f"Moved {path} under {parent}.",
            )
            st.rerun()


def _qdc_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "codebook.qdc"
        common.project().analysis.export("qdc", out)
        return out.read_bytes()


def _taguette_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return common.project().taguette_codebook(Path(folder) / "codebook.csv").read_bytes()


def _exchange(proj: Project, codebook: Codebook) -> None:
    a, b, c = st.columns(3)
    a.download_button(
        "Download YAML",
        data=proj.codebook_yaml(),
        file_name=f"{codebook.name}.yaml",
        mime="application/x-yaml",
        key="codebook_yaml",
        on_click="ignore",
    )
    b.download_button(
        "Download REFI-QDA codebook (.qdc)",
        data=_qdc_bytes,
        file_name=f"{codebook.name}.qdc",
        mime="application/xml",
        key="codebook_qdc",
        on_click="ignore",
    )
    c.download_button(
        "Download for Taguette (.csv)",
        data=_taguette_bytes,
        file_name=f"{codebook.name}-taguette.csv",
        mime="text/csv",
        key="codebook_taguette",
        on_click="ignore",
    )
    upload = st.file_uploader(
        "Replace with a codebook file (.yaml, .yml, .qdc, or Taguette's codebook .csv)",
        type=["yaml", "yml", "qdc", "csv"],
        key="codebook_upload",
        help="Codes are matched by path: codings of codes kept keep their codes; codes "
        "missing from the new file are kept inactive, so no coding is lost.",
    )
    if upload is not None and st.button("Use this codebook", key="codebook_use", type="primary"):
        path = common.save_upload(upload)
        _edit(
            lambda: proj.set_codebook(path, actor=common.coder()).name,
            f"Codebook replaced by {upload.name}.",
        )
        st.rerun()


def render() -> None:
    """The Codebook page."""
    st.header("Codebook", anchor=False)
    proj, codebook = common.project_codebook()
    if codebook is None:
        return
    common.flash("codebook_msg")
    labels = common.code_labels(codebook)
    tree, edits = st.columns([3, 2], gap="large")
    with tree:
        st.caption(
            f"**{markup.md(codebook.name)}** (version {markup.md(codebook.version)}) · "
            f"{len(codebook.facets)} facets · {len(codebook.codes)} codes"
        )
        match = st.text_input(
            "Find a code", key="codebook_find", placeholder="name, id, definition or example"
        )
        st.html(markup.codebook_html(codebook, match=match))
    if not proj.access.may(rules.EDIT_CODEBOOK):  # reading only; a lead edits
        return
    with edits:
        add, rename, merge, move, files = st.tabs(["Add", "Rename", "Merge", "Move", "Files"])
        with add:
            _add(proj, codebook, labels)
        with rename:
            _rename(proj, labels)
        with merge:
            _merge(proj, labels)
        with move:
            _move(proj, labels)
        with files:
            _exchange(proj, codebook)
