"""``qual-nlp serve``: the API served by uvicorn."""

from __future__ import annotations

from pathlib import Path


def run(
    location: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_upload_bytes: int = 50_000_000,
    log_level: str = "info",
) -> None:
    """Serve the project's API until stopped (Ctrl-C, SIGTERM)."""
    import uvicorn

    from qual_nlp.api.app import create_app

    app = create_app(location, max_upload_bytes=max_upload_bytes)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)
