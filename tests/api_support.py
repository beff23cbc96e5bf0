"""Shared by the HTTP API tests: the team project (five roles), signing in, a served API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_access_project import PASSWORDS, make_team  # noqa: E402,F401

ROOT = Path(__file__).resolve().parent.parent
#: account name -> role, the five roles of the rules
TEAM = {
    "lea": "lead",
    "ana": "analyst",
    "zed": "investigator",
    "pat": "patient_partner",
    "vic": "viewer",
}


def token(client: Any, name: str, password: str | None = None) -> str:
    """Sign in through the API; returns the bearer token."""
    answer = client.post(
        "/api/v1/auth/token",
        data={"username": name, "password": password or PASSWORDS[name]},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    return str(body["access_token"])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(project: str, port: int, *extra: str) -> subprocess.Popen:
    """``qual-nlp serve PROJECT --port N`` as a process of its own; waits until it answers."""
    import httpx

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "qual_nlp", "serve", project, "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"qual-nlp serve stopped: {server.stdout.read()}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.3)
    stop_server(server)
    raise AssertionError("qual-nlp serve did not answer within 120 s")


def stop_server(server: subprocess.Popen) -> str:
    """Stop the server (SIGTERM, as Ctrl-C would); returns what it printed."""
    server.terminate()
    try:
        out, _ = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        out, _ = server.communicate()
    return str(out or "")
