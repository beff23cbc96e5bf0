"""The routes of ``/api/v1``: each a thin translation over the facade.

:data:`RULES` is the one table of what each route needs: the actions of
:mod:`qual_nlp.access` the signed-in user must be allowed (all of them), checked for the
user by the facade before the route runs (the facade checks again inside, and applies
blind assignments, assigned-only segments and de-identification itself). A route missing
from the table is refused, and a test fails on it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from qual_nlp import access as rules
from qual_nlp.api.app import API_PREFIX, bearer_token
from qual_nlp.errors import AccessDeniedError, ImportFileError, RecordNotFoundError
from qual_nlp.project.jobs import plain

#: the routes, as :func:`install` adds them to an application
ROUTES: list[tuple[str, str, Any, dict[str, Any]]] = []

#: the sign-in route needs no token
PUBLIC = ("public",)
#: (method, path under /api/v1) -> the actions the user must be allowed; () = signed in
RULES: dict[tuple[str, str], tuple[str, ...]] = {}

# documents the bearer scheme in the OpenAPI document (the gate checks the token)
bearer = OAuth2PasswordBearer(tokenUrl="auth/token", auto_error=False)


def route(method: str, path: str, *actions: str, **options: Any) -> Callable[[Any], Any]:
    """Register a route and, in :data:`RULES`, what it needs."""

    def register(func: Any) -> Any:
        RULES[(method, path)] = actions
        # every route but sign-in documents the token's scheme (GatedRoute checks it)
        deps = [] if actions == PUBLIC else [Depends(bearer)]
        ROUTES.append((method, path, func, {"dependencies": deps, **options}))
        return func

    return register


def install(app: Any, prefix: str) -> None:
    """Add every route to ``app`` under ``prefix`` (/api/v1)."""
    for method, path, func, options in ROUTES:
        app.router.add_api_route(
            prefix + path, func, methods=[method], route_class_override=GatedRoute, **options
        )


def admit(request: Request, needs: tuple[str, ...] | None) -> Any:
    """The project acting as the bearer token's user, once the route's rule (``needs``,
    from :data:`RULES`) allows them; :class:`SignInError` for a bad token."""
    if needs is None or needs == PUBLIC:
        raise AccessDeniedError(
            f"Refused: {request.method} {request.url.path} has no access rule; nobody may use it."
        )
    app = request.app
    token = bearer_token(request.scope) or ""
    project = app.state.project.for_request(app.state.project.access.actor_for_token(token))
    project.access.require_active()
    for action in needs:
        project.access.require(action)
    return project


class GatedRoute(APIRoute):
    """A route that checks the token and its rule before it reads the request's body.

    Token, account and rule are checked in one worker thread (they read the database),
    before FastAPI reads and validates the body: a bad token answers 401 and a refused
    user 403 whatever they sent, and an upload is not read for them. The route's
    ``project`` parameter (:data:`Acting`) is the project acting as that user.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        method = next(iter(self.methods or ()), "")
        needs = RULES.get((method, self.path.removeprefix(API_PREFIX)))
        if needs == PUBLIC:
            return handler

        async def gated(request: Request) -> Response:
            request.state.project = await run_in_threadpool(admit, request, needs)
            return await handler(request)

        return gated


async def acting(request: Request) -> Any:
    """The project :class:`GatedRoute` admitted for this request (no thread of its own)."""
    return request.state.project


Acting = Annotated[Any, Depends(acting)]


