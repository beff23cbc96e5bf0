"""Project storage: the only package that imports SQLAlchemy (SQLite and PostgreSQL,
migrated by Alembic).

Owns the schema, the migrations and :class:`Store`, the single read/write path, which
composes its parts (``codings``, ``queue``, ``model_versions``, ``assignments``) over
one :class:`~qual_nlp.storage.journal.Journal`. May import: :mod:`qual_nlp.errors`,
:mod:`qual_nlp.records` and, in :mod:`~qual_nlp.storage.store` only, the codebook records.
"""

from qual_nlp.storage.store import Store, now, text_hash

__all__ = ["Store", "now", "text_hash"]
