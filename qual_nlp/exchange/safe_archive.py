"""Safe access to untrusted archives and XML (REFI-QDA files and the like).

Zip entries may not escape the archive (no absolute paths, ``..`` or links);
bombs are refused from the sizes the archive declares and again while reading;
XML with any DOCTYPE is refused before parsing, so no external or internal
entity is ever expanded.
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from qual_nlp.errors import ExchangeError


@dataclass(frozen=True)
class ZipLimits:
    """Limits that refuse zip bombs and oversized archives before decompressing.

    Sizes are uncompressed bytes. ``max_entry_bytes``/``max_total_bytes`` apply
    to the entries read (project.qde and text sources); ``max_ratio`` applies to
    every entry larger than ``ratio_floor_bytes``.
    """

    max_entries: int = 10_000
    max_entry_bytes: int = 256 * 2**20
    max_total_bytes: int = 1024 * 2**20
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 2**20


DEFAULT_LIMITS = ZipLimits()


DEFAULT_LIMITS = ZipLimits()


# --------------------------------------------------------------------------
# Safe archive and XML access
# --------------------------------------------------------------------------


def _error(path: Path | str, problem: str, fix: str) -> ExchangeError:
    return ExchangeError(f"{path}: {problem}. {fix}")


def _check_entry_name(path: Path, name: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if (
        "\x00" in name
        or name.startswith(("/", "\\"))
        or re.match(r"^[A-Za-z]:", name)
        or ".." in parts
    ):
        raise _error(
            path,
            f"zip entry {name!r} points outside the archive (absolute path or '..')",
            "Refusing to read it; re-export the project from the program that made it",
        )


def _check_archive(path: Path, zf: zipfile.ZipFile, limits: ZipLimits) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise _error(
            path,
            f"the archive has {len(infos)} entries, more than the limit of {limits.max_entries}",
            "If the file is genuine, raise ZipLimits(max_entries=...)",
        )
    seen: set[str] = set()
    for info in infos:
        _check_entry_name(path, info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _error(
                path,
                f"zip entry {info.filename!r} is a symbolic link",
                "Links are refused; re-export the project with plain files",
            )
        key = info.filename.lower()
        if key in seen:
            raise _error(
                path,
                f"zip entry {info.filename!r} occurs twice",
                "The archive is ambiguous; re-export the project",
            )
        seen.add(key)
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
            raise _error(
                path,
                f"zip entry {info.filename!r} expands {ratio:.0f}-fold "
                f"({info.compress_size} to {info.file_size} bytes), above the limit of "
                f"{limits.max_ratio:.0f} (a zip bomb?)",
                "Refusing to decompress it; if the file is genuine, raise ZipLimits(max_ratio=...)",
            )


class _Archive:
    """Read entries of a checked .qdpx with per-entry and total size limits."""

    def __init__(self, path: Path, zf: zipfile.ZipFile, limits: ZipLimits) -> None:
        self.path, self.zf, self.limits = path, zf, limits
        self.total = 0
        self.names = {i.filename.replace("\\", "/").lower(): i for i in zf.infolist()}

    def find(self, name: str) -> zipfile.ZipInfo | None:
        return self.names.get(name.lower())

    def read(self, info: zipfile.ZipInfo) -> bytes:
        limit = self.limits.max_entry_bytes
        if info.file_size > limit:
            raise _error(
                self.path,
                f"zip entry {info.filename!r} is {info.file_size} bytes, above the limit of {limit}",
                "If the file is genuine, raise ZipLimits(max_entry_bytes=...)",
            )
        chunks, size = [], 0
        try:
            with self.zf.open(info) as fh:
                while chunk := fh.read(1 << 20):
                    size += len(chunk)
                    self.total += len(chunk)
                    if size > limit or self.total > self.limits.max_total_bytes:
                        raise _error(
                            self.path,
                            f"reading {info.filename!r} exceeds the size limits "
                            f"({limit} bytes per entry, {self.limits.max_total_bytes} in total)",
                            "If the file is genuine, raise ZipLimits(max_entry_bytes=..., "
                            "max_total_bytes=...)",
                        )
                    chunks.append(chunk)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise _error(
                self.path, f"zip entry {info.filename!r} is corrupt ({exc})", "Re-export the file"
            ) from exc
        return b"".join(chunks)


_PROLOG = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.S)


def parse_xml(data: bytes, label: str, root_ns: str, root_name: str) -> etree._Element:
    """Parse untrusted QDA-XML: UTF-8 only, no DOCTYPE, expected root and namespace."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    pos = 0
    while match := _PROLOG.match(data, pos):
        pos = match.end()
    rest = data[pos:].lstrip()
    if rest.startswith(b"<!"):
        raise _error(
            label,
            "the XML has a DOCTYPE (document type declaration), which QDA-XML never uses and "
            "which can hide external or exponentially expanding entities",
            "Refusing to read it; re-export the file from the program that made it",
        )
    if not rest.startswith(b"<"):
        raise _error(
            label,
            "the XML is not UTF-8 text starting with '<'",
            "QDA-XML files are UTF-8 (REFI-QDA 5.1); re-export or re-encode the file as UTF-8",
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _error(
            label, f"the XML is malformed ({exc})", "Re-export the file; it may be truncated"
        ) from exc
    if root.getroottree().docinfo.doctype:
        raise _error(label, "the XML has a DOCTYPE", "Refusing to read it; re-export the file")
    expected = f"{{{root_ns}}}{root_name}"
    if root.tag != expected:
        found = etree.QName(root).namespace or "no namespace"
        raise _error(
            label,
            f"expected a <{root_name}> root element in namespace {root_ns}, "
            f"found <{etree.QName(root).localname}> in {found}",
            "Check that this is a REFI-QDA 1.0 file of the right kind (.qdpx project or .qdc codebook)",
        )
    return root
