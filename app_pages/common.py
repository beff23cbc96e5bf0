"""What every page shares: the open project, the current coder, code labels, uploads, errors.

Session keys set by the entrypoint (``streamlit_app.py``):

* ``app_project`` — the project location (file path or database URL);
* ``app_coder`` / ``app_coder_role`` — who is coding.

Pages keep their own state under keys prefixed with the page name
(``review_…``, ``docs_…``, ``codebook_…``, ``matrix_…``, ``agree_…``, ``import_…``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from qual_nlp.errors import QualNLPError
from qual_nlp.project import Project
from qual_nlp.records import Codebook

PROJECT_KEY = "app_project"
CODER_KEY = "app_coder"
ROLE_KEY = "app_coder_role"
ENV_VAR = "QUAL_NLP_PROJECT"
HUMAN_ROLES = ("analyst", "investigator", "patient partner")
NOT_HUMAN = ("model", "consensus")
APP_FILE = "streamlit_app.py"
NO_CASE = "(no case)"


# ------------------------------------------------------------------ project
def location_from(argv: Sequence[str], environ: dict[str, str] | os._Environ[str]) -> str | None:
    """The project given on the command line (``streamlit run streamlit_app.py -- PROJECT``)
    or in ``QUAL_NLP_PROJECT``; None when neither names one.

    ``argv`` counts only when it is the app's own (``argv[0]`` is this app's
    entrypoint), so a test runner's arguments are never taken for a project.

    >>> location_from(["/srv/streamlit_app.py", "study.qnlp"], {})
    'study.qnlp'
    >>> location_from(["pytest", "tests/"], {"QUAL_NLP_PROJECT": "s.qnlp"})
    's.qnlp'
    """
    if len(argv) > 1 and Path(argv[0]).name == APP_FILE and argv[1].strip():
        return argv[1].strip()
    value = environ.get(ENV_VAR, "").strip()
    return value or None


@st.cache_resource(show_spinner=False, max_entries=8)
def load_project(location: str) -> Project:
    """The project at ``location``, opened once per server and shared by every session.

    Pages change it only through its methods.
    """
    return Project.open(location)


def project() -> Project:
    """The current session's project (the entrypoint has opened it), acting as the
    signed-in user when the project has accounts."""
    shared = load_project(str(st.session_state[PROJECT_KEY]))
    actor = st.session_state.get("auth_actor")
    return shared if actor is None else shared.as_user(actor)


def coder() -> str:
    """Name of the coder using this session."""
    return str(st.session_state[CODER_KEY])


def case_label(value: Any) -> str:
    """A case name to show: the name, or "(no case)" when the document has none (never
    ``nan`` or ``None``).

    >>> case_label("C03"), case_label(None), case_label(float("nan"))
    ('C03', '(no case)', '(no case)')
    """
    try:
        missing = value is None or bool(pd.isna(value)) or not str(value).strip()
    except (TypeError, ValueError):
        missing = False
    return NO_CASE if missing else str(value)


def human_coders(proj: Project) -> list[str]:
    """Names of the people who code (not models, not the consensus record)."""
    return [c.name for c in proj.coders() if c.role not in NOT_HUMAN]


@st.cache_data(show_spinner=False, ttl=120, max_entries=16)
def document_index(location: str, user: str = "", role: str = "") -> pd.DataFrame:
    """Document name, case and source type (no text), for pickers; those the signed-in
    ``user`` may see, in a project with accounts.

    Cached for two minutes; :func:`data_changed` clears it after an import.
    """
    from qual_nlp.records import Actor

    opened = load_project(location)
    if user:
        opened = opened.as_user(Actor(user, role))
    rows = [
        {"document": d.name, "case": d.case, "source_type": d.source_type, "chars": len(d.text)}
        for d in opened.documents()
    ]
    return pd.DataFrame(rows, columns=["document", "case", "source_type", "chars"])


def documents() -> pd.DataFrame:
    actor = st.session_state.get("auth_actor")
    if actor is None:
        return document_index(str(st.session_state[PROJECT_KEY]))
    return document_index(str(st.session_state[PROJECT_KEY]), actor.name, actor.role)


def data_changed() -> None:
    """Forget cached listings after documents or cases changed."""
    document_index.clear()


# -------------------------------------------------------------------- codes
def code_labels(codebook: Codebook) -> dict[str, str]:
    """Code path → "Facet › Parent › Name", in codebook order.

    >>> from qual_nlp.records import Code, Codebook, Facet
    >>> cb = Codebook("x", (Facet("cmo", "CMO", False),),
    ...               (Code("context", "cmo", "Context"), Code("rules", "cmo", "Rules", "context")))
    >>> code_labels(cb)["cmo/rules"]
    'CMO › Context › Rules'
    """
    facets = {f.id: f.name for f in codebook.facets}
    by_key = {(c.facet, c.id): c for c in codebook.codes}
    labels: dict[str, str] = {}
    for code in codebook.codes:
        names = [code.name]
        parent = code.parent
        seen = {code.id}
        while parent and (code.facet, parent) in by_key and parent not in seen:
            seen.add(parent)
            up = by_key[(code.facet, parent)]
            names.append(up.name)
            parent = up.parent
        labels[code.path] = " › ".join([facets.get(code.facet, code.facet), *reversed(names)])
    return labels


def code_colors(codebook: Codebook) -> dict[str, str]:
    """Code path → its colour (a neutral grey for codes without one)."""
    return {c.path: c.color or "#8E8E8E" for c in codebook.codes}


def facet_names(codebook: Codebook) -> dict[str, str]:
    return {f.id: f.name for f in codebook.facets}


# ------------------------------------------------------------------ uploads
def upload_folder() -> Path:
    """A fresh temporary folder for this session's uploads (removed when the server stops)."""
    root = Path(tempfile.gettempdir()) / "qual_nlp_uploads"
    root.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(dir=root))


