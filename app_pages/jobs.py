"""Long actions of the app run as the project's jobs, the same the HTTP API starts: the
work goes on in the background and the page draws its progress, polled from the project
database as ``GET /api/v1/jobs/{id}`` reports it (so a job is also visible to the API).
"""

from __future__ import annotations

import time
from typing import Any

from app_pages import common
from qual_nlp.errors import QualNLPError
from qual_nlp.records import Job

#: how often the page reads the job (seconds)
POLL = 0.25


def follow(proj: Any, job_id: int, what: str, unit: str = "") -> Job:
    """Draw a job's progress as a bar (*Importing: 37 of 100 files*) until it ends; its
    error, if it failed, is raised as the project's error (``common.guarded`` shows it)."""
    bar = common.ProgressBar(what, unit)
    while True:
        job: Job = proj.jobs.get(job_id)
        if job.total:
            bar(job.done, job.total)
        if job.state in ("done", "failed"):
            break
        time.sleep(POLL)
    if job.state == "failed":
        raise QualNLPError(job.error or f"{what} failed")
    return job
