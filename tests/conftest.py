"""Shared fixtures: real SQLite project files in a temporary folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# a throwaway PostgreSQL server, the ``backend`` and ``project_location`` fixtures
pytest_plugins = ["postgres_server"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# derived model files (ONNX exports, built encoders) of this test run only, so every run
# proves they are made from the installed packages; kept after the run for inspection
os.environ["QUAL_NLP_MODEL_DIR"] = os.environ.get(
    "QUAL_NLP_TEST_MODEL_DIR", str(Path(__file__).resolve().parent.parent / "test-output/models")
)

#: Streamlit's AppTest runs each script as ``__main__`` and leaves it there; a process
#: started later with the "spawn" method (Dask's workers) would then run that app script
#: as its own main module and fail. Each test gets the real ``__main__`` back.
_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _restore_main_module():
    yield
    if sys.modules.get("__main__") is not _MAIN:
        sys.modules["__main__"] = _MAIN


ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "corpora_samples"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    return tmp_path / "study.qnlp"


@pytest.fixture
def tiny_codebook():
    from qual_nlp.records import Code, Codebook, Facet

    return Codebook(
        "tiny",
        (Facet("valence", "Valence", True), Facet("cmo", "CMO", False)),
        (
            Code("barrier", "valence", "Barrier", definition="An obstacle."),
            Code("facilitator", "valence", "Facilitator", definition="Something that helps."),
            Code("context", "cmo", "Context", definition="Circumstances."),
            Code("mechanism", "cmo", "Mechanism", definition="Reasoning and response."),
            Code("outcome", "cmo", "Outcome", definition="What resulted."),
        ),
    )


@pytest.fixture
def store(project_location: str, tiny_codebook):
    """A new project (a file, or a PostgreSQL database) holding the tiny codebook."""
    from qual_nlp.storage import Store

    s = Store.open(project_location, create=True)
    s.save_codebook(tiny_codebook)
    yield s
    s.close()
