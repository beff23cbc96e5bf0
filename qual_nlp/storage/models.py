"""Model versions: each trained suggestion model, its metrics and its pickle-free file.

Part of :class:`~qual_nlp.storage.store.Store` (``store.model_versions``).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, insert, select, update

from qual_nlp.storage import schema as t
from qual_nlp.storage.dialect import binary
from qual_nlp.storage.journal import Journal, now


class ModelVersions:
    """The model versions table of one project store."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def add(self, name: str, metrics: dict[str, Any], blob: bytes | None, n_labels: int) -> int:
        with self.journal.write(name, "train", "model", name, after=metrics) as conn:
            version = (
                conn.execute(
                    select(func.max(t.model_versions.c.version)).where(
                        t.model_versions.c.name == name
                    )
                ).scalar()
                or 0
            ) + 1
            conn.execute(
                insert(t.model_versions).values(
                    name=name,
                    version=version,
                    created_at=now(),
                    n_labels=n_labels,
                    metrics=json.dumps(metrics, default=float),
                    model=blob,
                )
            )
        return int(version)

    def update_metrics(self, name: str, version: int, metrics: dict[str, Any]) -> None:
        mv = t.model_versions
        where = and_(mv.c.name == name, mv.c.version == version)
        with self.journal.write(name, "score", "model", f"{name}@{version}", after=metrics) as conn:
            conn.execute(update(mv).where(where).values(metrics=json.dumps(metrics, default=float)))

    def frame(self) -> pd.DataFrame:
        mv = t.model_versions
        query = select(
            mv.c.name, mv.c.version, mv.c.created_at, mv.c.n_labels, mv.c.metrics
        ).order_by(binary(mv.c.name), mv.c.version)
        with self.journal.engine.connect() as conn:
            frame = pd.DataFrame(
                conn.execute(query).all(),
                columns=["name", "version", "created_at", "n_labels", "metrics"],
            )
        frame["metrics"] = frame["metrics"].map(json.loads)
        return frame

    def blob(self, name: str, version: int | None = None) -> tuple[int, bytes] | None:
        mv = t.model_versions
        query = select(mv.c.version, mv.c.model).where(mv.c.name == name)
        if version is not None:
            query = query.where(mv.c.version == version)
        with self.journal.engine.connect() as conn:
            row = conn.execute(query.order_by(mv.c.version.desc()).limit(1)).first()
        return None if row is None or row[1] is None else (int(row[0]), bytes(row[1]))
