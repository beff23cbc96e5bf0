"""The demo project: the bundled sample study, imported, coded and with a trained model.

``build_demo`` imports ``corpora_samples/`` with its metadata and case numbers,
loads the two fictional coders' gold codings, suggests codes and trains the
model, so every page of the app has content on first open. Running it again on
the same project changes nothing (imports are by content hash; codings are not
loaded twice; the model is retrained only when the codings changed).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qual_nlp.errors import RecordNotFoundError
from qual_nlp.ingest import batch as ingest

SAMPLES = Path(__file__).resolve().parents[2] / "corpora_samples"
DEFAULT_PATH = Path("demo") / "sample.qnlp"


def samples_folder(folder: str | Path | None = None) -> Path:
    """The sample study: ``corpora_samples/`` (a folder with ``meta.csv``)."""
    path = Path(folder) if folder else SAMPLES
    if not (path / "meta.csv").exists():
        raise RecordNotFoundError(
            f"{path}: no sample corpus there (meta.csv missing). Run from a clone of the "
            "repository, or pass the folder holding corpora_samples."
        )
    return path


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(p.startswith(".") for p in path.parts):
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_demo(
    path: str | Path = DEFAULT_PATH,
    *,
    samples: str | Path | None = None,
    suggest: bool = True,
    train: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Build (or bring up to date) the demo project at ``path`` (a file or a database
    URL); returns a summary.

    ``progress(done, total)`` follows the import, then the training (or suggestion run).
    """
    from qual_nlp.project import Project

    folder = samples_folder(samples)
    if "://" in str(path):  # a database URL: the server holds it, there is no folder to make
        path = str(path)
    else:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    fingerprint = _fingerprint(folder)
    with Project.init(path) as project:
        if project.store.get_meta("demo_fingerprint") == fingerprint:
            return {"project": str(path), "up_to_date": True, **project.counts()}
        if (folder / "cases.csv").exists():
            project.import_cases(folder / "cases.csv")
        listed = ingest.read_metadata(folder / "meta.csv").files
        outcomes = project.import_files(
            [folder / name for name in listed], meta=folder / "meta.csv", progress=progress
        )
        failed = [o.message for o in outcomes if o.status == "failed"]
        gold = {}
        if (folder / "gold_codings.csv").exists():
            gold = project.import_codings(folder / "gold_codings.csv")
        summary: dict[str, Any] = {
            "project": str(path),
            "imported": sum(o.status == "imported" for o in outcomes),
            "failed": failed,
            "gold": gold,
        }
        if train and gold.get("codings", 0):
            summary["model"] = project.model.train(progress=progress)
        elif suggest:
            summary["suggested"] = project.model.suggest(progress=progress)
        project.store.set_meta("demo_fingerprint", fingerprint)
        summary.update(project.counts())
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary
