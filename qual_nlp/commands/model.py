"""``qual-nlp suggest``, ``train``, ``curve``, ``evaluate`` and ``bench``: the suggestion
model of a project (suggest codes, train on the reviews, the learning curve of the review
order), and the encoder and classifier outside one (scored on labelled CSVs, timed)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from qual_nlp.commands.common import (
    batch_arguments,
    batch_options,
    emit,
    encoder_options,
    open_project,
    progress_bar,
)

__all__ = [
    "bench_arguments",
    "cmd_bench",
    "cmd_curve",
    "cmd_evaluate",
    "cmd_suggest",
    "cmd_train",
    "curve_arguments",
    "evaluate_arguments",
    "suggest_arguments",
    "train_arguments",
]


def suggest_arguments(p: argparse.ArgumentParser) -> None:
    """The ``suggest`` command's arguments (after PROJECT)."""
    p.add_argument("--facet", help="only this facet (default: all)")
    batch_arguments(p, partitions=True)
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_suggest(args: argparse.Namespace) -> int:
    batch = batch_options(args)
    unit = "segment" if batch else "it"
    with open_project(args) as project, progress_bar(args, "suggest", unit) as bar:
        result = project.model.suggest(facet=args.facet, progress=bar, **batch)
        warnings = [
            project.model.coverage_warning(u["document"], u["language"])
            for u in result["uncovered_documents"]
        ]
    text = (
        f"{result['suggestions']} suggestions on {result['segments']} segments by {result['model']}"
    )
    emit(args, result, text)
    for warning in [] if args.json else warnings:  # --json carries uncovered_documents
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def train_arguments(p: argparse.ArgumentParser) -> None:
    """The ``train`` command's arguments (after PROJECT)."""
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_train(args: argparse.Namespace) -> int:
    with open_project(args) as project, progress_bar(args, "train") as bar:
        result = project.model.train(progress=bar)
    if result["model"] is None:
        emit(args, result, f"not trained: {result['message']}")
        return 0
    lines = [f"{result['model']}: trained on {result['n_labels']} reviewed segments"]
    for facet, m in result.get("facets", {}).items():
        lines.append(
            f"  {facet:14s} labels {m.get('n', 0):5d}  macro-F1 {_fmt(m.get('macro_f1'))}"
            f"  kappa {_fmt(m.get('kappa'))}  ({m.get('mode', '')})"
        )
    emit(args, result, "\n".join(lines))
    return 0


