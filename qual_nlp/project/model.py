"""The project's suggestion model: encoder, suggestions, training, history.

``project.model`` (a :class:`ModelService`) runs :mod:`qual_nlp.suggest` over the
project's segments and reviewed codings and writes suggestions and queue priorities
back to the store.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from qual_nlp import access as rules
from qual_nlp.errors import ValidationError
from qual_nlp.project.service import Progress, Service
from qual_nlp.records import LearningCurve

#: The encoder of projects that recorded none (made before the choice existed).
LEGACY_ENCODER, LEGACY_BACKEND = "all-MiniLM-L6-v2", "torch"


def resolve_encoder(encoder: str | None, backend: str | None) -> tuple[str, str]:
    """(encoder, backend) checked, with the product's defaults for what is not given;
    a folder becomes its absolute path. Raises before anything is written."""
    from qual_nlp.resources import (
        DEFAULT_BACKEND,
        DEFAULT_ENCODER,
        canonical_encoder,
        check_backend,
        encoder_path,
    )

    wanted_backend = check_backend(backend or DEFAULT_BACKEND)
    wanted = canonical_encoder(encoder or DEFAULT_ENCODER)
    encoder_path(wanted)  # refuses an unknown name or a folder without a model
    folder = Path(wanted).expanduser()
    return (str(folder.resolve()) if folder.is_dir() else wanted), wanted_backend


def make_embedder(store: Any, encoder: str, backend: str) -> Any:
    """An :class:`~qual_nlp.suggest.embed.Embedder` of ``encoder`` through ``backend``
    whose cache is the store (behind the packaged seed vectors of the built-in codebooks)."""
    from qual_nlp.suggest.embed import Embedder
    from qual_nlp.suggest.seed_vectors import SeededCache, load_seed

    embedder = Embedder(encoder, backend=backend)
    # the built-in codebooks' prototype vectors ship with the package
    seed = load_seed(embedder.name)
    embedder.cache = SeededCache(store, seed) if seed else store
    return embedder


class ModelService(Service):
    """Suggest, train, and score the model of one project (``project.model``)."""

    # ----------------------------------------------------------- suggestion
    MODEL = "model:minilm"

    def encoder(self) -> tuple[str, str]:
        """(encoder, backend) of this project; projects that recorded none are from before
        the choice existed and keep all-MiniLM-L6-v2 through torch."""
        return (
            str(self.store.get_meta("encoder") or LEGACY_ENCODER),
            str(self.store.get_meta("encoder_backend") or LEGACY_BACKEND),
        )

    def choose_encoder(self, encoder: str | None = None, backend: str | None = None) -> None:
        """Record the encoder and backend (defaults: the product's) of a project that has
        none yet. A project keeps one encoder, so its vectors and models never mix."""
        wanted, wanted_backend = resolve_encoder(encoder, backend)
        recorded = self.store.get_meta("encoder")
        if recorded is None:
            self.store.set_meta("encoder", wanted)
            self.store.set_meta("encoder_backend", wanted_backend)
            return
        current = self.encoder()
        if (encoder or backend) and (wanted, wanted_backend) != current:
            raise ValidationError(
                f"project {self.store.location} uses encoder {current[0]} through "
                f"{current[1]}; a project keeps one encoder so its vectors and models never "
                f"mix. Create a new project for {wanted} through {wanted_backend}."
            )

    def uncovered(self, documents: list[Any] | None = None) -> list[dict[str, str]]:
        """Documents (all, or those given) whose language this project's encoder does not
        cover, each with its language: they would get few or no suggestions."""
        from qual_nlp.resources import covered_languages

        covered = covered_languages(self.encoder()[0])
        if covered is None:
            return []
        found = []
        for doc in self.store.documents() if documents is None else documents:
            language = (doc.metadata or {}).get("language")
            if language and language not in covered:
                found.append({"document": doc.name, "language": str(language)})
        return found

    def coverage_warning(self, document: str, language: str) -> str:
        """What to tell a user about a document in a language the encoder does not cover."""
        from qual_nlp.ingest.language import label

        encoder = self.encoder()[0]
        return (
            f"{document} is in {label(language)}, which this project's encoder ({encoder}) "
            "does not cover: its passages will get few or no suggestions. Fix: import it into "
            "a project made with `qual-nlp init PROJECT --encoder multilingual-e5-small`."
        )

    def embedder(self) -> Any:
        """The sentence encoder, with this project's embedding cache."""
        return make_embedder(self.store, *self.encoder())

    def inputs(self, embedder: Any | None = None) -> Any:
        """Participant segments with their context, vectors and derived inputs, kept
        between suggestion runs while the segments stay the same
        (:mod:`qual_nlp.project.inputs`)."""
        from qual_nlp.project.inputs import segment_inputs

        return segment_inputs(self.store, embedder or self.embedder())

    def latest(self) -> tuple[int, Any] | None:
        """(version, TrainedModel) of the newest trained model, if any."""
        from qual_nlp.suggest import engine

        found = self.store.model_versions.blob(self.MODEL)
        return None if found is None else (found[0], engine.loads(found[1]))

    def suggest(
        self,
        facet: str | None = None,
        *,
        progress: Progress | None = None,
        workers: int | None = None,
        scheduler: str | None = None,
        partition_size: int | None = None,
    ) -> dict[str, Any]:
        """Suggest codes for every participant segment and refresh the review order.

        Zero-shot before any training; afterwards the newest trained model,
        blended with zero-shot while its labels are few. ``progress(done, total)`` is
        called as texts not cached yet are encoded, then with the segments scored.

        ``workers`` (a Dask cluster of that many processes on this machine) or
        ``scheduler`` (an existing cluster's address) run the same computation in
        partitions of about ``partition_size`` segments (:mod:`qual_nlp.project.batch`);
        ``progress`` then counts segments done across the workers.
        """
        from qual_nlp.project import finetune
        from qual_nlp.suggest import active, engine

        self._project.access.require(rules.RUN_MODEL)
        if workers is not None or scheduler is not None:
            from qual_nlp.project import batch

            return batch.suggest(
                self,
                facet,
                workers=workers,
                scheduler=scheduler,
                partition_size=partition_size,
                progress=progress,
            )
        started = time.perf_counter()
        codebook = self._project.codebook()
        embedder = self.embedder()
        embedder.progress = progress
        inputs = self.inputs(embedder)
        ids = inputs.ids
        latest = self.latest()
        version, model = latest if latest else (0, None)
        zero = inputs.zero_shot(codebook, embedder)
        trained = {}
        if model:
            trained = inputs.predict(model)
        proba = engine.blend(zero, trained, model)
        exclusive = {f.id: f.exclusive for f in codebook.facets}
        cuts = engine.thresholds(model)
        # facets whose fine-tuned encoder beat the frozen one read its vectors instead
        tuned = finetune.apply(self, ids, zero, proba, cuts)
        coder = f"{self.MODEL}@{version}"
        chosen = {facet: proba[facet]} if facet else proba
        found = active.suggestions(chosen, exclusive, cuts)
        found = found.assign(model_version=coder)
        self.store.codings.replace_suggestions(coder, found, segment_ids=ids, facet=facet)
        self.store.queue.write_scores(active.priorities(proba, exclusive, cuts), coder)
        if progress is not None:
            progress(len(ids), len(ids))
        return {
            "model": coder,
            "segments": len(ids),
            "uncovered_documents": self.uncovered(),
            "suggestions": len(found),
            "tuned_facets": tuned,
            # a tuned encoder that won but is not on this machine: run finetune again
            "tuned_missing": finetune.missing(self.store),
            "by_facet": {str(k): int(v) for k, v in found["facet"].value_counts().items()},
            "seconds": round(time.perf_counter() - started, 2),
        }

    def train(self, *, resuggest: bool = True, progress: Progress | None = None) -> dict[str, Any]:
        """Train on every reviewed segment, store the version with its cross-validated
        macro-F1 and κ against the human codings, then re-suggest with it.

        ``progress(done, total)``: texts encoded, facets trained, then the re-suggestion's.
        """
        from qual_nlp.suggest import engine
        from qual_nlp.suggest.labels import facet_labels

        self._project.access.require(rules.RUN_MODEL)
        started = time.perf_counter()
        codebook = self._project.codebook()
        labels = facet_labels(self._project._codings(), self.store.codings.coverage(), codebook)
        ids = {int(s) for fl in labels.values() for s in fl.segment_ids}
        embedder = self.embedder()
        embedder.progress = progress
        inputs = self.inputs(embedder)
        rows = inputs.rows(ids)
        segments = inputs.frame.iloc[rows].reset_index(drop=True)
        texts = segments["text"].tolist()
        X = inputs.X[rows]
        context = inputs.context[rows]
        model = engine.train(
            codebook,
            X,
            segments["segment_id"].to_numpy(),
            labels,
            embedder.name,
            texts=texts,
            context=context,
            languages=[v if isinstance(v, str) and v else None for v in segments["language"]],
        )
        metrics = {f: m.metrics | {"n": m.n_labels} for f, m in model.facets.items()}
        if progress is not None:
            progress(len(codebook.facets), len(codebook.facets))
        if not model.facets:  # nothing learnable yet: no empty version is stored
            return {
                "model": None,
                "version": None,
                "n_labels": len(ids),
                "facets": {},
                "untrained_facets": sorted(f.id for f in codebook.facets),
                "message": f"no facet has {engine.MIN_LABELS} reviewed segments with two "
                "different answers yet; keep reviewing, then train again",
                "train_seconds": round(time.perf_counter() - started, 2),
            }
        version = self.store.model_versions.add(
            self.MODEL, metrics, engine.dumps(model), model.n_labels
        )
        summary: dict[str, Any] = {
            "model": f"{self.MODEL}@{version}",
            "version": version,
            "n_labels": len(ids),
            "facets": metrics,
            "untrained_facets": sorted({f.id for f in codebook.facets} - set(model.facets)),
            "train_seconds": round(time.perf_counter() - started, 2),
        }
        from qual_nlp.project import finetune

        refitted = finetune.refit(self, labels)
        if refitted:
            summary["tuned_versions"] = refitted
        if resuggest:
            summary["suggest"] = self.suggest(progress=progress)
        return summary

    def fine_tune(
        self,
        facet: str,
        *,
        minutes: float = 5.0,
        folds: int = 3,
        progress: Progress | None = None,
        choose: str = "better",
        resuggest: bool = True,
        epochs: int = 1,
    ) -> dict[str, Any]:
        """Fine-tune the encoder on ``facet``'s reviewed segments (SetFit-style pairs) and
        keep it only where it codes better than the frozen one.

        In each of ``folds`` folds the encoder is tuned on the other folds' segments and
        the facet's estimator, fitted on their tuned vectors, is scored (κ, macro-F1) on
        the held-out fold next to the frozen encoder on the same folds. Where the tuned
        mean κ is higher, the encoder is tuned once more on every reviewed segment, saved
        in the model cache, and the facet's suggestions read its vectors from then on
        (``choose="tuned"`` or ``"frozen"`` settles it regardless of the scores). The
        folds share the time cap ``minutes`` (their encoding included); the final run then
        takes as many steps as a fold's did on average, so the whole ends past the cap by
        about one fold's share. Each run passes ``epochs`` times over its pairs unless the
        cap stops it first. ``progress(done, total)`` counts training steps. The
        outcome is a model version of its own in :meth:`history`.

        >>> project.model.fine_tune("valence", minutes=10)["used"]  # doctest: +SKIP
        False
        """
        from qual_nlp.project import finetune

        self._project.access.require(rules.RUN_MODEL)
        return finetune.fine_tune(
            self,
            facet,
            minutes=minutes,
            folds=folds,
            progress=progress,
            choose=choose,
            resuggest=resuggest,
            epochs=epochs,
        )

    def tuned_encoders(self) -> dict[str, dict[str, Any]]:
        """Per facet, the last fine-tuning: its κ, the frozen encoder's, whether it is used."""
        from qual_nlp.project import finetune

        self._project.access.require(rules.SEE_SUGGESTIONS)
        return finetune.records(self.store)

    def learning_curve(
        self, facet: str, *, seeds: int = 3, progress: Progress | None = None
    ) -> LearningCurve:
        """Does reviewing in the queue's order pay off on this project? The
        :class:`~qual_nlp.records.LearningCurve` of one facet, simulated on the segments
        already reviewed (:mod:`qual_nlp.suggest.curves`): whole documents held out per
        seed, the rest labelled in batches in the queue's order or at random.

        Needs RUN_MODEL (it fits many estimators) and SEE_SUGGESTIONS (it tells how good
        the model is, which blind coding hides). Raises :class:`ValidationError` when the
        facet has too few reviewed segments. ``progress(done, total)``: texts encoded,
        then estimators fitted.

        >>> project.model.learning_curve("valence").labels_to_target  # doctest: +SKIP
        {'uncertainty': 120, 'random': 200}
        """
        import numpy as np

        from qual_nlp.suggest import curves
        from qual_nlp.suggest.labels import FacetLabels, facet_labels

        self._project.access.require(rules.RUN_MODEL)
        self._project.access.require(rules.SEE_SUGGESTIONS)
        codebook = self._project.codebook()
        found = {f.id: f for f in codebook.facets}
        if facet not in found:
            raise ValidationError(
                f"facet {facet!r} is not in this project's codebook; pick one of "
                f"{', '.join(sorted(found))}."
            )
        labels = facet_labels(self._project._codings(), self.store.codings.coverage(), codebook)
        exclusive = found[facet].exclusive
        wanted = labels.get(facet)
        if wanted is None:
            wanted = FacetLabels(facet, exclusive, np.zeros(0, dtype=np.int64), [])
        curves.check_enough(wanted.labels, exclusive=exclusive, facet=facet)  # before encoding
        embedder = self.embedder()
        embedder.progress = progress
        inputs = self.inputs(embedder)
        row_of = {int(s): i for i, s in enumerate(inputs.frame["segment_id"])}
        keep = [i for i, s in enumerate(wanted.segment_ids) if int(s) in row_of]
        rows = [row_of[int(wanted.segment_ids[i])] for i in keep]
        y = [wanted.labels[i] for i in keep]
        documents = inputs.frame["document"].to_numpy()[rows]
        splits = curves.held_out_splits(documents, seeds=seeds)
        whole = len(set(documents.tolist())) >= 4
        return curves.simulate(
            inputs.X[rows],
            y,
            splits,
            facet=facet,
            exclusive=exclusive,
            held_out=(
                f"{curves.TEST_SIZE:.0%} of the documents, whole"
                if whole
                else f"{curves.TEST_SIZE:.0%} of the segments"
            ),
            progress=progress,
        )

    def history(self) -> pd.DataFrame:
        """One row per model version and facet: labels, macro-F1, κ — is it getting better?"""
        self._project.access.require(rules.SEE_SUGGESTIONS)
        versions = self.store.model_versions.frame()
        rows = []
        for r in versions.itertuples():
            for facet, m in (r.metrics or {}).items():
                rows.append(
                    {
                        "model": f"{r.name}@{r.version}",
                        "version": r.version,
                        "created_at": r.created_at,
                        "facet": facet,
                        "n_labels": m.get("n"),
                        "macro_f1": m.get("macro_f1"),
                        "kappa": m.get("kappa"),
                    }
                )
        columns = ["model", "version", "created_at", "facet", "n_labels", "macro_f1", "kappa"]
        return pd.DataFrame(rows, columns=columns)
