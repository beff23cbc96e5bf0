"""Loading codebooks: from a YAML file, or by name from the built-ins shipped under
``builtin/``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from qual_nlp.codebook.parse import parse_codebook
from qual_nlp.errors import CodebookError
from qual_nlp.records import Codebook

BUILTIN_PACKAGE = "qual_nlp.codebook.builtin"
DEFAULT_CODEBOOK = "cm-implementation"


def list_builtin() -> list[str]:
    """Names of the codebooks shipped with qual_nlp.

    >>> "cm-implementation" in list_builtin()
    True
    """
    folder = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


@lru_cache(maxsize=8)
def builtin_codebook(name: str = DEFAULT_CODEBOOK) -> Codebook:
    """Load a built-in codebook by name (see :func:`list_builtin`).

    >>> [f.id for f in builtin_codebook().facets]
    ['valence', 'cfir_domain', 'cmo', 'cm_component']
    """
    if name not in list_builtin():
        raise CodebookError(
            f"{name!r} is not a built-in codebook. Fix: use one of {list_builtin()} "
            "or pass the path of a YAML codebook file."
        )
    text = resources.files(BUILTIN_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return parse_codebook(text, f"built-in codebook {name}.yaml")


def load_codebook(path_or_name: str | Path) -> Codebook:
    """Load a codebook from a YAML file, or a built-in one by name.

    >>> load_codebook("cm-implementation").name
    'cm-implementation'
    """
    path = Path(path_or_name).expanduser()
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CodebookError(
                f"{path}: not UTF-8 text (byte {exc.start}). Fix: save the file as UTF-8."
            ) from None
        return parse_codebook(text, str(path))
    if str(path_or_name) in list_builtin():
        return builtin_codebook(str(path_or_name))
    raise CodebookError(
        f"{path_or_name}: no such codebook file, and not a built-in codebook "
        f"({', '.join(list_builtin())}). Fix: check the path or use a built-in name."
    )
