"""``qual-nlp app`` and ``demo``: opening a project in the Streamlit app (on this computer
only unless the project has user accounts), and building the sample project the app opens
when given none."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qual_nlp.commands import accounts
from qual_nlp.commands.common import emit, progress_bar

__all__ = ["app_arguments", "cmd_app", "cmd_demo", "demo_arguments"]

#: the Streamlit script, beside the package
STREAMLIT_APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"


def demo_arguments(p: argparse.ArgumentParser) -> None:
    """The ``demo`` command's arguments (it takes no project)."""
    p.add_argument("path", nargs="?", help="project file (default: demo/sample.qnlp)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_demo(args: argparse.Namespace) -> int:
    from qual_nlp.commands.demo import DEFAULT_PATH, build_demo

    with progress_bar(args, "demo") as bar:
        result = build_demo(args.path or DEFAULT_PATH, progress=bar)
    emit(args, result, _demo_text(result))
    return 0 if not result.get("failed") else 1


def _demo_text(result: dict[str, Any]) -> str:
    """What the sample project holds, and what to do with it."""
    project = result["project"]
    if result.get("up_to_date"):
        head = f"demo project {project} is up to date"
    else:
        head = f"demo project ready at {project}"
    counts = [f"{result[k]} {k}" for k in ("documents", "segments", "codings") if k in result]
    lines = [head + (f" ({', '.join(counts)})" if counts else "")]
    model = result.get("model") or {}
    if model.get("model"):
        lines.append(f"model {model['model']} trained on {model['n_labels']} reviewed segments")
    lines.append(f"open it in the app: qual-nlp app {project}")
    return "\n".join(lines)


def app_arguments(p: argparse.ArgumentParser) -> None:
    """The ``app`` command's arguments (its PROJECT is optional)."""
    p.add_argument("project", nargs="?", help="project file or database URL")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this computer only); another one, "
        "e.g. 0.0.0.0, needs a project with user accounts",
    )
    p.add_argument("--port", type=int, help="port (default: Streamlit's 8501)")
    p.add_argument("--headless", action="store_true", help="do not open a browser")


def cmd_app(args: argparse.Namespace) -> int:
    project = args.project
    if not project:  # no project given: the sample study, built (or brought up to date) first
        from qual_nlp.commands.demo import DEFAULT_PATH, build_demo

        print(
            f"building the sample project {DEFAULT_PATH} (a few minutes the first time)…",
            file=sys.stderr,
        )
        with progress_bar(args, "demo") as bar:
            project = str(build_demo(DEFAULT_PATH, progress=bar)["project"])
        print(f"opening the sample project {project}", file=sys.stderr)
    refused = accounts.refuse_open_host(str(project), args.host)
    if refused is not None:
        return refused
    command = [sys.executable, "-m", "streamlit", "run", str(STREAMLIT_APP)]
    command += ["--server.address", args.host]
    if args.port:
        command += ["--server.port", str(args.port)]
    if args.headless:
        command += ["--server.headless", "true"]
    # no "Deploy" button (from any folder; .streamlit/config.toml says so in the repository)
    command += ["--client.toolbarMode", "minimal"]
    command += ["--browser.gatherUsageStats", "false", "--", str(project)]
    return accounts.serve(command)
