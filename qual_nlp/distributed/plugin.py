"""The worker plugin: what every task of a worker shares, loaded once per worker."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from qual_nlp.errors import ValidationError
from qual_nlp.resources import THREADS_ENV

#: Loaded resources of this worker process, by plugin name.
_LOADED: dict[str, Any] = {}
_LOCK = threading.Lock()


def resource(name: str) -> Any:
    """What the plugin ``name`` loaded in this worker process."""
    with _LOCK:
        if name in _LOADED:
            return _LOADED[name]
    raise ValidationError(
        f"this Dask worker has not loaded {name!r}: register the plugin "
        "(worker_resources) before submitting its tasks"
    )


def _load(name: str, load: Callable[[], Any], threads: int | None) -> None:
    if threads is not None:  # before the encoder is built: its thread pools read it
        os.environ[THREADS_ENV] = str(threads)
    value = load()
    with _LOCK:
        old = _LOADED.pop(name, None)
        _LOADED[name] = value
    _close(old)


def _unload(name: str) -> None:
    with _LOCK:
        old = _LOADED.pop(name, None)
    _close(old)


def _close(value: Any) -> None:
    close = getattr(value, "close", None)
    if callable(close):
        close()


def worker_resources(name: str, load: Callable[[], Any], *, threads: int | None = 1) -> Any:
    """A :class:`distributed.WorkerPlugin` that calls ``load()`` once on every worker
    (and on a worker that joins later, e.g. one restarted after a crash), keeps the result
    for :func:`resource` and closes it (if it has ``close``) when unregistered.

    ``load`` is pickled to the workers: a module-level function, or a
    :func:`functools.partial` of one over plain values. ``threads`` caps the encoder's
    intra-op threads on the worker (None: leave them as the worker has them).
    """
    from qual_nlp.distributed.worker_plugin import WorkerResources

    return WorkerResources(name, load, threads)
