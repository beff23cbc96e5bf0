"""A facet's fine-tuned encoder: tuning, the comparison with the frozen one, and its use.

``project.model.fine_tune(facet)`` runs :mod:`qual_nlp.suggest.finetune` on the facet's
reviewed segments and records the outcome in the project (meta key ``tuned_encoders``,
one entry per facet: the tuned encoder's folder, its cross-validated κ and macro-F1, the
frozen encoder's on the same folds, and whether it is used). The tuned version is also a
model version of its own (:data:`TUNED_MODEL`), so the model history shows it as one
more coder with its scores. Only where it won does the facet's trained estimator read
the tuned encoder's vectors, which are cached under that encoder's own name (its folder
name and weights digest), so they never mix with the frozen encoder's.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qual_nlp.errors import ValidationError
from qual_nlp.project.service import Progress

if TYPE_CHECKING:  # pragma: no cover
    from qual_nlp.project.model import ModelService
    from qual_nlp.suggest.labels import FacetLabels

#: The model versions of tuned encoders' estimators (one facet per version).
TUNED_MODEL = "model:tuned-encoder"
#: Project meta key of the per-facet records.
META = "tuned_encoders"
#: Tuned encoders run through torch: they are fresh weights with no ONNX export.
TUNED_BACKEND = "torch"


def records(store: Any) -> dict[str, dict[str, Any]]:
    """Per facet, the last fine-tuning's record (empty when none was run)."""
    return dict(store.get_meta(META) or {})


def _participant_labels(service: ModelService, facet: str, inputs: Any) -> FacetLabels:
    """The facet's labels on reviewed participant segments (rows of ``inputs``)."""
    from qual_nlp.suggest import engine
    from qual_nlp.suggest.labels import FacetLabels, facet_labels

    project = service._project
    codebook = project.codebook()
    known = [f.id for f in codebook.facets]
    if facet not in known:
        raise ValidationError(
            f"facet {facet!r} is not in this project's codebook; choose one of {', '.join(known)}"
        )
    labels = facet_labels(project._codings(), service.store.codings.coverage(), codebook)[facet]
    present = set(inputs.ids)
    keep = [i for i, s in enumerate(labels.segment_ids) if int(s) in present]
    fl = FacetLabels(
        facet, labels.exclusive, labels.segment_ids[keep], [labels.labels[i] for i in keep]
    )
    if not engine._usable(fl):
        raise ValidationError(
            f"facet {facet} has {len(fl)} reviewed participant segments; fine-tuning needs at "
            f"least {engine.MIN_LABELS} with two different answers. Keep reviewing, then "
            "fine-tune again."
        )
    return fl


def _rows(inputs: Any, segment_ids: Any) -> list[int]:
    row_of = {int(s): i for i, s in enumerate(inputs.ids)}
    return [row_of[int(s)] for s in segment_ids]


