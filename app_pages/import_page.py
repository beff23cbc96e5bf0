"""Import: upload transcripts (or name a folder), with optional metadata; one outcome per file."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app_pages import common, jobs
from qual_nlp.ingest.batch import SOURCE_TYPES
from qual_nlp.records import ImportOutcome

SUFFIXES = ["txt", "md", "docx", "vtt", "srt", "qdpx"]
AUTO = "(from the file or the metadata)"


def short(outcome: ImportOutcome, text: str) -> str:
    """A message without the file's folder (uploads live in a temporary folder).

    >>> short(ImportOutcome("/tmp/up/a.txt", "failed"), "/tmp/up/a.txt: empty file")
    'a.txt: empty file'
    """
    folder = str(Path(outcome.path).parent)
    return text.replace(folder + os.sep, "") if folder not in ("", ".") else text


def outcomes_frame(outcomes: list[ImportOutcome]) -> pd.DataFrame:
    """One row per file, for display."""
    rows = [
        {
            "file": Path(o.path).name,
            "status": o.status,
            "document": o.document,
            "segments": o.segments,
            "message": short(o, o.message),
            "warnings": "; ".join(short(o, w) for w in o.warnings),
        }
        for o in outcomes
    ]
    return pd.DataFrame(
        rows, columns=["file", "status", "document", "segments", "message", "warnings"]
    )


def _run(paths: list[Path], options: dict[str, Any]) -> None:
    """Import as a job (the one the HTTP API runs), its progress drawn as it goes."""
    proj = common.project()
    try:
        job_id = proj.jobs.import_files(paths, actor=common.coder(), **options)
        files = jobs.follow(proj, job_id, "Importing", "files").result["files"]
        outcomes = [ImportOutcome(**(f | {"warnings": tuple(f["warnings"])})) for f in files]
    except Exception as exc:  # a bad metadata file or option stops the whole batch
        st.session_state["import_error"] = str(exc)
        return
    st.session_state.pop("import_error", None)
    st.session_state["import_last"] = outcomes
    common.data_changed()


def _show(outcomes: list[ImportOutcome]) -> None:
    counts = Counter(o.status for o in outcomes)
    segments = sum(o.segments for o in outcomes)
    a, b, c, d = st.columns(4)
    a.metric("Imported", counts.get("imported", 0))
    b.metric("Unchanged", counts.get("unchanged", 0))
    c.metric("Failed", counts.get("failed", 0))
    d.metric("New segments", segments)
    for o in outcomes:
        if o.status == "failed":
            st.error(short(o, o.message), icon=":material/error:")
    for o in outcomes:
        for warning in o.warnings:
            st.warning(short(o, warning), icon=":material/warning:")
    st.dataframe(outcomes_frame(outcomes), hide_index=True, key="import_table")
    if counts.get("imported"):
        st.info(
            "Next: on the Review queue page, open *Model* and press **Suggest codes** "
            "(or run `qual-nlp suggest PROJECT`), then review.",
            icon=":material/arrow_forward:",
        )


def render() -> None:
    """The Import page."""
    st.header("Import", anchor=False)
    st.caption(
        "Transcripts and field notes: .txt .md .docx .vtt .srt, or a REFI-QDA project (.qdpx). "
        "Speaker turns and timestamps are detected; a file that fails is reported and the "
        "rest of the batch goes on. Re-importing the same content changes nothing."
    )
    source = st.segmented_control(
        "From",
        ["Upload files", "A folder on this computer"],
        default="Upload files",
        key="import_source",
    )
    uploads: list[Any] = []
    folder = ""
    if source == "A folder on this computer":
        folder = st.text_input(
            "Folder (or file) path", key="import_folder", placeholder="/data/study/transcripts"
        )
    else:
        uploads = list(
            st.file_uploader("Files", type=SUFFIXES, accept_multiple_files=True, key="import_files")
            or []
        )
    left, mid, right = st.columns(3)
    case = left.text_input("Case (for every file)", key="import_case", placeholder="e.g. C03")
    source_type = mid.selectbox("Source type", [AUTO, *SOURCE_TYPES], key="import_source_type")
    meta = right.file_uploader(
        "Metadata CSV (optional)",
        type=["csv"],
        key="import_meta",
        help="Columns: file, case, source_type, then attributes (province, rurality, …); "
        "participant_roles maps speakers to roles, e.g. INT=interviewer;P07=patient; a role "
        "alone (nurse case manager) goes to every speaker who is not an interviewer",
    )
    ready = bool(uploads) or bool(folder.strip())
    if st.button("Import", key="import_go", type="primary", disabled=not ready):
        st.session_state.pop("import_error", None)
        options: dict[str, Any] = {
            "case": case.strip() or None,
            "source_type": None if source_type == AUTO else source_type,
            "meta": common.save_upload(meta) if meta is not None else None,
        }
        if uploads:
            paths = common.save_uploads(uploads, common.upload_folder())
        else:
            path = Path(folder.strip()).expanduser()
            if not path.exists():
                st.session_state["import_error"] = f"{path}: no such file or folder."
                paths = []
            else:
                paths = [path]
        if paths:
            _run(paths, options)
    if st.session_state.get("import_error"):
        st.error(st.session_state["import_error"])
    last = st.session_state.get("import_last")
    if last:
        _show(last)
    elif not ready:
        common.empty_state("Choose files (or a folder), then press Import.")
