"""The HTTP API: FastAPI routes over the facade, served by uvicorn (``qual-nlp serve``).

Each route is a thin translation like a command of :mod:`qual_nlp.cli`: it reads the
request, calls :class:`~qual_nlp.project.Project` acting as the user its bearer token
stands for, and returns JSON (or a file). The permission each route needs is declared in
one table (:data:`~qual_nlp.api.routes.RULES`) and checked by the facade's rules
(:mod:`qual_nlp.access`), so the API, the app and the command line cannot disagree.
The only package that imports FastAPI, Starlette and uvicorn.

>>> from qual_nlp.api import create_app
>>> app = create_app("study.qnlp")                           # doctest: +SKIP
"""

from __future__ import annotations

from qual_nlp.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