def fine_tune(
    service: ModelService,
    facet: str,
    *,
    minutes: float = 5.0,
    folds: int = 3,
    progress: Progress | None = None,
    choose: str = "better",
    resuggest: bool = True,
    seed: int = 0,
    epochs: int = 1,
) -> dict[str, Any]:
    """See :meth:`qual_nlp.project.model.ModelService.fine_tune`."""
    from qual_nlp.resources import encoder_path
    from qual_nlp.resources.cache import model_dir
    from qual_nlp.resources.finetune import tune_encoder
    from qual_nlp.suggest import finetune

    if minutes <= 0:
        raise ValidationError(f"minutes must be positive, got {minutes!r}; e.g. --minutes 5")
    if epochs < 1:
        raise ValidationError(f"epochs must be at least 1, got {epochs!r}; e.g. --epochs 1")
    finetune.check_choice(choose)
    started = time.monotonic()
    store = service.store
    embedder = service.embedder()
    inputs = service.inputs(embedder)
    fl = _participant_labels(service, facet, inputs)
    rows = _rows(inputs, fl.segment_ids)
    texts = [inputs.texts[r] for r in rows]
    base = encoder_path(service.encoder()[0])
    seconds = float(minutes) * 60.0

    def tune(pairs: Any, cap: float, step: Any) -> Any:
        return tune_encoder(base, pairs, seconds=cap, epochs=epochs, seed=seed, progress=step)

    clock = time.monotonic()  # the cap counts from here: the frozen vectors are cached
    comparison = finetune.compare(
        texts,
        fl,
        inputs.X[rows],
        tune,
        folds=folds,
        seconds=seconds,
        seed=seed,
        epochs=epochs,
        progress=progress,
        runs_after=1,
    )
    used = finetune.decide(comparison, choose)
    total = int(comparison.extra["planned_steps"])
    done = int(comparison.extra["done_steps"])
    folder: Path | None = None
    blob = None
    final: dict[str, Any] = {}
    if used:
        # the kept encoder is tuned once more on every reviewed segment: the recipe the folds
        # scored, on all the labels (a fold's encoder never saw a third of them). When the
        # cap cut the folds' runs short, it takes as many steps as they did on average, so
        # it is trained as much as the encoders that were scored (not just what time is left)
        pairs = finetune.make_pairs(texts, fl.labels, seed=seed)
        limit = (
            max(1, round(float(np.mean(comparison.steps))))
            if comparison.stopped_by_cap and comparison.steps
            else None
        )
        target = model_dir() / "tuned" / f"{facet}-{time.strftime('%Y%m%d')}-{uuid.uuid4().hex[:8]}"

        def step(d: int, _t: int) -> None:
            if progress is not None:
                progress(min(done + d, total), total)

        run = tune_encoder(
            base,
            pairs,
            seconds=seconds if limit else max(seconds - (time.monotonic() - clock), 60.0),
            max_steps=limit,
            epochs=epochs,
            seed=seed,
            out=target,
            progress=step,
        )
        folder = run.folder
        final = {"steps": run.steps, "stopped_by_cap": run.stopped_by_cap or bool(limit)}
        model = _fit(service, facet, fl, str(folder))
        from qual_nlp.suggest import engine

        blob = engine.dumps(model)
    if progress is not None:
        progress(total, total)
    scores = {
        "n": len(fl),
        "kappa": comparison.tuned.kappa,
        "macro_f1": comparison.tuned.macro_f1,
        "frozen_kappa": comparison.frozen.kappa,
        "frozen_macro_f1": comparison.frozen.macro_f1,
        "folds": comparison.folds,
        "used": used,
    }
    version = store.model_versions.add(TUNED_MODEL, {facet: scores}, blob, len(fl))
    record = {
        **scores,
        "encoder": str(folder) if folder else None,
        "base_encoder": service.encoder()[0],
        "model": TUNED_MODEL,
        "version": version,
        "choose": choose,
        "fold_kappas": list(comparison.tuned.kappas),
        "frozen_fold_kappas": list(comparison.frozen.kappas),
        "fold_steps": list(comparison.steps),
        "stopped_by_cap": comparison.stopped_by_cap or bool(final.get("stopped_by_cap")),
        "final_steps": final.get("steps"),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    saved = records(store)
    saved[facet] = record
    store.set_meta(META, saved)
    summary: dict[str, Any] = {
        **record,
        "facet": facet,
        "model": f"{TUNED_MODEL}@{version}",
        "seconds": round(time.monotonic() - started, 1),
        "message": (
            f"the tuned encoder is used for {facet}: its cross-validated kappa "
            f"{comparison.tuned.kappa:.3f} beats the frozen encoder's {comparison.frozen.kappa:.3f}"
            if used and comparison.tuned_wins
            else f"the tuned encoder is used for {facet} as asked (choose={choose})"
            if used
            else f"the frozen encoder stays for {facet}: tuned kappa "
            f"{comparison.tuned.kappa:.3f} vs frozen {comparison.frozen.kappa:.3f}"
        ),
    }
    if used and resuggest:
        summary["suggest"] = service.suggest(facet)
    return summary


def _tuned_inputs(service: ModelService, folder: str) -> Any:
    from qual_nlp.project.inputs import segment_inputs
    from qual_nlp.project.model import make_embedder

    return segment_inputs(service.store, make_embedder(service.store, folder, TUNED_BACKEND))


def _fit(service: ModelService, facet: str, fl: FacetLabels, folder: str) -> Any:
    """The facet's estimator (with the word and context features, as in training) fitted
    on the tuned encoder's vectors of the reviewed segments."""
    from qual_nlp.suggest import engine

    inputs = _tuned_inputs(service, folder)
    rows = _rows(inputs, fl.segment_ids)
    texts = [inputs.texts[r] for r in rows]
    languages = [inputs.languages[r] for r in rows]
    model = engine.train(
        service._project.codebook(),
        inputs.X[rows],
        np.asarray(fl.segment_ids),
        {facet: fl},
        Path(folder).name,
        texts=texts,
        context=inputs.context[rows],
        cross_validate=False,
        languages=languages,
    )
    if facet not in model.facets:
        raise ValidationError(f"facet {facet}: the tuned encoder's estimator could not be fitted")
    return model


def used_facets(store: Any) -> dict[str, dict[str, Any]]:
    """Records of the facets whose tuned encoder won (or was chosen) and is on disk."""
    return {
        f: r
        for f, r in records(store).items()
        if r.get("used") and r.get("encoder") and Path(r["encoder"]).is_dir()
    }


def missing(store: Any) -> list[str]:
    """Facets whose tuned encoder won but whose folder is gone (another machine's model
    cache, or a cleared one): they are suggested from the frozen encoder until
    ``finetune`` is run again."""
    return sorted(
        f
        for f, r in records(store).items()
        if r.get("used") and not (r.get("encoder") and Path(r["encoder"]).is_dir())
    )


def apply(
    service: ModelService,
    ids: list[int],
    zero: dict[str, Any],
    proba: dict[str, Any],
    cuts: dict[str, float],
) -> list[str]:
    """Replace, in ``proba`` and ``cuts``, each used facet's trained probabilities by its
    tuned encoder's; returns the facets so replaced."""
    from qual_nlp.suggest import engine

    done = []
    for facet, record in sorted(used_facets(service.store).items()):
        if facet not in proba:
            continue  # the codebook lost the facet since
        found = service.store.model_versions.blob(TUNED_MODEL, int(record["version"]))
        if found is None:
            continue
        model = engine.loads(found[1])
        inputs = _tuned_inputs(service, record["encoder"])
        if inputs.ids != ids:  # pragma: no cover - both read the same segments generation
            continue
        blend_tuned(facet, zero, inputs.predict(model), model, proba, cuts)
        done.append(facet)
    return done


def blend_tuned(
    facet: str,
    zero: dict[str, Any],
    trained: dict[str, Any],
    model: Any,
    proba: dict[str, Any],
    cuts: dict[str, float],
) -> None:
    """Put a used facet's tuned scores in ``proba`` and its thresholds in ``cuts``: the
    probabilities of its tuned encoder's estimator ``model`` (``trained``), blended with
    the facet's zero-shot ones as every other facet's trained probabilities are. The one
    place this is done, for the single process (:func:`apply`) and for each partition on
    the Dask workers (``project.batch.suggest_partition``), so the two agree."""
    from qual_nlp.suggest import engine

    alone = {facet: zero[facet]} if facet in zero else {}
    proba[facet] = engine.blend(alone, {facet: trained[facet]}, model)[facet]
    cuts.update(engine.thresholds(model))


def refit(service: ModelService, labels: dict[str, FacetLabels]) -> dict[str, int]:
    """After a training: each used facet's estimator fitted again on the tuned vectors of
    every reviewed segment (the encoder itself is not tuned again: run fine_tune for
    that); returns the new version per facet. Its scores stay the fine-tuning's."""
    from qual_nlp.suggest import engine

    out: dict[str, int] = {}
    saved = records(service.store)
    for facet, record in sorted(used_facets(service.store).items()):
        if facet not in labels:
            continue
        inputs = _tuned_inputs(service, record["encoder"])
        present = set(inputs.ids)
        fl = labels[facet]
        keep = [i for i, s in enumerate(fl.segment_ids) if int(s) in present]
        from qual_nlp.suggest.labels import FacetLabels

        fl = FacetLabels(facet, fl.exclusive, fl.segment_ids[keep], [fl.labels[i] for i in keep])
        if not engine._usable(fl):
            continue
        model = _fit(service, facet, fl, record["encoder"])
        scores = {k: record[k] for k in ("kappa", "macro_f1", "frozen_kappa", "frozen_macro_f1")}
        scores |= {"n": len(fl), "used": True, "scored_at_fine_tune": record["version"]}
        version = service.store.model_versions.add(
            TUNED_MODEL, {facet: scores}, engine.dumps(model), len(fl)
        )
        saved[facet] = {**record, "version": version, "n": len(fl)}
        out[facet] = version
    if out:
        service.store.set_meta(META, saved)
    return out