# ------------------------------------------------------------------ sign-in
@route("POST", "/auth/token", *PUBLIC, tags=["auth"])
def sign_in(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> dict[str, Any]:
    """Sign in with a project account (the OAuth2 password flow) for a bearer token."""
    issued = request.app.state.project.access.issue_token(form.username, form.password)
    return {"access_token": issued.token, "token_type": "bearer", "expires_at": issued.expires_at}


@route("DELETE", "/auth/token", tags=["auth"])
def sign_out(request: Request, project: Acting) -> dict[str, Any]:
    """Revoke the token this request carries (sign out)."""
    token = bearer_token(request.scope) or ""
    return {"revoked": project.access.revoke_tokens(project.actor.name, token=token)}


@route("GET", "/me", tags=["auth"])
def me(project: Acting) -> dict[str, Any]:
    """Who the token stands for, and what they may do now."""
    return {
        "name": project.actor.name,
        "role": project.actor.role,
        "may": {action: project.access.may(action) for action in rules.ACTIONS},
        "blind": project.access.blind(),
    }


# ---------------------------------------------------------------- documents
@route("GET", "/documents", tags=["documents"])
def documents(project: Acting) -> dict[str, Any]:
    """Every document (without its text; a patient partner: theirs only)."""
    return {"documents": [_document(d) for d in project.documents()]}


@route("GET", "/documents/{name}", rules.READ_DOCUMENTS, tags=["documents"])
def document(name: str, project: Acting) -> dict[str, Any]:
    """One document with its text (pseudonymised for whom de-identification covers)."""
    found = project.document(name)
    return _document(found) | {"text": found.text}


@route("POST", "/documents", rules.IMPORT, status_code=201, tags=["documents"])
def upload(
    request: Request,
    project: Acting,
    file: Annotated[UploadFile, File(description="the transcript or field notes")],
    case: Annotated[str | None, Form()] = None,
    source_type: Annotated[str | None, Form()] = None,
) -> Any:
    """Import one file (multipart field ``file``) with the command line's importers and
    limits; a file that cannot be imported answers 4xx with what to fix."""
    limit = request.app.state.max_upload_bytes
    folder = Path(tempfile.mkdtemp(prefix="qual_nlp_upload_"))
    try:
        path = _save(file, folder, limit)
        outcome = project.import_files([path], case=case, source_type=source_type, max_bytes=limit)[
            0
        ]
        body = _outcome(outcome, folder)
        if outcome.status == "failed":
            return JSONResponse({"detail": body["message"], "file": body}, status_code=422)
        return JSONResponse(body, status_code=201 if outcome.status == "imported" else 200)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@route("POST", "/imports", rules.IMPORT, status_code=202, tags=["documents", "jobs"])
def import_batch(
    request: Request,
    project: Acting,
    files: Annotated[list[UploadFile], File(description="the files of the batch")],
    case: Annotated[str | None, Form()] = None,
    source_type: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    """Import a batch of files as a job; ``GET /jobs/{id}`` reports each file's outcome."""
    from qual_nlp.api.app import MAX_BATCH_FILES

    if len(files) > MAX_BATCH_FILES:
        raise ImportFileError(
            "files", f"{len(files)} files in one batch", f"Send at most {MAX_BATCH_FILES}"
        )
    limit = request.app.state.max_upload_bytes
    folder = Path(tempfile.mkdtemp(prefix="qual_nlp_upload_"))
    try:
        paths = [_save(f, folder, limit) for f in files]
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    job = project.jobs.import_files(
        paths, remove_after=folder, case=case, source_type=source_type, max_bytes=limit
    )
    return _started(job)


# ----------------------------------------------------------------- segments
@route("GET", "/segments", tags=["segments"])
def segments(
    project: Acting,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    case: str | None = None,
    document: str | None = None,
    role: str | None = None,
    source_type: str | None = None,
    code: str | None = None,
    status: Literal["suggested", "accepted", "rejected"] | None = None,
) -> dict[str, Any]:
    """A page of segments, each as ``qual-nlp segments --json`` lists it, with its codings."""
    return dict(
        project.segments_page(
            limit=limit,
            offset=offset,
            case=case,
            document=document,
            role=role,
            source_type=source_type,
            code=code,
            status=status,
        )
    )


# ------------------------------------------------------------------- review
class Decision(BaseModel):
    """A decision on one segment: codes accepted (or corrected to) and rejected."""

    segment_id: int
    accept: list[str] = Field(default_factory=list, max_length=200)
    reject: list[str] = Field(default_factory=list, max_length=200)
    memo: str = Field("", max_length=10_000)
    skipped: bool = False


class BulkAccept(BaseModel):
    """Accept every open suggestion of ``code`` scoring at least ``min_score``."""

    code: str
    min_score: float = Field(0.9, ge=0, le=1)
    preview: bool = False


@route("GET", "/review/next", rules.CODE, tags=["review"])
def review_next(
    project: Acting,
    n: Annotated[int, Query(ge=1, le=100)] = 1,
    order: Literal["uncertainty", "relevance", "document"] = "uncertainty",
    case: str | None = None,
    document: str | None = None,
    assignment: str | None = None,
) -> dict[str, Any]:
    """The next segments for me to review (ids), most useful first."""
    ids = project.review.next(
        project.actor.name, order=order, n=n, case=case, document=document, assignment=assignment
    )
    return {"segment_ids": [int(i) for i in ids]}


@route("GET", "/review/items/{segment_id}", rules.CODE, tags=["review"])
def review_item(segment_id: int, project: Acting) -> dict[str, Any]:
    """A segment with its neighbouring turns, the suggestions I may see and my decisions."""
    return dict(plain(project.review.item(segment_id, project.actor.name)))


@route("POST", "/review/decisions", rules.CODE, tags=["review"])
def decide(body: Decision, project: Acting) -> dict[str, Any]:
    """Record my decision on a segment: accept, correct (accept other codes), reject, skip."""
    done = project.review.decide(
        body.segment_id,
        project.actor.name,
        accept=body.accept,
        reject=body.reject,
        memo=body.memo,
        skipped=body.skipped,
    )
    return {"segment_id": body.segment_id, "coder": project.actor.name, **done}


@route("POST", "/review/bulk-accept", rules.CODE, rules.SEE_SUGGESTIONS, tags=["review"])
def bulk_accept(body: BulkAccept, project: Acting) -> dict[str, Any]:
    """Accept every open suggestion of a code above a score, each linked to its suggestion
    (``preview``: list them, write nothing)."""
    _known_code(project, body.code)
    chosen = project.review.bulk_accept(
        body.code, project.actor.name, min_score=body.min_score, preview=body.preview
    )
    return {"preview": body.preview, "accepted": 0 if body.preview else len(chosen)} | {
        "segments": _records(chosen)
    }


# ----------------------------------------------------------------- codebook
class NewCode(BaseModel):
    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    facet: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=300)
    definition: str = Field("", max_length=10_000)
    parent: str | None = None


class Rename(BaseModel):
    name: str = Field(min_length=1, max_length=300)


@route("GET", "/codebook", tags=["codebook"])
def codebook(project: Acting) -> dict[str, Any]:
    """The codebook: facets and codes with their definitions."""
    return dict(plain(project.codebook()))


@route("POST", "/codebook/codes", rules.EDIT_CODEBOOK, status_code=201, tags=["codebook"])
def add_code(body: NewCode, project: Acting) -> dict[str, Any]:
    """Add a code (a lead)."""
    from qual_nlp.records import Code

    code = Code(body.id, body.facet, body.name, definition=body.definition, parent=body.parent)
    added = project.add_code(code)
    return dict(plain(next(c for c in added.codes if c.path == code.path)))


@route("PATCH", "/codebook/codes/{path:path}", rules.EDIT_CODEBOOK, tags=["codebook"])
def rename_code(path: str, body: Rename, project: Acting) -> dict[str, Any]:
    """Rename a code (a lead); ``path`` is facet/code, e.g. valence/barrier."""
    _known_code(project, path)
    renamed = project.rename_code(path, body.name)
    return dict(plain(next(c for c in renamed.codes if c.path == path)))


# ------------------------------------------------------------------ analysis
Filters = dict[str, Any]


def _filters(
    facet: str | None = None,
    status: Annotated[
        str | None, Query(description="statuses kept, comma-separated, or 'all'")
    ] = None,
    source_type: str | None = None,
    role: str | None = None,
    coder: str | None = None,
) -> Filters:
    out: Filters = {}
    if facet:
        out["facet"] = facet
    if status:
        out["statuses"] = None if status == "all" else _split(status)
    if source_type:
        out["source_types"] = _split(source_type)
    if role:
        out["roles"] = _split(role)
    if coder:
        out["coders"] = _split(coder)
    return out


Format = Literal["json", "xlsx", "csv"]


@route("GET", "/matrix", rules.SEE_MATRICES, tags=["analysis"])
def matrix(
    project: Acting,
    filters: Annotated[Filters, Depends(_filters)],
    rows: Literal["code"] = "code",
    cols: Annotated[str, Query(max_length=100)] = "case",
    value: Literal[
        "count", "participants", "participants_pct", "documents", "documents_pct", "quotes"
    ] = "count",
    format: Format = "json",
) -> Any:
    """The theme × case (or × attribute) matrix, as JSON or as an XLSX/CSV file."""
    from qual_nlp.analysis.workbook import labelled_matrix

    frame = project.analysis.matrix(rows=rows, cols=cols, value=value, **filters)
    cb = project.codebook()
    if format != "json":
        return _file({"Matrix": labelled_matrix(frame, cb)}, format, f"matrix_{rows}_{cols}")
    names = {c.path: c.name for c in cb.codes}
    return {
        "rows": rows,
        "cols": cols,
        "value": value,
        "index": [str(i) for i in frame.index],
        "names": [names.get(str(i), str(i)) for i in frame.index],
        "columns": [str(c) for c in frame.columns],
        "data": plain(frame.astype(object).where(frame.notna(), None).values.tolist()),
    }


@route("GET", "/cmo", rules.SEE_MATRICES, tags=["analysis"])
def cmo(
    project: Acting,
    window: Annotated[int, Query(ge=0, le=20)] = 1,
    within: Literal["window", "turn", "segment"] = "window",
    format: Format = "json",
) -> Any:
    """Candidate context–mechanism–outcome configurations with their quotes."""
    frame = project.analysis.cmo_chains(window=window, within=within)
    if format != "json":
        return _file({"CMO": frame}, format, "cmo")
    return {"rows": _records(frame)}


@route("GET", "/agreement", rules.SEE_AGREEMENT, tags=["analysis"])
def agreement(
    project: Acting,
    by: Literal[
        "code", "facet", "case", "pair", "overall", "case+code", "pair+code", "pair+facet"
    ] = "code",
    coders: str | None = None,
    model: bool = False,
) -> dict[str, Any]:
    """Inter-coder agreement (percent, Cohen's and Fleiss' κ, Krippendorff's α)."""
    wanted = _split(coders) if coders else None
    if model:
        frame = project.agreement.model_report(against=wanted, by=by)
    else:
        frame = project.agreement.report(coders=wanted, by=by)
    return {"by": by, "rows": _records(frame)}


# --------------------------------------------------------------- model, jobs
class SuggestRequest(BaseModel):
    facet: str | None = None


class ExportRequest(BaseModel):
    format: Literal["qdpx", "qdc", "xlsx", "csv", "taguette"]
    deidentified: bool = False


@route("POST", "/suggest", rules.RUN_MODEL, status_code=202, tags=["jobs"])
def suggest(project: Acting, body: SuggestRequest | None = None) -> dict[str, Any]:
    """Suggest codes for every segment, as a job."""
    facet = body.facet if body else None
    if facet is not None:
        _known_facet(project, facet)
    return _started(project.jobs.suggest(facet))


@route("POST", "/train", rules.RUN_MODEL, status_code=202, tags=["jobs"])
def train(project: Acting) -> dict[str, Any]:
    """Train on the reviewed segments, then re-suggest, as a job."""
    return _started(project.jobs.train())


class FineTuneRequest(BaseModel):
    facet: str
    minutes: float = Field(5.0, gt=0, le=240, description="time cap of the whole run")
    folds: int = Field(3, ge=2, le=10, description="folds of the comparison")
    epochs: int = Field(1, ge=1, le=50, description="passes over the pairs in each run")


class CurveRequest(BaseModel):
    facet: str
    seeds: int = Field(3, ge=1, le=10, description="random orders averaged")


@route("POST", "/finetune", rules.RUN_MODEL, status_code=202, tags=["jobs"])
def fine_tune(body: FineTuneRequest, project: Acting) -> dict[str, Any]:
    """Fine-tune the encoder on a facet's reviewed segments, as a job; the tuned encoder
    is used only where its cross-validated kappa beats the frozen one's (the job's result
    says which, and ``GET /model`` lists each facet's)."""
    _known_facet(project, body.facet)
    return _started(
        project.jobs.fine_tune(
            body.facet, minutes=body.minutes, folds=body.folds, epochs=body.epochs
        )
    )


@route(
    "POST",
    "/learning-curve",
    rules.RUN_MODEL,
    rules.SEE_SUGGESTIONS,
    status_code=202,
    tags=["jobs"],
)
def learning_curve(body: CurveRequest, project: Acting) -> dict[str, Any]:
    """Measure a facet's learning curve (the queue's order against random order) on the
    project's own reviews, as a job; its result is the curve."""
    _known_facet(project, body.facet)
    return _started(project.jobs.learning_curve(body.facet, seeds=body.seeds))


@route("GET", "/model", rules.SEE_SUGGESTIONS, tags=["model"])
def model(project: Acting) -> dict[str, Any]:
    """The model's versions with their cross-validated scores, the encoder, and each
    facet's fine-tuned encoder (whether it is used, its kappa against the frozen one's)."""
    encoder, backend = project.model.encoder()
    history = project.model.history()
    return {
        "encoder": encoder,
        "backend": backend,
        "versions": _records(history),
        "tuned_encoders": project.model.tuned_encoders(),
    }


def _known_facet(project: Any, facet: str) -> None:
    facets = sorted(f.id for f in project.codebook().facets)
    if facet not in facets:
        raise RecordNotFoundError(
            f"facet {facet!r} is not in the codebook ({', '.join(facets)}). "
            "GET /api/v1/codebook lists the facets."
        )


EXPORT_SUFFIX = {"qdpx": ".qdpx", "qdc": ".qdc", "xlsx": ".xlsx", "csv": ".zip", "taguette": ".csv"}


@route("POST", "/exports", rules.EXPORT, status_code=202, tags=["jobs"])
def export(request: Request, body: ExportRequest, project: Acting) -> dict[str, Any]:
    """Export the project as a job; its file is then at ``GET /exports/{job_id}``."""
    folder = _exports(request)
    name = f"export-{os.urandom(8).hex()}{EXPORT_SUFFIX[body.format]}"
    options = {"deidentified": True} if body.deidentified else {}
    job = project.jobs.export(body.format, folder / name, **options)
    (folder / f"{job}.name").write_text(name, encoding="utf-8")
    return _started(job) | {"download": f"/api/v1/exports/{job}"}


@route("GET", "/exports/{job_id}", rules.EXPORT, tags=["jobs"])
def download(job_id: int, request: Request, project: Acting) -> Any:
    """The file an export job wrote (once the job is done)."""
    job = project.jobs.get(job_id)
    pointer = _exports(request) / f"{job_id}.name"
    if job.kind != "export" or not pointer.exists():
        raise RecordNotFoundError(
            f"job {job_id} is not an export of this server. Start one with POST /api/v1/exports."
        )
    if job.state != "done":
        detail = job.error if job.state == "failed" else f"the export is {job.state}"
        return JSONResponse(
            {"detail": f"{detail}. Poll GET /api/v1/jobs/{job_id} until it is done."},
            status_code=409,
        )
    path = _exports(request) / pointer.read_text(encoding="utf-8")
    fmt = str(job.result.get("format", "")) if isinstance(job.result, dict) else ""
    return FileResponse(path, filename=f"project{EXPORT_SUFFIX.get(fmt, path.suffix)}")


@route("GET", "/jobs", tags=["jobs"])
def jobs(project: Acting, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> dict[str, Any]:
    """My newest jobs."""
    return {"jobs": [plain(j) for j in project.jobs.mine(limit)]}


@route("GET", "/jobs/{job_id}", tags=["jobs"])
def job(job_id: int, project: Acting) -> dict[str, Any]:
    """A job's state (queued, running, done, failed), progress (done of total) and its
    result or error (one's own jobs; a lead sees every job)."""
    return dict(plain(project.jobs.get(job_id)))


# ------------------------------------------------------------------ helpers
def _started(job_id: int) -> dict[str, Any]:
    return {"job_id": job_id, "state": "queued", "poll": f"/api/v1/jobs/{job_id}"}


def _exports(request: Request) -> Path:
    folder = request.app.state.exports
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="qual_nlp_exports_"))
        request.app.state.exports = folder
    return Path(folder)


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _known_code(project: Any, path: str) -> None:
    if path not in {c.path for c in project.codebook().codes}:
        raise RecordNotFoundError(
            f"code {path!r} is not in the codebook. Use a code path such as "
            "'valence/barrier' (GET /api/v1/codebook lists them)."
        )


def _document(doc: Any) -> dict[str, Any]:
    data = plain(doc)
    data.pop("text", None)
    return dict(data)


def _records(frame: Any) -> list[dict[str, Any]]:
    import json

    return list(json.loads(frame.to_json(orient="records", date_format="iso")))


def safe_name(name: str | None) -> str:
    """The uploaded file's name when it is a plain file name; refused otherwise."""
    raw = name or ""
    if (
        not raw.strip()
        or raw in (".", "..")
        or raw.startswith(".")
        or any(ch in raw for ch in "/\\\x00:")
        or len(raw) > 200
    ):
        raise ImportFileError(
            repr(raw),
            "the uploaded file's name is not a plain file name (no folders, no '..', no "
            "leading dot, at most 200 characters)",
            "Rename the file, e.g. C01_interview_P07.txt, and send it again",
        )
    return raw


def _save(upload: UploadFile, folder: Path, limit: int) -> Path:
    """Copy an upload into ``folder`` under its checked name, refusing it past ``limit``."""
    name = safe_name(upload.filename)
    path = folder / name
    if path.exists():
        raise ImportFileError(
            name, "two files of this batch have the same name", "Rename one of them"
        )
    size = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise ImportFileError(
                    name,
                    f"the file is larger than the limit of {limit / 1e6:g} MB",
                    "Split it, or ask whoever runs the server to raise --max-mb",
                )
            out.write(chunk)
    return path


def _outcome(outcome: Any, folder: Path) -> dict[str, Any]:
    """An import outcome without the server's temporary folder in its paths and messages."""
    data = dict(plain(outcome))
    for key in ("path", "message"):
        if isinstance(data.get(key), str):
            data[key] = data[key].replace(f"{folder}{os.sep}", "").replace(str(folder), "")
    data["warnings"] = [w.replace(f"{folder}{os.sep}", "") for w in data.get("warnings", [])]
    return data


def _file(sheets: dict[str, Any], fmt: str, stem: str) -> Response:
    """Sheets as an XLSX workbook (or the first as a CSV), formulas guarded."""
    from qual_nlp.analysis.workbook import write_csv, write_xlsx

    with tempfile.TemporaryDirectory(prefix="qual_nlp_sheet_") as folder:
        path = Path(folder) / f"{stem}.{fmt}"
        if fmt == "xlsx":
            write_xlsx(path, sheets)
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            write_csv(path, next(iter(sheets.values())))
            media = "text/csv; charset=utf-8"
        content = path.read_bytes()
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )
