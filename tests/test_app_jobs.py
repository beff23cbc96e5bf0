"""The app's long actions run as the project's jobs (the ones the HTTP API starts and
reports): an import from the Import page, and a failed one, are jobs in the database,
with their progress, result or error."""

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


def test_an_import_from_the_page_is_a_job_the_api_would_report(tmp_path: Path) -> None:
    path = tmp_path / "study.qnlp"
    Project.init(path).close()
    at = open_page(app_on(path), "import")
    at.file_uploader(key="import_files").set_value(
        [
            (n, (FIXTURES / n).read_bytes(), "text/plain")
            for n in ("C01_interview_NCM.txt", "C02_interview_P07.txt")
        ]
    )
    at.run()
    at.button(key="import_go").click().run(timeout=120)
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Imported"] == "2"
    with Project.open(path) as project:
        [job] = project.jobs.mine()
    assert (job.kind, job.state, job.done, job.total) == ("import", "done", 2, 2)
    assert job.result["summary"]["imported"] == 2
    assert sorted(f["document"] for f in job.result["files"]) == [
        "C01_interview_NCM.txt",
        "C02_interview_P07.txt",
    ]


def test_a_batch_that_cannot_start_is_a_failed_job_and_the_page_says_why(tmp_path: Path) -> None:
    path = tmp_path / "study.qnlp"
    Project.init(path).close()
    at = open_page(app_on(path), "import")
    at.file_uploader(key="import_files").set_value(
        [("C01_interview_NCM.txt", (FIXTURES / "C01_interview_NCM.txt").read_bytes(), "text/plain")]
    )
    at.file_uploader(key="import_meta").set_value(("meta.csv", b"\xff\xfe\x00bad", "text/csv"))
    at.run()
    at.button(key="import_go").click().run(timeout=120)
    with Project.open(path) as project:
        [job] = project.jobs.mine()
        assert project.counts()["documents"] == 0
    assert job.state == "failed" and job.error
    assert any(job.error in e.value for e in at.error)