def save_uploads(files: Iterable[Any], folder: Path) -> list[Path]:
    """Write uploaded files under ``folder`` with their own base names (no sub-paths).

    Two uploads with the same name keep the first; the importer names
    documents after files, so names must be unique anyway.
    """
    saved: list[Path] = []
    for upload in files:
        name = Path(str(upload.name).replace("\\", "/")).name or "upload"
        target = folder / name
        if target.exists():
            continue
        target.write_bytes(upload.getvalue())
        saved.append(target)
    return saved


def save_upload(upload: Any) -> Path:
    """One uploaded file written to a fresh temporary folder."""
    return save_uploads([upload], upload_folder())[0]


# ------------------------------------------------------------------- errors
@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Show a library error as a message (it names the record and the fix) instead of a traceback.

    A facade method whose module is not installed yet reads as "not available".
    """
    try:
        yield
    except QualNLPError as exc:
        st.error(f"{what}: {exc}")
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("qual_nlp"):
            raise
        st.info(f"{what} is not available in this version of qual_nlp ({exc.name} is missing).")


def empty_state(message: str) -> None:
    """What to do next, when there is nothing to show."""
    st.info(message, icon=":material/info:")


def project_codebook() -> tuple[Project, Codebook | None]:
    """The open project and its codebook (``None``, with the error shown, if unreadable)."""
    proj = project()
    codebook: Codebook | None = None
    with guarded("The codebook"):
        codebook = proj.codebook()
    return proj, codebook


def flash(key: str) -> None:
    """Show (once) the message a previous run left under ``key``: ("error"|"ok", text)."""
    msg = st.session_state.pop(key, None)
    if msg:
        (st.error if msg[0] == "error" else st.success)(msg[1])


# ----------------------------------------------------------------- progress
class ProgressBar:
    """A ``progress(done, total)`` callable for the facade's long work, drawn with
    ``st.progress`` and its counts: *Importing: 37 of 100 files*.

    >>> bar = ProgressBar("Importing", "files")  # doctest: +SKIP
    >>> project.import_files(paths, progress=bar)  # doctest: +SKIP
    """

    def __init__(self, what: str, unit: str = "") -> None:
        self.what, self.unit = what, unit
        self.bar = st.progress(0.0, text=f"{what}…")

    def __call__(self, done: int, total: int) -> None:
        share = min(done / total, 1.0) if total else 1.0
        counts = f"{done:,} of {total:,}" + (f" {self.unit}" if self.unit else "")
        self.bar.progress(share, text=f"{self.what}: {counts}")
