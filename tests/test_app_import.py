"""The Import page: uploads, a folder path, metadata, per-file errors and the summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app_support import (
    FIXTURES,
    app_on,
    fresh_caches,  # noqa: F401  (autouse)
    open_page,
)

from qual_nlp.project import Project

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    path = tmp_path / "study.qnlp"
    Project.init(path).close()
    return path


def upload(name: str) -> tuple[str, bytes, str]:
    return (name, (FIXTURES / name).read_bytes(), "text/plain")


def test_uploads_import_with_metadata_and_report_a_summary(empty: Path) -> None:
    at = open_page(app_on(empty), "import")
    at.file_uploader(key="import_files").set_value(
        [upload("C01_interview_NCM.txt"), upload("C02_interview_P07.txt")]
    )
    at.file_uploader(key="import_meta").set_value(
        ("meta.csv", (FIXTURES / "meta.csv").read_bytes(), "text/csv")
    )
    at.run()
    at.button(key="import_go").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Imported"] == "2" and metrics["Failed"] == "0"
    with Project.open(empty) as project:
        docs = {d.name: d.case for d in project.documents()}
        roles = set(project.segments()["role"].dropna())
    assert docs == {"C01_interview_NCM.txt": "C01", "C02_interview_P07.txt": "C02"}
    assert {"nurse case manager", "patient"} <= roles


def test_a_bad_file_is_reported_and_the_rest_imported(empty: Path) -> None:
    at = open_page(app_on(empty), "import")
    at.file_uploader(key="import_files").set_value(
        [
            upload("C01_interview_NCM.txt"),
            ("broken.docx", b"this is not a Word file", "application/octet-stream"),
        ]
    )
    at.run()
    at.button(key="import_go").click().run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Imported"] == "1" and metrics["Failed"] == "1"
    assert any("broken.docx" in e.value for e in at.error)
    with Project.open(empty) as project:
        assert [d.name for d in project.documents()] == ["C01_interview_NCM.txt"]


def test_importing_the_same_file_again_changes_nothing(empty: Path) -> None:
    at = open_page(app_on(empty), "import")
    for _ in range(2):
        at.file_uploader(key="import_files").set_value([upload("C01_interview_NCM.txt")])
        at.run()
        at.button(key="import_go").click().run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Unchanged"] == "1" and metrics["Imported"] == "0"


def test_a_folder_path_imports_every_supported_file(empty: Path, tmp_path: Path) -> None:
    folder = tmp_path / "transcripts"
    folder.mkdir()
    for name in ("C01_interview_NCM.txt", "C02_interview_P07.txt"):
        (folder / name).write_bytes((FIXTURES / name).read_bytes())
    at = open_page(app_on(empty), "import")
    at.segmented_control(key="import_source").set_value("A folder on this computer").run()
    at.text_input(key="import_folder").input(str(folder))
    at.text_input(key="import_case").input("C09")
    at.run()
    at.button(key="import_go").click().run()
    with Project.open(empty) as project:
        assert {d.case for d in project.documents()} == {"C09"}
        assert len(project.documents()) == 2


def test_a_missing_folder_is_explained(empty: Path, tmp_path: Path) -> None:
    at = open_page(app_on(empty), "import")
    at.segmented_control(key="import_source").set_value("A folder on this computer").run()
    at.text_input(key="import_folder").input(str(tmp_path / "nowhere"))
    at.run()
    at.button(key="import_go").click().run()
    assert "no such file or folder" in at.error[0].value


def test_upload_names_cannot_escape_the_upload_folder(tmp_path: Path) -> None:
    from app_pages.common import save_uploads

    class Upload:
        name = "../../evil.txt"

        def getvalue(self) -> bytes:
            return b"x"

    folder = tmp_path / "up"
    folder.mkdir()
    [saved] = save_uploads([Upload()], folder)
    assert saved == folder / "evil.txt"
