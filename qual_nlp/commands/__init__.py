"""Multi-step commands composed over the facade: build the sample project
(:mod:`~qual_nlp.commands.demo`), measure speed and memory
(:mod:`~qual_nlp.commands.bench`), and accounts on the command line: who acts, passwords,
``users``, where the app may listen (:mod:`~qual_nlp.commands.accounts`).

Sits beside :mod:`qual_nlp.cli` at the top layer; may import :mod:`qual_nlp.project`
and everything below it. Nothing but the CLI (and benchmarks or tests) imports it.
"""
