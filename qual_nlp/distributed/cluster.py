"""A Dask client: of a new cluster on this machine, or of an existing one."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from qual_nlp.errors import ValidationError
from qual_nlp.resources import THREADS_ENV

#: What every worker process of a local cluster is given: one thread for the encoder and
#: for the numeric libraries, so N workers on N cores do not oversubscribe them.
WORKER_ENV = {
    THREADS_ENV: "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def check(workers: int | None, scheduler: str | None) -> None:
    """Refuse a request that names both a local cluster and a scheduler, or neither."""
    if workers is not None and scheduler is not None:
        raise ValidationError(
            "give either --workers N (a cluster on this machine) or --scheduler ADDRESS "
            "(an existing Dask cluster), not both"
        )
    if workers is None and scheduler is None:
        raise ValidationError("a batch run needs --workers N or --scheduler ADDRESS")
    if workers is not None and workers < 1:
        raise ValidationError(f"--workers must be 1 or more, got {workers}")
    if scheduler is not None and "://" not in scheduler:
        raise ValidationError(
            f"--scheduler {scheduler!r} is not a scheduler address; write it as "
            "tcp://HOST:8786 (what `dask scheduler` prints)"
        )


@contextmanager
def connect(
    workers: int | None = None, scheduler: str | None = None, *, timeout: float = 30.0
) -> Iterator[Any]:
    """A :class:`distributed.Client`, closed (with its local cluster) on exit.

    ``workers``: start a :class:`~distributed.LocalCluster` of that many worker processes
    (one thread each, restarted by their nanny if one dies). ``scheduler``: connect to
    the cluster whose scheduler listens there; its workers must have qual_nlp installed
    and reach the project (the same SQLite path, or the PostgreSQL server).
    """
    check(workers, scheduler)
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=timeout)
        except OSError as exc:
            raise ValidationError(
                f"no Dask scheduler answers at {scheduler} ({exc}). Start one with "
                "`dask scheduler` and its workers with `dask worker " + scheduler + "`, "
                "or use --workers N for a cluster on this machine"
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        silence_logs=logging.ERROR,
        env=dict(WORKER_ENV),
    )
    try:
        client = Client(cluster, timeout=timeout)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()
