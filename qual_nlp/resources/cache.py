"""Where derived model files (ONNX exports, built encoder folders) are kept.

They are made once from installed packages and reused by every project and process:
``$QUAL_NLP_MODEL_DIR`` when set, else ``~/.cache/qual_nlp/models``. Each entry is
written into a temporary sibling and renamed into place, so a crash or a second process
never leaves a half-written model behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from qual_nlp.errors import ModelError


def model_dir() -> Path:
    """The folder of derived model files (created when missing)."""
    root = os.environ.get("QUAL_NLP_MODEL_DIR") or str(Path.home() / ".cache/qual_nlp/models")
    path = Path(root).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create the model cache folder {path}: {exc}. "
            "Set QUAL_NLP_MODEL_DIR to a writable folder."
        ) from exc
    return path


def _readable(folder: Path) -> None:
    """The permissions of an ordinary new folder (mkdtemp makes it private to its owner),
    so a server running as another user can read a model that a set-up step made."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(folder, 0o777 & ~mask)


def build_once(target: Path, build: Callable[[Path], None], done: str) -> Path:
    """``target``, made by ``build(tmp)`` unless ``target/done`` already exists.

    ``build`` fills a fresh temporary folder beside ``target``, which is then renamed
    into place; if another process finished first, its result is kept.
    """
    if (target / done).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        build(tmp)
        _readable(tmp)
        if not (tmp / done).exists():
            raise ModelError(f"building {target} left no {done}; the build is incomplete")
        if target.exists() and not (target / done).exists():
            shutil.rmtree(target, ignore_errors=True)  # a stale, incomplete entry
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / done).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
