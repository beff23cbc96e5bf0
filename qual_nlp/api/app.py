"""The FastAPI application: the bearer-token gate, the error answers, the routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qual_nlp import errors

API_PREFIX = "/api/v1"
TOKEN_PATH = f"{API_PREFIX}/auth/token"
DEFAULT_MAX_UPLOAD = 50_000_000
#: files one batch import (``POST /api/v1/imports``) may carry
MAX_BATCH_FILES = 50
#: requests worked on at once by the threads of one server process (more wait their turn on
#: the event loop; long work runs as jobs in threads of their own). The routes' work holds
#: Python's lock most of the time, so more threads add switching, not throughput: with 16
#: clients back to back, 4 threads served about 10% more decisions a second than Starlette's
#: default of 40, with a lower p95 (benchmarks/api_load.py)
REQUEST_THREADS = 4
#: the largest JSON body any other route reads
MAX_JSON_BYTES = 1_000_000

log = logging.getLogger(__name__)

NO_TOKEN = (
    "Refused: no bearer token. Sign in with POST /api/v1/auth/token (form fields "
    "username and password) and send the token as the header 'Authorization: Bearer TOKEN'."
)


def create_app(
    location: str | Path,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
    token_hours: float | None = None,
    exports: str | Path | None = None,
    request_threads: int = REQUEST_THREADS,
) -> FastAPI:
    """The API over the project at ``location`` (a file or a database URL). ``exports``:
    the folder export jobs write to (shared by the worker processes of one server; a new
    temporary folder when not given). ``request_threads``: requests worked on at once."""
    from qual_nlp.api import routes
    from qual_nlp.project import Project

    project = Project.open(location)
    if token_hours is not None:
        from qual_nlp.access import TokenPolicy

        project.access.tokens = TokenPolicy(hours=token_hours)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from anyio import to_thread

        to_thread.current_default_thread_limiter().total_tokens = request_threads
        yield
        project.close()

    app = FastAPI(
        lifespan=lifespan,
        title="qual_nlp",
        version=_version(),
        description="NLP-assisted qualitative analysis: documents, segments, the review "
        "queue, codebook, matrices, agreement and exports of one project. Sign in with "
        "POST /api/v1/auth/token for a bearer token.",
    )
    app.state.project = project
    app.state.max_upload_bytes = int(max_upload_bytes)
    app.state.exports = None if exports is None else Path(exports)
    routes.install(app, API_PREFIX)
    _error_answers(app)
    app.add_middleware(TokenGate, max_upload_bytes=int(max_upload_bytes))

    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qual_nlp")
    except PackageNotFoundError:  # pragma: no cover
        return "0"


# ------------------------------------------------------------------ the gate
class _TooLarge(Exception):
    pass


class TokenGate:
    """Every ``/api/v1/`` request but the sign-in carries a bearer token, or gets 401 before
    anything else is read (whether the token is valid, the route checks before it reads the
    body); bodies larger than the route takes get 413 unread."""

    def __init__(self, app: ASGIApp, max_upload_bytes: int) -> None:
        self.app, self.max_upload = app, max_upload_bytes

    def limit(self, path: str) -> int:
        if path == f"{API_PREFIX}/documents":
            return self.max_upload + 100_000
        if path == f"{API_PREFIX}/imports":
            return self.max_upload * MAX_BATCH_FILES + 1_000_000
        return MAX_JSON_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        signing_in = path == TOKEN_PATH and scope["method"] == "POST"
        # here only its presence: the token itself is checked with the route's rule, before
        # the body is read (routes.GatedRoute)
        if not signing_in and not bearer_token(scope):
            await _answer(scope, receive, send, 401, NO_TOKEN, bearer=True)
            return
        limit = self.limit(path)
        length = _header(scope, b"content-length")
        too_large = (
            f"the request body is larger than this route takes ({limit:,} bytes). Send a "
            "smaller file (the server's limit is set with qual-nlp serve --max-mb), or "
            "split the batch."
        )
        if length and length.isdigit() and int(length) > limit:
            await _answer(scope, receive, send, 413, too_large)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, sending)
        except _TooLarge:
            if not started:
                await _answer(scope, receive, send, 413, too_large)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def bearer_token(scope: Scope) -> str | None:
    """The request's bearer token (``Authorization: Bearer TOKEN``), or None."""
    value = _header(scope, b"authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _answer(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str, bearer: bool = False
) -> None:
    headers = {"WWW-Authenticate": "Bearer"} if bearer else None
    await JSONResponse({"detail": detail}, status_code=status, headers=headers)(
        scope, receive, send
    )


# ----------------------------------------------------------- error answers
#: the project's errors and the status each answers with (the first match wins)
STATUS: tuple[tuple[type[errors.QualNLPError], int], ...] = (
    (errors.SignInError, 401),
    (errors.AccessDeniedError, 403),
    (errors.ProjectNotFoundError, 503),
    (errors.RecordNotFoundError, 404),
    (errors.ModelError, 503),
    (errors.QualNLPError, 422),
)


def status_of(exc: errors.QualNLPError) -> int:
    return next(code for kind, code in STATUS if isinstance(exc, kind))


def _error_answers(app: FastAPI) -> None:
    @app.exception_handler(errors.QualNLPError)
    async def project_error(request: Request, exc: errors.QualNLPError) -> JSONResponse:
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_message(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":
            detail = (
                f"no route {request.method} {request.url.path}. GET /openapi.json lists "
                "every route (or open /docs)."
            )
        elif exc.status_code == 405:
            detail = (
                f"{request.method} is not allowed on {request.url.path}. GET /openapi.json "
                "lists the methods each route takes."
            )
        return JSONResponse(
            {"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(
            {
                "detail": f"the server could not answer {request.method} {request.url.path} "
                f"({type(exc).__name__}); the server log has the details. Nothing was "
                "changed by a request that failed; try again, and report it if it happens again."
            },
            status_code=500,
        )


def validation_message(problems: Any) -> str:
    """FastAPI's list of request problems as sentences that say what to fix."""
    parts = []
    for problem in problems:
        kind = str(problem.get("type", ""))
        where = [str(p) for p in problem.get("loc", ()) if p != "body" or len(problem["loc"]) == 1]
        place = " ".join(where)
        if kind == "json_invalid":
            reason = problem.get("ctx", {}).get("error", "")
            parts.append(
                f"the body is not valid JSON ({reason}). Send a JSON object with the header "
                "'Content-Type: application/json'"
            )
        elif where == ["body"] and kind.endswith("_type"):
            parts.append(
                "the body must be a JSON object with the fields this route takes, not a "
                "list or a single value"
            )
        elif kind == "missing" and where[:1] == ["body"] and len(where) == 1:
            parts.append("the request has no body. Send the JSON object this route takes")
        elif kind == "missing":
            parts.append(f"{place} is missing. Add it")
        else:
            parts.append(f"{place}: {problem.get('msg', 'not valid')}. Fix it")
    text = "; ".join(parts) or "the request is not valid"
    return f"{text}. GET /openapi.json describes what each route takes."
