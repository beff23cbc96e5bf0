"""The one error hierarchy of qual_nlp.

Every message names the file or record concerned, what was expected, what was
found and what to do about it, so that a researcher can fix the input without
reading a traceback.
"""

from __future__ import annotations


class QualNLPError(Exception):
    """Base class of every error qual_nlp raises on purpose."""


class ImportFileError(QualNLPError):
    """A file could not be imported (unsupported, corrupt, empty, undecodable, too big).

    Carries the offending ``path`` so batch imports can report it and go on.
    """

    def __init__(self, path: str, problem: str, fix: str) -> None:
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {problem}. {fix}")


class CodebookError(QualNLPError):
    """A codebook file or edit is invalid (duplicate id, unknown parent, …)."""


class StorageError(QualNLPError):
    """The project store cannot be opened, migrated or written."""


class ProjectNotFoundError(StorageError):
    """The project file or database does not exist or holds no qual_nlp project."""


class RecordNotFoundError(QualNLPError):
    """A document, segment, code, coder or case named by the caller does not exist."""


class ValidationError(QualNLPError):
    """Input to an estimator or analysis function has the wrong shape or values."""


class ModelError(QualNLPError):
    """An embedding model or trained model file cannot be loaded or used."""


class BatchError(QualNLPError):
    """A partition of a batch run (on Dask workers) failed on every attempt."""


class ExchangeError(QualNLPError):
    """A REFI-QDA (.qdpx/.qdc) or other exchange file is malformed or unsafe."""


class AccessDeniedError(QualNLPError):
    """The acting user may not do this (their role, a blind assignment, or no sign-in)."""


class SignInError(AccessDeniedError):
    """A sign-in failed: unknown user, wrong password, disabled or locked account."""
