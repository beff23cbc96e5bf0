"""Jobs (``store.jobs``): long work started by a request, kept in the database so that
every process serving the project sees its state, progress and result.

Starting and finishing a job are written to the event journal; progress updates are
not (they would flood it), each is one small transaction of its own.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select, update

from qual_nlp.errors import RecordNotFoundError
from qual_nlp.records import JOB_STATES, Job
from qual_nlp.storage import schema as t
from qual_nlp.storage.engine import writing
from qual_nlp.storage.journal import Journal, now, to_json


def _job(row: Any) -> Job:
    return Job(
        id=int(row.id),
        kind=row.kind,
        state=row.state,
        done=int(row.done or 0),
        total=int(row.total or 0),
        result=None if row.result is None else json.loads(row.result),
        error=row.error,
        actor=row.actor,
        created_at=row.created_at,
        updated_at=row.updated_at,
        runner=row.runner,
    )


class Jobs:
    """The jobs of one project store."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def create(self, kind: str, actor: str | None, runner: str | None = None) -> int:
        """A new job, ``queued``, run by ``runner`` (host:pid); returns its id."""
        stamp = now()
        with self.journal.write(actor or "system", "start job", "job", kind) as conn:
            return int(
                conn.execute(
                    insert(t.jobs).values(
                        kind=kind,
                        actor=actor,
                        runner=runner,
                        state="queued",
                        done=0,
                        total=0,
                        created_at=stamp,
                        updated_at=stamp,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            )

    def progress(self, job_id: int, done: int, total: int) -> None:
        """The job runs and has done ``done`` of ``total`` units."""
        with writing(self.journal.engine) as conn, conn.begin():
            conn.execute(
                update(t.jobs)
                .where(t.jobs.c.id == job_id)
                .values(state="running", done=int(done), total=int(total), updated_at=now())
            )

    def finish(
        self, job_id: int, state: str, *, result: Any = None, error: str | None = None
    ) -> None:
        """The job ended: ``done`` with its result, or ``failed`` with its error."""
        if state not in JOB_STATES[2:]:
            raise ValueError(f"a job finishes as done or failed, not {state!r}")
        job = self.get(job_id)
        values: dict[str, Any] = {"state": state, "updated_at": now(), "error": error}
        values["result"] = None if result is None else to_json(result)
        if state == "done" and job.total:
            values["done"] = job.total
        after = {"state": state, "error": error}
        with self.journal.write(job.actor or "system", state, "job", job_id, after=after) as conn:
            conn.execute(update(t.jobs).where(t.jobs.c.id == job_id).values(**values))

    def get(self, job_id: int) -> Job:
        with self.journal.engine.connect() as conn:
            row = conn.execute(select(t.jobs).where(t.jobs.c.id == int(job_id))).first()
        if row is None:
            raise RecordNotFoundError(
                f"job {job_id} is not in this project. Use the id that starting the job returned."
            )
        return _job(row)

    def all(self, actor: str | None = None, limit: int = 100) -> list[Job]:
        """The newest jobs (of ``actor`` when given)."""
        query = select(t.jobs).order_by(t.jobs.c.id.desc()).limit(limit)
        if actor is not None:
            query = query.where(t.jobs.c.actor == actor)
        with self.journal.engine.connect() as conn:
            return [_job(r) for r in conn.execute(query).all()]
