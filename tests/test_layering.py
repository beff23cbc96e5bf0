"""Imports point downward only, and `import qual_nlp` stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qual_nlp"
HEAVY = ("torch", "spacy", "sentence_transformers", "sqlalchemy", "streamlit")


def test_importing_the_package_loads_no_heavy_library():
    code = (
        "import sys, qual_nlp, qual_nlp.cli, qual_nlp.records, qual_nlp.errors;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_heavy_libraries_are_imported_only_where_the_design_allows(path):
    rel = path.relative_to(PACKAGE).as_posix()
    used = _imports(path)
    assert "streamlit" not in used, f"{rel} imports streamlit; the UI lives outside qual_nlp/"
    if not rel.startswith("storage/"):
        assert "sqlalchemy" not in used, f"{rel}: only qual_nlp/storage may import SQLAlchemy"
    if rel != "resources.py":
        forbidden = {"torch", "spacy", "sentence_transformers"} & used
        assert not forbidden, f"{rel} imports {forbidden}; load models through resources.py"
