"""Many clients deciding at once through the HTTP API: errors, lost writes, latency.

Creates (or opens) the project at ``--project`` — a SQLite file or a PostgreSQL URL —
imports one transcript of ``--segments`` participant turns (as ``benchmarks/concurrency.py``
does), gives each of ``--clients`` coders an analyst account, starts ``qual-nlp serve`` as
a real uvicorn process on a free port, and lets the clients (asyncio + httpx, one
connection each, all in this process) sign in and then, all at once, each make
``--decisions`` review decisions (``--think-ms``: after a pause around that long, as a
reviewer reads; 0, the default, saturates the server): ``GET /api/v1/review/next`` for the coder's next segment
(``--no-next``: a segment from the coder's own shuffled plan instead), then
``POST /api/v1/review/decisions`` on it.

Afterwards it counts, from the store (the checks of ``benchmarks/concurrency.py``):
``lost_writes`` (a coder's stored decision on a segment is not its last one, or a review
event is missing), ``duplicate_codings``, and ``errors`` (answers that are not 200, and
failed requests). Latency is per request, in milliseconds: ``decide_ms`` for the decision
(the figure the target is about: p95 ≤ 50 ms) and ``next_ms`` for the queue.

Then the same clients, with the same pauses, drive ``api_floor.py`` — the three routes in a
FastAPI application that does nothing, served by the same uvicorn set-up — for the floor
this machine puts under any such server (``floor_decide_ms``, ``floor_server_cpu_ms_per_request``)
and the decision's p95 as a multiple of it (``decide_p95_vs_floor``; ``--no-floor`` skips it).

Prints one JSON document; exits 1 when errors, lost writes or duplicates are not 0.

    python benchmarks/api_load.py --segments 2000 --clients 4 --decisions 50     # quick
    python benchmarks/api_load.py --segments 100000 --clients 16 --decisions 500  # the target
    python benchmarks/api_load.py --project postgresql://user@host:5432/db
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from concurrency import CODES, check, prepare  # noqa: E402

PASSWORD = "benchmark passphrase"


def accounts(location: str, coders: list[str], segment_ids: list[int]) -> None:
    """A lead and one analyst account per coder (the first lead needs no sign-in), and
    review priorities for the segments, as a suggestion run leaves them (the queue then
    walks its score index, as it does in a real project)."""
    import numpy as np
    import pandas as pd

    from qual_nlp.project import Project

    rng = np.random.default_rng(7)
    scores = pd.DataFrame(
        {
            "segment_id": segment_ids,
            "uncertainty": rng.random(len(segment_ids)),
            "relevance": rng.random(len(segment_ids)),
        }
    )
    with Project.open(location) as project:
        project.store.queue.write_scores(scores, "model:bench@0")
        if not project.has_users():
            project.access.add_user("bench-lead", "lead", PASSWORD)
        lead = project.as_user("bench-lead")
        for coder in coders:
            lead.access.add_user(coder, "analyst", PASSWORD)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(location: str | None, port: int, workers: int) -> subprocess.Popen:
    """``qual-nlp serve`` on the project at ``location``; None: the floor application
    (``api_floor.py``) in the same uvicorn set-up."""
    import httpx

    if location is None:
        command = [sys.executable, "-m", "uvicorn", "api_floor:app", "--port", str(port)]
        command += ["--app-dir", str(ROOT / "benchmarks"), "--no-access-log"]
    else:
        command = [sys.executable, "-m", "qual_nlp", "serve", location, "--port", str(port)]
    command += ["--log-level", "warning"]
    if workers > 1:
        command += ["--workers", str(workers)]
    server = subprocess.Popen(command, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("qual-nlp serve stopped before answering")
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2)
            return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("qual-nlp serve did not answer within 120 s")


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children (uvicorn's workers); Linux."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # the server, or its worker
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def pick(rng: random.Random) -> tuple[list[str], list[str]]:
    picked = rng.sample(CODES, 3)
    return picked[: rng.randint(0, 2)], picked[2:]


async def client(
    base: str,
    coder: str,
    decisions: int,
    segment_ids: list[int],
    use_next: bool,
    start: asyncio.Event,
    ready: list[str],
    think: float = 0.0,
) -> dict[str, Any]:
    import httpx

    rng = random.Random(coder)
    order = segment_ids[:]
    rng.shuffle(order)
    steps: list[tuple[int, list, list]] = []
    errors: list[str] = []
    decide_ms: list[float] = []
    next_ms: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        signed = await http.post(
            "/api/v1/auth/token", data={"username": coder, "password": PASSWORD}
        )
        http.headers["Authorization"] = f"Bearer {signed.json()['access_token']}"
        await http.get("/api/v1/review/next")  # connect and warm up before the start
        ready.append(coder)
        await start.wait()
        for i in range(decisions):
            if think:  # a reviewer reads the passage; the pauses vary around ``think``
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
            segment = order[i % len(order)]
            if use_next:
                began = time.perf_counter()
                try:
                    answer = await http.get("/api/v1/review/next")
                    if answer.status_code != 200:
                        errors.append(f"next: {answer.status_code} {answer.text[:200]}")
                    elif answer.json()["segment_ids"]:
                        segment = int(answer.json()["segment_ids"][0])
                except httpx.HTTPError as exc:
                    errors.append(f"next: {type(exc).__name__}: {exc}"[:300])
                next_ms.append(1000 * (time.perf_counter() - began))
            accept, reject = pick(rng)
            body = {"segment_id": segment, "accept": accept, "reject": reject}
            began = time.perf_counter()
            try:
                answer = await http.post("/api/v1/review/decisions", json=body)
                if answer.status_code != 200:
                    errors.append(f"decide: {answer.status_code} {answer.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"decide: {type(exc).__name__}: {exc}"[:300])
            decide_ms.append(1000 * (time.perf_counter() - began))
            steps.append((segment, accept, reject))
    return {"coder": coder, "steps": steps, "errors": errors, "decide": decide_ms, "next": next_ms}


async def drive(
    base: str,
    coders: list[str],
    decisions: int,
    segment_ids: list[int],
    use_next: bool,
    think: float = 0.0,
) -> tuple[list[dict[str, Any]], float]:
    start = asyncio.Event()
    ready: list[str] = []
    tasks = [
        asyncio.create_task(client(base, c, decisions, segment_ids, use_next, start, ready, think))
        for c in coders
    ]
    while len(ready) < len(coders):
        await asyncio.sleep(0.05)
        if any(t.done() for t in tasks):  # a client failed before the start
            await asyncio.gather(*tasks)
    began = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks)
    return list(results), time.perf_counter() - began


def load(
    location: str | None,
    coders: list[str],
    decisions: int,
    segment_ids: list[int],
    use_next: bool,
    workers: int,
    think_ms: float,
) -> tuple[list[dict[str, Any]], float, float]:
    """Serve ``location`` (None: the floor), let the clients decide, stop the server:
    the clients' results, the seconds they took and the server's CPU seconds."""
    port = free_port()
    server = serve(location, port, workers)
    try:
        cpu_before = tree_cpu(server.pid)
        base = f"http://127.0.0.1:{port}"
        think = think_ms / 1000
        results, seconds = asyncio.run(drive(base, coders, decisions, segment_ids, use_next, think))
        return results, seconds, tree_cpu(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=60)


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "max": round(ordered[-1], 1),
    }


def run(
    location: str,
    clients: int,
    decisions: int,
    segments: int,
    *,
    use_next: bool = True,
    workers: int = 1,
    think_ms: float = 0.0,
    baseline: bool = True,
) -> dict[str, Any]:
    run_id = f"{os.getpid()}-{int(time.time())}"
    prepared = time.perf_counter()
    segment_ids = prepare(location, segments, run_id)
    coders = [f"api-{run_id}-{k}" for k in range(clients)]
    accounts(location, coders, segment_ids)
    prepare_seconds = time.perf_counter() - prepared
    results, seconds, server_cpu = load(
        location, coders, decisions, segment_ids, use_next, workers, think_ms
    )
    floor = _floor(clients, decisions, segment_ids, use_next, workers, think_ms) if baseline else {}
    plans = {r["coder"]: r["steps"] for r in results}
    errors = [e for r in results for e in r["errors"]]
    figures = check(location, plans)
    from qual_nlp.project import Project
    from qual_nlp.storage.engine import to_url

    with Project.open(location) as project:
        total_segments = int(project.counts().get("segments", 0))
        problems = project.integrity()
    total = clients * decisions
    decide = percentiles([x for r in results for x in r["decide"]])
    return {
        "backend": to_url(location).split(":", 1)[0].split("+", 1)[0],
        "clients": clients,
        "decisions_per_client": decisions,
        "decisions": total,
        "segments_in_project": total_segments,
        "queue": "GET /review/next before each decision" if use_next else "own plan",
        "server_workers": workers,
        "think_ms": think_ms,
        "prepare_seconds": round(prepare_seconds, 1),
        "seconds": round(seconds, 2),
        "decisions_per_second": round(total / seconds, 1) if seconds else None,
        "decide_ms": decide,
        # the server's CPU time per request (sign-ins and warm-up excluded): what each
        # request costs, however busy the machine is
        "server_cpu_ms_per_request": round(1000 * server_cpu / (total * (2 if use_next else 1)), 2),
        "next_ms": percentiles([x for r in results for x in r["next"]]),
        "errors": len(errors),
        # the same clients against an application that does nothing (api_floor.py), served
        # by the same uvicorn set-up right after: what FastAPI, uvicorn and the clients' own
        # HTTP cost on this machine, and the decision's p95 as a multiple of it
        **floor,
        "decide_p95_vs_floor": _ratio(decide["p95"], floor),
        **figures,
        "integrity_problems": problems,
        "error_samples": errors[:5],
        "cpus": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }


def _ratio(p95: float | None, floor: dict[str, Any]) -> float | None:
    base = floor.get("floor_decide_ms", {}).get("p95")
    return round(p95 / base, 2) if p95 and base else None


def _floor(
    clients: int,
    decisions: int,
    segment_ids: list[int],
    use_next: bool,
    workers: int,
    think_ms: float,
) -> dict[str, Any]:
    """The same load against ``api_floor.py`` (the same clients, pauses and uvicorn)."""
    coders = [f"floor-{k}" for k in range(clients)]
    results, seconds, server_cpu = load(
        None, coders, decisions, segment_ids, use_next, workers, think_ms
    )
    total = clients * decisions
    return {
        "floor_decide_ms": percentiles([x for r in results for x in r["decide"]]),
        "floor_next_ms": percentiles([x for r in results for x in r["next"]]),
        "floor_server_cpu_ms_per_request": round(
            1000 * server_cpu / (total * (2 if use_next else 1)), 2
        ),
        "floor_decisions_per_second": round(total / seconds, 1) if seconds else None,
        "floor_errors": sum(len(r["errors"]) for r in results),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--project",
        help="project file (SQLite) or postgresql:// URL; default: a new temporary SQLite file",
    )
    parser.add_argument("--segments", type=int, default=100_000, help="segments of the project")
    parser.add_argument("--clients", type=int, default=16, help="clients deciding at once")
    parser.add_argument("--decisions", type=int, default=500, help="decisions per client")
    parser.add_argument(
        "--no-next", action="store_true", help="decide from a plan, without asking the queue"
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="each client's pause before each decision, as a reviewer reads the passage "
        "(0: every client sends its next request at once, the server saturated)",
    )
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the floor: the same load against an application that does nothing",
    )
    args = parser.parse_args(argv)
    location = args.project or str(Path(tempfile.mkdtemp(prefix="qual_nlp_api_")) / "api.qnlp")
    result = run(
        location,
        args.clients,
        args.decisions,
        args.segments,
        use_next=not args.no_next,
        workers=args.workers,
        think_ms=args.think_ms,
        baseline=not args.no_floor,
    )
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    failed = result["lost_writes"] or result["errors"] or result["duplicate_codings"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
