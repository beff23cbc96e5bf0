"""One task per partition on a cluster, with retries and progress across workers."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from qual_nlp.distributed.plugin import resource
from qual_nlp.errors import BatchError

#: Times a task is run again after an error raised inside it (a worker that dies while
#: running it is handled by the scheduler, which gives the task to another worker).
RETRIES = 2


def _call(name: str, task: Callable[[Any, Any], Any], part: Any) -> Any:
    """Runs on a worker: ``task(what the plugin loaded, partition)``."""
    return task(resource(name), part)


def run_partitions(
    client: Any,
    task: Callable[[Any, Any], Any],
    partitions: Sequence[Any],
    *,
    plugin: Any,
    sizes: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    label: str = "batch",
    retries: int = RETRIES,
) -> list[Any]:
    """Run ``task(loaded, partition)`` for every partition on the client's workers.

    ``plugin`` (from :func:`~qual_nlp.distributed.worker_resources`) is registered first,
    so every worker loads what tasks share once; it is unregistered afterwards. Results
    come back in the order of ``partitions``. ``progress(done, total)`` is called as
    partitions finish, counting ``sizes`` (default: one per partition). If anything
    stops the run (an error, or ``progress`` raising), unfinished tasks are cancelled;
    what finished is written and stays.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    sizes = list(sizes) if sizes is not None else [1] * len(partitions)
    total = sum(sizes)
    if progress is not None:
        progress(0, total)
    if not partitions:
        return []
    client.register_plugin(plugin, name=plugin.name)
    run = uuid.uuid4().hex[:8]
    keys = [f"{label}-{run}-{i}" for i in range(len(partitions))]
    index = {key: i for i, key in enumerate(keys)}
    futures = [
        client.submit(_call, plugin.name, task, part, key=key, pure=False, retries=retries)
        for key, part in zip(keys, partitions, strict=True)
    ]
    results: list[Any] = [None] * len(partitions)
    done = 0
    try:
        for future in as_completed(futures):
            i = index[future.key]
            try:
                results[i] = future.result()
            except KilledWorker as exc:
                raise BatchError(
                    f"{label}: partition {i} of {len(partitions)} killed every worker that "
                    f"ran it ({exc}); look at the workers' logs (memory? a crash in the "
                    "encoder?), then run the same command again: finished partitions are kept"
                ) from exc
            done += sizes[i]
            if progress is not None:
                progress(done, total)
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        # a closing cluster may have no plugin left to remove
        with contextlib.suppress(Exception):
            client.unregister_worker_plugin(plugin.name)
    return results
