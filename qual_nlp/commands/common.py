"""What the command handlers share: printing one JSON document or text (:func:`emit`),
opening the project as the signed-in user (:func:`open_project`), progress bars on stderr
(:func:`progress_bar`), and the option groups several commands take (encoder, Dask
workers)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def emit(args: argparse.Namespace, payload: Any, text: str | None = None) -> None:
    """Print ``payload`` as one JSON document under --json, else ``text``."""
    if getattr(args, "json", False):
        json.dump(payload, sys.stdout, ensure_ascii=False, default=_jsonable)
        sys.stdout.write("\n")
    elif text is not None:
        print(text)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def open_project(args: argparse.Namespace, create: bool = False) -> Any:
    """The project PROJECT names, acting as ``--user`` where it has accounts."""
    from qual_nlp.commands.accounts import signed_in
    from qual_nlp.project import Project

    return signed_in(args, Project.open(args.project, create=create))


class _Bar:
    """A ``progress(done, total)`` callable drawn as a tqdm bar on stderr (made on first
    call; a new total, as work moves to its next stage, restarts it)."""

    def __init__(self, what: str, unit: str) -> None:
        self.what, self.unit = what, unit
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            try:
                width = os.get_terminal_size(sys.stderr.fileno()).columns
            except OSError:
                width = 0
            self.bar = tqdm(
                total=total,
                desc=self.what,
                unit=self.unit,
                file=sys.stderr,
                leave=False,
                # a terminal that reports no size (some pseudo-terminals) gets 80 x 24
                ncols=None if width else 80,
                nrows=None if width else 24,
            )
        elif total != self.bar.total:
            self.bar.reset(total=total)
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextmanager
def progress_bar(args: argparse.Namespace, what: str, unit: str = "it") -> Iterator[_Bar | None]:
    """A progress bar on a terminal; None with --json or when stderr is not a terminal."""
    if getattr(args, "json", False) or not sys.stderr.isatty():
        yield None
        return
    bar = _Bar(what, unit)
    try:
        yield bar
    finally:
        bar.close()


def batch_options(args: argparse.Namespace) -> dict[str, Any]:
    """--workers / --scheduler / --partition-size as the facade takes them ({} if none)."""
    options: dict[str, Any] = {}
    if getattr(args, "workers", None) is not None:
        options["workers"] = args.workers
    if getattr(args, "scheduler", None):
        options["scheduler"] = args.scheduler
    if options and getattr(args, "partition_size", None):
        options["partition_size"] = args.partition_size
    return options


def encoder_options(p: argparse.ArgumentParser, note: str) -> None:
    """``--encoder`` and ``--backend``, as init, evaluate and bench take them."""
    from qual_nlp.resources import BACKENDS

    p.add_argument(
        "--encoder",
        help="sentence encoder: multilingual-e5-small (default; English, French and ~100 more "
        "languages), all-MiniLM-L6-v2 (English only), all-mpnet-base-v2 (English only, "
        f"stronger, slower; installed apart) or a local sentence-transformers folder{note}",
    )
    p.add_argument(
        "--backend",
        choices=list(BACKENDS),
        help="how the encoder runs: onnx-int8 (default, fastest), onnx, or torch (the reference)",
    )


def batch_arguments(p: argparse.ArgumentParser, *, partitions: bool = False) -> None:
    """--workers N / --scheduler ADDRESS: run the batch on Dask workers."""
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run on a Dask cluster of N worker processes on this machine (one core each)",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing Dask cluster, e.g. tcp://host:8786 (see the README)",
    )
    if partitions:
        p.add_argument(
            "--partition-size",
            type=int,
            metavar="N",
            help="with --workers/--scheduler: participant segments per task (default 2000)",
        )
