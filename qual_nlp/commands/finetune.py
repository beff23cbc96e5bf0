"""``qual-nlp finetune``: its arguments, and fine-tuning the encoder on one facet through
the facade (``project.model.fine_tune``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from qual_nlp.commands.common import emit, open_project, progress_bar

__all__ = ["cmd_finetune", "finetune_arguments", "run"]


def finetune_arguments(p: argparse.ArgumentParser) -> None:
    """The ``finetune`` command's arguments (after PROJECT)."""
    p.add_argument("--facet", required=True, help="the facet whose reviewed segments teach it")
    p.add_argument(
        "--minutes", type=float, default=5.0, help="time cap of the whole run (default: 5)"
    )
    p.add_argument(
        "--folds", type=int, default=3, help="folds of the comparison with the frozen encoder"
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=1,
        help="passes over the pairs in each run, within the time cap (default: 1)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")


def run(
    project: Any, args: argparse.Namespace, progress: Callable[[int, int], None] | None = None
) -> tuple[dict[str, Any], str]:
    """Fine-tune on ``args.facet``; (JSON payload, text) to print."""
    result = project.model.fine_tune(
        args.facet,
        minutes=args.minutes,
        folds=args.folds,
        epochs=args.epochs,
        progress=progress,
    )
    lines = [
        f"{result['model']}: {result['facet']}, {result['n']} reviewed segments, "
        f"{result['folds']} folds",
        f"  kappa     tuned {result['kappa']:.3f}   frozen {result['frozen_kappa']:.3f}",
        f"  macro-F1  tuned {result['macro_f1']:.3f}   frozen {result['frozen_macro_f1']:.3f}",
        f"  {result['message']}",
    ]
    if result.get("stopped_by_cap"):
        lines.append(f"  the {args.minutes:g}-minute cap stopped the training early")
    if result.get("encoder"):
        lines.append(f"  tuned encoder: {result['encoder']}")
    return result, "\n".join(lines)


def cmd_finetune(args: argparse.Namespace) -> int:
    with open_project(args) as project, progress_bar(args, "fine-tune", "step") as bar:
        payload, text = run(project, args, bar)
    emit(args, payload, text)
    return 0
