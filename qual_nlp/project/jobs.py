"""Jobs: long work (import of a batch, suggest, train, export) run in the background.

``project.jobs`` (a :class:`JobService`) checks the request at once, in the caller's
thread (so a refusal is an answer, not a failed job), records a job in the database
(``queued``), and runs the work in a thread of its own on connections of its own, acting
as the same user. The work's ``progress(done, total)`` calls (the same
:data:`~qual_nlp.project.service.Progress` the command line draws with tqdm) are written
to the job at most a few times a second, then the result or the error. Any process
serving the project reads the same job (``project.jobs.get(id)``): the HTTP API and the
app poll it to draw the same progress.

>>> job_id = project.jobs.suggest()                          # doctest: +SKIP
>>> project.jobs.wait(job_id).state                          # doctest: +SKIP
'done'
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qual_nlp import access as rules
from qual_nlp.errors import QualNLPError
from qual_nlp.project.service import Progress, Service
from qual_nlp.records import Job

if TYPE_CHECKING:  # pragma: no cover
    from qual_nlp.project.core import Project

#: The work of a job: called with the project (its own connections, the same user) and
#: the job's progress callable; returns a JSON-able result.
Work = Callable[["Project", Progress], Any]

log = logging.getLogger(__name__)

#: The kind of the jobs that measure a learning curve.
LEARNING_CURVE = "learning_curve"

#: Progress is written at most this often (seconds), and always at the end of a stage.
PROGRESS_EVERY = 0.25


class JobService(Service):
    """Long work of one project, run in the background (``project.jobs``)."""

    def start(self, kind: str, work: Work, *, cleanup: Callable[[], None] | None = None) -> int:
        """Record a ``queued`` job and run ``work`` in a thread; returns the job's id at
        once. ``cleanup`` runs when the work ends, however it ends (temporary files)."""
        actor = self._project.actor
        job_id = int(self.store.jobs.create(kind, actor.name if actor else None, _runner()))
        thread = threading.Thread(
            target=self._run,
            args=(job_id, work, cleanup),
            name=f"qual-nlp job {job_id} ({kind})",
            daemon=True,
        )
        thread.start()
        return job_id

    def _run(self, job_id: int, work: Work, cleanup: Callable[[], None] | None) -> None:
        try:
            project = self._project.reopen()
        except Exception as exc:  # the database went away: the job says so
            self.store.jobs.finish(job_id, "failed", error=_message(exc))
            if cleanup:
                cleanup()
            return
        try:
            jobs = project.store.jobs
            jobs.progress(job_id, 0, 0)
            reporter = _Reporter(jobs, job_id)
            try:
                result = work(project, reporter)
            except Exception as exc:
                if not isinstance(exc, QualNLPError):
                    log.exception("job %s failed", job_id)
                reporter.flush()
                jobs.finish(job_id, "failed", error=_message(exc))
            else:
                reporter.flush()
                jobs.finish(job_id, "done", result=plain(result))
        finally:
            if cleanup:
                cleanup()
            project.close()

    def get(self, job_id: int) -> Job:
        """A job: its state, progress and result or error (one's own; a lead sees all)."""
        job: Job = self.store.jobs.get(int(job_id))
        self._project.access.require_owner(job.actor, f"job {job_id}")
        if job.state in ("queued", "running") and _gone(job.runner):
            self.store.jobs.finish(
                job.id,
                "failed",
                error=f"the server process that ran this {job.kind} job stopped before it "
                "ended; start the job again",
            )
            job = self.store.jobs.get(job.id)
        return job

    def mine(self, limit: int = 50) -> list[Job]:
        """The newest jobs of the acting user (every job in solo mode)."""
        self._project.access.require_active()
        actor = self._project.actor
        return list(self.store.jobs.all(actor.name if actor else None, limit=limit))

    def wait(self, job_id: int, timeout: float = 3600, every: float = 0.2) -> Job:
        """Poll a job until it is done or failed (or ``timeout`` seconds pass)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job.state in ("done", "failed") or time.monotonic() > deadline:
                return job
            time.sleep(every)

    # ------------------------------------------------------- the long actions
    def suggest(self, facet: str | None = None) -> int:
        """Suggest codes in the background (see :meth:`ModelService.suggest`)."""
        self._project.access.require(rules.RUN_MODEL)
        return self.start(
            "suggest", lambda project, progress: project.model.suggest(facet, progress=progress)
        )

    def train(self) -> int:
        """Train, then re-suggest, in the background (see :meth:`ModelService.train`)."""
        self._project.access.require(rules.RUN_MODEL)
        return self.start("train", lambda project, progress: project.model.train(progress=progress))

    def fine_tune(
        self, facet: str, *, minutes: float = 5.0, folds: int = 3, epochs: int = 1
    ) -> int:
        """Fine-tune the encoder on a facet in the background (see
        :meth:`ModelService.fine_tune`); progress counts training steps."""
        self._project.access.require(rules.RUN_MODEL)
        return self.start(
            "finetune",
            lambda project, progress: project.model.fine_tune(
                facet, minutes=minutes, folds=folds, epochs=epochs, progress=progress
            ),
        )

    def learning_curve(self, facet: str, *, seeds: int = 3) -> int:
        """Measure a facet's learning curve in the background (see
        :meth:`ModelService.learning_curve`); the result is the curve as plain data."""
        self._project.access.require(rules.RUN_MODEL)
        self._project.access.require(rules.SEE_SUGGESTIONS)
        return self.start(
            LEARNING_CURVE,
            lambda project, progress: project.model.learning_curve(
                facet, seeds=seeds, progress=progress
            ),
        )

    def latest(self, kind: str, **result: Any) -> Job | None:
        """The acting user's newest finished ``kind`` job whose result holds ``result``'s
        items (``latest("learning_curve", facet="valence")``), or None."""
        for job in self.mine():
            if job.kind != kind or job.state != "done" or not isinstance(job.result, dict):
                continue
            if all(job.result.get(k) == v for k, v in result.items()):
                return job
        return None

    def import_files(
        self,
        paths: Sequence[str | Path],
        *,
        remove_after: str | Path | None = None,
        **options: Any,
    ) -> int:
        """Import files in the background (see :meth:`Project.import_files`); the result
        lists each file's outcome and the counts. ``remove_after``: a temporary folder
        (uploaded files) deleted when the job ends."""
        self._project.access.require(rules.IMPORT)
        wanted = [str(p) for p in paths]

        def work(project: Project, progress: Progress) -> dict[str, Any]:
            return import_report(project.import_files(wanted, progress=progress, **options))

        def cleanup() -> None:
            if remove_after is not None:
                shutil.rmtree(remove_after, ignore_errors=True)

        return self.start("import", work, cleanup=cleanup)

    def export(self, fmt: str, out: str | Path, **options: Any) -> int:
        """Export in the background (see :meth:`AnalysisService.export`) to ``out``."""
        self._project.access.require(rules.EXPORT)

        def work(project: Project, progress: Progress) -> dict[str, Any]:
            written = project.analysis.export(fmt, out, progress=progress, **options)
            return {
                "format": fmt,
                "file": Path(written).name,
                "bytes": Path(written).stat().st_size,
            }

        return self.start("export", work)


def _runner() -> str:
    """This process, as a job records who runs it (host:pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(runner: str | None) -> bool:
    """True when ``runner`` (host:pid) is a process of this host that no longer runs
    (a job of another host is left as it is: it may be running there)."""
    host, _, pid = (runner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def import_report(outcomes: Sequence[Any]) -> dict[str, Any]:
    """Each file's outcome and the batch's counts (the shape of ``import --json``)."""
    tally = {s: sum(o.status == s for o in outcomes) for s in ("imported", "unchanged", "failed")}
    imported = [o for o in outcomes if o.status == "imported"]
    counts = {
        "documents": sum(1 if o.documents is None else o.documents for o in imported),
        "segments": sum(o.segments for o in imported),
    }
    return {
        "summary": tally | counts,
        "files": [plain(o) for o in outcomes],
    }


class _Reporter:
    """``progress(done, total)`` written to the job, at most every PROGRESS_EVERY seconds
    (and whenever a stage ends or a new total begins)."""

    def __init__(self, jobs: Any, job_id: int) -> None:
        self.jobs, self.job_id = jobs, job_id
        self.last = 0.0
        self.pending: tuple[int, int] | None = None
        self.total = -1

    def __call__(self, done: int, total: int) -> None:
        moment = time.monotonic()
        self.pending = (int(done), int(total))
        if moment - self.last >= PROGRESS_EVERY or done >= total or total != self.total:
            self.flush()

    def flush(self) -> None:
        if self.pending is None:
            return
        done, total = self.pending
        self.jobs.progress(self.job_id, done, total)
        self.last, self.total, self.pending = time.monotonic(), total, None


def _message(exc: BaseException) -> str:
    """What a failed job reports: the project's own message, or the kind of failure."""
    if isinstance(exc, QualNLPError):
        return str(exc)
    return (
        f"the job stopped on an unexpected {type(exc).__name__}: {exc}. The server log has "
        "the details; try again, and report it if it happens again."
    )


def plain(value: Any) -> Any:
    """``value`` as JSON-able data: records as dicts, numpy scalars and arrays as Python's."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value
