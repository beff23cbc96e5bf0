"""Project storage: the only package that imports SQLAlchemy.

``Store`` is the single read/write path; see :mod:`qual_nlp.storage.store`.
"""

from qual_nlp.storage.store import Store, now, text_hash

__all__ = ["Store", "now", "text_hash"]
