"""``qual-nlp serve``: the API served by uvicorn, in one process or several (``workers``).

Several worker processes share the project's database (tokens and jobs live there, so a
job started through one worker is polled through any other) and one folder for export
files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

_PROJECT, _MAX_UPLOAD, _EXPORTS = (
    "QUAL_NLP_API_PROJECT",
    "QUAL_NLP_API_MAX_UPLOAD",
    "QUAL_NLP_API_EXPORTS",
)


def run(
    location: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_upload_bytes: int = 50_000_000,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Serve the project's API until stopped (Ctrl-C, SIGTERM)."""
    import uvicorn

    exports = tempfile.mkdtemp(prefix="qual_nlp_exports_")
    options: dict[str, Any] = {"host": host, "port": port, "log_level": log_level}
    try:
        if workers > 1:
            os.environ.update(
                {_PROJECT: str(location), _MAX_UPLOAD: str(max_upload_bytes), _EXPORTS: exports}
            )
            uvicorn.run(
                "qual_nlp.api.server:from_environment",
                factory=True,
                workers=workers,
                access_log=False,
                **options,
            )
        else:
            from qual_nlp.api.app import create_app

            app = create_app(location, max_upload_bytes=max_upload_bytes, exports=exports)
            uvicorn.run(app, access_log=False, **options)
    finally:
        shutil.rmtree(exports, ignore_errors=True)


def from_environment() -> Any:
    """The application of one worker process (``run`` with several workers)."""
    from qual_nlp.api.app import create_app

    return create_app(
        os.environ[_PROJECT],
        max_upload_bytes=int(os.environ[_MAX_UPLOAD]),
        exports=os.environ[_EXPORTS],
    )
