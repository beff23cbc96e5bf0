"""The ``qual-nlp`` commands: each one's options (a function given the subparser) and its
handler (``cmd_<name>(args) -> exit status``), which calls the facade and prints the
result, one JSON document under ``--json``. :mod:`qual_nlp.cli` lists them in its table,
builds the parser from it and runs the handler.

* :mod:`~qual_nlp.commands.common`: what the handlers share: ``emit``, the project opened
  as ``--user``, progress bars on stderr, the encoder and Dask option groups;
* :mod:`~qual_nlp.commands.corpus`: ``init``, ``import``, ``segments``,
  ``import-taguette``;
* :mod:`~qual_nlp.commands.model`: ``suggest``, ``train``, ``curve``, ``evaluate``,
  ``bench``;
* :mod:`~qual_nlp.commands.finetune`: ``finetune``;
* :mod:`~qual_nlp.commands.analysis`: ``matrix``, ``agreement``, ``export``;
* :mod:`~qual_nlp.commands.deid`: ``deid``; :mod:`~qual_nlp.commands.memos`: ``memo``;
* :mod:`~qual_nlp.commands.accounts`: who acts (``--user``), passwords, ``users``, where
  the app may listen;
* :mod:`~qual_nlp.commands.app`: ``app`` and ``demo``;
* and the multi-step work two of them run: the sample project
  (:mod:`~qual_nlp.commands.demo`), speed and memory (:mod:`~qual_nlp.commands.bench`).

``serve`` stays in :mod:`qual_nlp.cli`: it starts :mod:`qual_nlp.api`, which this package
may not import. Sits beside :mod:`qual_nlp.api` at the top layer, below :mod:`qual_nlp.cli`;
may import :mod:`qual_nlp.project` and everything below it. Nothing but the CLI (and
benchmarks or tests) imports it.
"""