def curve_arguments(p: argparse.ArgumentParser) -> None:
    """The ``curve`` command's arguments (after PROJECT)."""
    p.add_argument("--facet", required=True, help="the facet (e.g. valence)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_curve(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    with open_project(args) as project, progress_bar(args, "learning curve") as bar:
        curve = project.model.learning_curve(args.facet, progress=bar)
    lines = [f"{'labels':>6s}  {'queue κ':>8s}  {'random κ':>8s}"]
    by = {(p.order, p.labels): p.kappa for p in curve.points}
    for n in sorted({p.labels for p in curve.points}):
        queue, rand = by.get(("uncertainty", n)), by.get(("random", n))
        lines.append(f"{n:6d}  {_fmt(queue)}    {_fmt(rand)}")
    lines.append(curve.reading)
    emit(args, asdict(curve), "\n".join(lines))
    return 0


def _fmt(value: Any) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def evaluate_arguments(p: argparse.ArgumentParser) -> None:
    """The ``evaluate`` command's arguments (it takes no project)."""
    p.add_argument("--train", required=True, help="labelled CSV to train on")
    p.add_argument("--test", help="labelled CSV to score (or --cv to cross-validate --train)")
    p.add_argument("--text-col", default="text", help="text column (default: text)")
    p.add_argument("--labels-col", default="labels", help="labels column (default: labels)")
    p.add_argument("--sep", default=";", help="separator of several labels (default: ;)")
    p.add_argument("--context-col", help="column with the preceding turn, used as context")
    p.add_argument("--curve", help="learning curve at these training sizes, e.g. 50,100,200")
    p.add_argument("--cv", type=int, default=0, help="cross-validate --train in N folds instead")
    p.add_argument(
        "--group-col", help="with --cv: keep rows of one group (e.g. transcript) together"
    )
    p.add_argument("--C", type=float, default=1.0, help="inverse regularisation (default: 1.0)")
    p.add_argument("--tfidf-weight", type=float, default=1.0, help="TF-IDF block weight (0 = off)")
    p.add_argument("--context-weight", type=float, default=0.5, help="context block weight")
    p.add_argument("--cache", help="project file used as embedding cache (created if absent)")
    encoder_options(p, "; with --cache it must match the cache's encoder")
    batch_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from qual_nlp.suggest.evaluate import evaluate_files

    curve = [int(x) for x in args.curve.split(",")] if args.curve else None
    options: dict[str, Any] = {
        "text_col": args.text_col,
        "labels_col": args.labels_col,
        "sep": args.sep,
        "context_col": args.context_col,
        "group_col": args.group_col,
        "curve": curve,
        "folds": args.cv,
        "C": args.C,
        "tfidf_weight": args.tfidf_weight,
        "context_weight": args.context_weight,
    }
    if args.cache:
        from qual_nlp.project import Project

        # a cache project keeps one encoder: asking it for another is a clear error
        with Project.init(args.cache, encoder=args.encoder, backend=args.backend) as cache:
            encoder, backend = cache.model.encoder()
            embedder = cache.model.embedder()
            if batch_options(args):
                with _cluster_embedder(args, encoder, backend, embedder.cache) as embedder:
                    report = evaluate_files(args.train, args.test, embedder=embedder, **options)
            else:
                report = evaluate_files(args.train, args.test, embedder=embedder, **options)
    else:
        from qual_nlp.project.model import resolve_encoder
        from qual_nlp.suggest.embed import Embedder

        encoder, backend = resolve_encoder(args.encoder, args.backend)
        if batch_options(args):
            with _cluster_embedder(args, encoder, backend) as embedder:
                report = evaluate_files(args.train, args.test, embedder=embedder, **options)
        else:
            report = evaluate_files(
                args.train, args.test, embedder=Embedder(encoder, backend=backend), **options
            )
    payload = report.to_dict() | {"encoder": encoder, "backend": backend}
    emit(args, payload, f"{report.summary()}\nencoder: {encoder} through {backend}")
    return 0


@contextmanager
def _cluster_embedder(
    args: argparse.Namespace, encoder: str, backend: str, cache: Any = None
) -> Iterator[Any]:
    """An Embedder whose texts are encoded on Dask workers (evaluate --workers/--scheduler)."""
    from qual_nlp.distributed import ClusterEncoder, connect
    from qual_nlp.suggest.embed import Embedder

    with connect(args.workers, args.scheduler) as client:
        model = ClusterEncoder(client, encoder, backend)
        # big calls: the cluster encoder splits them into tasks of its own
        yield Embedder(encoder, backend=backend, batch_size=1 << 16, model=model, cache=cache)


def bench_arguments(p: argparse.ArgumentParser) -> None:
    """The ``bench`` command's arguments (it takes no project)."""
    p.add_argument("--segments", type=int, default=2000, help="segments for the throughput runs")
    p.add_argument("--resuggest", type=int, default=100_000, help="cached segments to re-suggest")
    encoder_options(p, "; measured against its torch reference")
    p.add_argument(
        "--no-english-reference",
        action="store_true",
        help="skip the end-to-end run with all-MiniLM-L6-v2 through torch",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_bench(args: argparse.Namespace) -> int:
    from qual_nlp.commands.bench import run_bench

    result = run_bench(
        segments=args.segments,
        resuggest=args.resuggest,
        encoder=args.encoder,
        backend=args.backend,
        english_reference=not args.no_english_reference,
    )
    emit(args, result, "\n".join(f"{k:38s} {v}" for k, v in result.items()))
    return 0
