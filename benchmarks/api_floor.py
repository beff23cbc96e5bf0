"""The floor of ``benchmarks/api_load.py``: the same routes in an application that does nothing.

A FastAPI application with the three routes the load's clients call (sign-in, ``GET
/api/v1/review/next``, ``POST /api/v1/review/decisions``), each answering at once with
no database, no token check and no rule: what FastAPI, uvicorn and the clients' own
HTTP cost on this machine. ``api_load.py`` serves it with the same uvicorn set-up and
drives it with the same clients, so the project's figures can be read against it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Form
from pydantic import BaseModel

app = FastAPI(title="api_load floor")


class Decision(BaseModel):
    segment_id: int
    accept: list[str] = []
    reject: list[str] = []


@app.post("/api/v1/auth/token")
def sign_in(username: Annotated[str, Form()], password: Annotated[str, Form()]) -> dict[str, Any]:
    return {"access_token": f"floor-{username}", "token_type": "bearer"}


@app.get("/api/v1/review/next")
def review_next(n: int = 1) -> dict[str, Any]:
    return {"segment_ids": []}


@app.post("/api/v1/review/decisions")
def decide(body: Decision) -> dict[str, Any]:
    return {"segment_id": body.segment_id, "accepted": len(body.accept)}
