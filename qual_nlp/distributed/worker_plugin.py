"""The plugin class itself (importing it imports ``distributed``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from distributed import WorkerPlugin

from qual_nlp.distributed.plugin import _load, _unload


class WorkerResources(WorkerPlugin):  # type: ignore[misc]
    """Loads ``load()`` once per worker under ``name`` (see :func:`worker_resources`)."""

    def __init__(self, name: str, load: Callable[[], Any], threads: int | None) -> None:
        self.name = name
        self.load = load
        self.threads = threads

    def setup(self, worker: Any) -> None:
        _load(self.name, self.load, self.threads)

    def teardown(self, worker: Any) -> None:
        _unload(self.name)
