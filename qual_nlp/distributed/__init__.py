"""Batch runs on Dask: a project's work split into partitions, run on a cluster's workers.

The only package that imports ``dask`` and ``distributed``. It knows nothing of stores,
codebooks or models: the facade gives it a task function (a module-level function, so
workers import it by name), the partitions (plain records), and a loader that builds what
every task of a worker shares (the encoder, the trained model, an open store). Here:

- :func:`connect`: a client of a new :class:`~distributed.LocalCluster` (``workers``
  processes of one thread each, the encoder held to one intra-op thread, so N workers use
  N cores) or of an existing cluster (``scheduler``, e.g. ``tcp://host:8786``);
- :func:`worker_resources`: the worker plugin that runs the loader once per worker (again
  on a worker that replaces a lost one), not once per task;
- :func:`run_partitions`: submits one task per partition, retries a task whose worker
  died, reports ``progress(done, total)`` in the partitions' own units as they finish,
  and returns each partition's (small) result;
- :class:`ClusterEncoder`: texts encoded on the workers, for ``evaluate`` (no project).

Writes stay with the tasks: each writes its partition's results itself, in bulk and
idempotently, so a retried task or a resumed run never duplicates anything.
Importing this package loads no Dask: each function imports it when called.
"""

from __future__ import annotations

from qual_nlp.distributed.cluster import connect
from qual_nlp.distributed.encode import ClusterEncoder
from qual_nlp.distributed.plugin import resource, worker_resources
from qual_nlp.distributed.run import run_partitions

__all__ = ["ClusterEncoder", "connect", "resource", "run_partitions", "worker_resources"]
