"""Contrastive fine-tuning of a sentence encoder on labelled pairs (SetFit's first stage).

The encoder learns to put texts with the same label close together and texts with
different labels apart: sentence-transformers' ``CosineSimilarityLoss`` over (text, text,
1.0 or 0.0) pairs, trained by its ``SentenceTransformerTrainer`` (AdamW, a linear warm-up
over the first tenth of the planned steps that learns from the first step, then a linear
decay; gradients clipped at 1.0)
with a callback that reports each step and stops the run at a wall-clock cap between any
two steps. The result is a standard sentence-transformers folder, so it loads like
any other local encoder (:func:`qual_nlp.resources.load_encoder`).

torch and sentence-transformers are imported inside :func:`tune_encoder` only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qual_nlp.errors import ModelError, ValidationError

#: A pair to learn from: two texts and their target cosine (1.0 same label, 0.0 different).
Pair = tuple[str, str, float]


@dataclass
class TunedEncoder:
    """What one fine-tuning run produced: the encoder (a loaded ``SentenceTransformer``),
    the steps it took out of those planned, whether the time cap stopped it, and the folder
    it was saved to (None when not saved)."""

    model: Any
    steps: int
    planned: int
    stopped_by_cap: bool
    seconds: float
    folder: Path | None = None


def planned_steps(n_pairs: int, epochs: int, batch_size: int) -> int:
    """Optimiser steps of a full run: batches per epoch × epochs."""
    return max(1, math.ceil(n_pairs / batch_size)) * max(1, epochs)


def tune_encoder(
    base: str | Path,
    pairs: Sequence[Pair],
    *,
    seconds: float,
    epochs: int = 1,
    batch_size: int = 16,
    learning_rate: float = 2e-5,
    seed: int = 0,
    max_steps: int | None = None,
    out: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TunedEncoder:
    """Fine-tune the sentence-transformers model in folder ``base`` on ``pairs``.

    Stops after ``epochs`` (or ``max_steps``), or as soon as ``seconds`` have passed
    (checked after every step; at least one step is taken), calls ``progress(steps done, steps planned)`` after
    each step, and, with ``out``, saves the tuned model there as a standard
    sentence-transformers folder (written beside it and renamed into place).

    >>> tuned = tune_encoder(folder, [("late again", "no reply", 1.0)], seconds=30)  # doctest: +SKIP
    """
    if not pairs:
        raise ValidationError(
            "tune_encoder: no pairs to learn from; a facet needs at least two labels with "
            "two reviewed segments each. Review more segments, then fine-tune again."
        )
    if seconds <= 0:
        raise ValidationError(f"tune_encoder: the time cap must be positive, got {seconds!r}")
    from qual_nlp.resources import _offline, encoder_threads

    _offline()
    import tempfile

    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss
    from sentence_transformers.sentence_transformer.trainer import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.training_args import (
        SentenceTransformerTrainingArguments,
    )
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    started = time.monotonic()
    torch.set_num_threads(encoder_threads())
    torch.manual_seed(seed)
    try:
        model = SentenceTransformer(str(base), device="cpu", local_files_only=True)
    except Exception as exc:
        raise ModelError(f"cannot load the encoder to fine-tune from {base}: {exc}") from exc
    planned = planned_steps(len(pairs), epochs, batch_size)
    if max_steps is not None:
        planned = max(1, min(planned, int(max_steps)))
    data = Dataset.from_dict(
        {
            "sentence1": [a for a, _, _ in pairs],
            "sentence2": [b for _, b, _ in pairs],
            "score": [float(s) for _, _, s in pairs],
        }
    )
    seen = {"steps": 0, "stopped": False}

    class _Cap(TrainerCallback):  # type: ignore[misc]
        """Reports each step and stops the run once the time cap has passed."""

        def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> Any:
            seen["steps"] = int(state.global_step)
            if progress is not None:
                progress(seen["steps"], planned)
            if seen["steps"] < planned and time.monotonic() - started >= seconds:
                seen["stopped"] = True
                control.should_training_stop = True
            return control

    with tempfile.TemporaryDirectory(prefix="qual_nlp_tune_") as scratch:
        arguments = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            num_train_epochs=max(1, epochs),
            max_steps=planned,
            per_device_train_batch_size=batch_size,
            learning_rate=learning_rate,
            max_grad_norm=1.0,
            seed=seed,
            data_seed=seed,
            use_cpu=True,
            save_strategy="no",
            eval_strategy="no",
            logging_strategy="no",
            report_to=[],
            disable_tqdm=True,
            dataloader_num_workers=0,
        )
        # the trainer's own linear warm-up gives the first step a learning rate of 0, and
        # a run the cap stops after a few steps would learn next to nothing: this schedule
        # learns from the first step (see _warm_then_decay)
        optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, _warm_then_decay(planned))
        trainer = SentenceTransformerTrainer(
            model=model,
            args=arguments,
            train_dataset=data,
            loss=CosineSimilarityLoss(model),
            callbacks=[_Cap()],
            optimizers=(optimiser, schedule),
        )
        for printer in (PrinterCallback, ProgressCallback):  # stdout is the CLI's (--json)
            trainer.remove_callback(printer)
        try:
            trainer.train()
        except Exception as exc:
            raise ModelError(f"fine-tuning {base} failed: {exc}") from exc
    model.eval()
    folder = None
    if out is not None:
        folder = save(model, Path(out))
    steps, stopped = seen["steps"], bool(seen["stopped"])
    return TunedEncoder(model, steps, planned, stopped, time.monotonic() - started, folder)


def _warm_then_decay(planned: int) -> Callable[[int], float]:
    """The learning-rate factor of step ``i``: up linearly over the first tenth of the
    planned steps (the first step already learns, a capped run may take only a few),
    then down linearly to zero at the last planned step."""
    warm = max(1, planned // 10)

    def factor(i: int) -> float:
        if i < warm:
            return (i + 1) / warm
        return max(0.0, (planned - i) / max(1, planned - warm))

    return factor


def save(model: Any, target: Path) -> Path:
    """Save a sentence-transformers model as a folder at ``target`` (complete or absent)."""
    from qual_nlp.resources.cache import build_once

    if target.exists():
        raise ModelError(f"{target} already exists; a tuned encoder is never overwritten")
    return build_once(target, lambda tmp: model.save(str(tmp)), "modules.json")
