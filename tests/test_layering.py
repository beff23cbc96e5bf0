"""Imports point downward only, and `import qual_nlp` stays light."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qual_nlp"
CONTRACTS = ROOT / "pyproject.toml"  # [tool.importlinter]
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
    if not rel.startswith("resources/"):
        forbidden = {"torch", "spacy", "sentence_transformers", "onnxruntime", "optimum"} & used
        assert not forbidden, f"{rel} imports {forbidden}; load models through qual_nlp.resources"


# The import contracts (pyproject.toml [tool.importlinter], run by scripts/test.sh).
# lint-imports is started with this interpreter, so neither PATH nor the cwd matters.
LINT_IMPORTS = "import sys, importlinter.cli as c; sys.exit(c.lint_imports_command())"


def _lint_imports(tree: Path, config: Path) -> tuple[int, str]:
    """Check the ``qual_nlp`` package found in ``tree`` (not the installed one) against ``config``.

    The cwd, ``sys.path[0]`` and ``PYTHONPATH`` all point at ``tree``; the editable install's
    finder comes after them on ``sys.meta_path``. Returns the exit status and the output with
    whitespace collapsed (so line wrapping cannot split an import).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FORCE_COLOR")}
    env.update(PYTHONPATH=str(tree), COLUMNS="400", NO_COLOR="1")
    done = subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--no-logo", str(config)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def test_the_package_keeps_every_import_contract():
    status, output = _lint_imports(ROOT, CONTRACTS)
    assert status == 0, output
    assert "0 broken" in output, output


# (file in the copy, code appended to it, importer, imported): each breaks one contract.
# Lazy imports inside functions and imports under TYPE_CHECKING count like any other.
PLANTED = [
    (
        "storage/engine.py",
        "from qual_nlp.project import Project\n",
        "qual_nlp.storage.engine",
        "qual_nlp.project",
    ),
    (
        "codebook/edit.py",
        "\n\ndef _planted() -> None:\n    import qual_nlp.cli\n",
        "qual_nlp.codebook.edit",
        "qual_nlp.cli",
    ),
    (
        "analysis/matrix.py",
        "from qual_nlp.agreement import agreement_report\n",
        "qual_nlp.analysis.matrix",
        "qual_nlp.agreement",
    ),
    (
        "agreement/stats.py",
        "\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from qual_nlp.storage import Store\n",
        "qual_nlp.agreement.stats",
        "qual_nlp.storage",
    ),
    ("records.py", "import sqlalchemy\n", "qual_nlp.records", "sqlalchemy"),
    (
        "suggest/embed.py",
        "\n\ndef _planted() -> None:\n    import torch\n",
        "qual_nlp.suggest.embed",
        "torch",
    ),
    ("errors.py", "import streamlit\n", "qual_nlp.errors", "streamlit"),
]


@pytest.mark.parametrize(
    ("target", "planted", "importer", "imported"),
    PLANTED,
    ids=[p[2] + "->" + p[3] for p in PLANTED],
)
def test_a_wrong_way_import_breaks_the_contracts_and_is_named(
    tmp_path, target, planted, importer, imported
):
    shutil.copytree(PACKAGE, tmp_path / "qual_nlp", ignore=shutil.ignore_patterns("__pycache__"))
    config = shutil.copy(CONTRACTS, tmp_path / "contracts.toml")
    path = tmp_path / "qual_nlp" / target
    assert path.is_file(), f"qual_nlp/{target} is gone: plant the import in another module"
    text = path.read_text(encoding="utf-8")
    text = (text if text.endswith("\n") else text + "\n") + planted
    path.write_text(text, encoding="utf-8")
    line = text.count("\n")  # the planted import is the last line

    status, output = _lint_imports(tmp_path, Path(config))

    assert status != 0, output
    # Only the copy has this import at this line: the copy, not the repository, was checked.
    assert f"{importer} -> {imported} (l.{line})" in output, output
