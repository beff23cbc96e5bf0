"""``qual-nlp``: a thin command line over :class:`qual_nlp.project.Project`.

Each command parses its options, calls the library and prints the result; with
``--json`` it prints exactly one JSON document on stdout. Exit status: 0 on
success, 1 when some input failed (the rest was still processed), 2 on usage or
project errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qual_nlp import __version__
from qual_nlp.commands import accounts
from qual_nlp.commands.finetune import finetune_arguments
from qual_nlp.commands.memos import memo_arguments
from qual_nlp.errors import QualNLPError

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        COMMANDS[name] = func
        return func

    return register


def emit(args: argparse.Namespace, payload: Any, text: str | None = None) -> None:
    """Print ``payload`` as one JSON document under --json, else ``text``."""
    if getattr(args, "json", False):
        json.dump(payload, sys.stdout, ensure_ascii=False, default=_jsonable)
        sys.stdout.write("\n")
    elif text is not None:
        print(text)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _project(args: argparse.Namespace, create: bool = False) -> Any:
    from qual_nlp.project import Project

    return accounts.signed_in(args, Project.open(args.project, create=create))


def _shown(given: str, project: Any) -> str:
    """The project as the user named it; a database URL with its password hidden."""
    return str(project.location) if "://" in given else given


class _Bar:
    """A ``progress(done, total)`` callable drawn as a tqdm bar on stderr (made on first
    call; a new total, as work moves to its next stage, restarts it)."""

    def __init__(self, what: str, unit: str) -> None:
        self.what, self.unit = what, unit
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            try:
                width = os.get_terminal_size(sys.stderr.fileno()).columns
            except OSError:
                width = 0
            self.bar = tqdm(
                total=total,
                desc=self.what,
                unit=self.unit,
                file=sys.stderr,
                leave=False,
                # a terminal that reports no size (some pseudo-terminals) gets 80 x 24
                ncols=None if width else 80,
                nrows=None if width else 24,
            )
        elif total != self.bar.total:
            self.bar.reset(total=total)
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextmanager
def _progress(args: argparse.Namespace, what: str, unit: str = "it") -> Iterator[_Bar | None]:
    """A progress bar on a terminal; None with --json or when stderr is not a terminal."""
    if getattr(args, "json", False) or not sys.stderr.isatty():
        yield None
        return
    bar = _Bar(what, unit)
    try:
        yield bar
    finally:
        bar.close()


# ---------------------------------------------------------------- commands
@command("init")
def cmd_init(args: argparse.Namespace) -> int:
    from qual_nlp.project import Project

    with accounts.signed_in(
        args,
        Project.init(
            args.project, codebook=args.codebook, encoder=args.encoder, backend=args.backend
        ),
    ) as project:
        cb = project.codebook()
        encoder, backend = project.model.encoder()
        emit(
            args,
            {
                "project": project.location,
                "codebook": cb.name,
                "codes": len(cb.codes),
                "encoder": encoder,
                "backend": backend,
            },
            f"Project ready at {_shown(args.project, project)} (codebook {cb.name}, {len(cb.codes)} codes; "
            f"encoder {encoder} through {backend})",
        )
    return 0


@command("import")
def cmd_import(args: argparse.Namespace) -> int:
    from qual_nlp.project import Project

    def show(outcome: Any) -> None:
        if outcome.status == "failed" and not args.json:
            print(f"error: {outcome.message}", file=sys.stderr)
        for warning in outcome.warnings:
            if not args.json:
                print(f"warning: {warning}", file=sys.stderr)

    with (
        accounts.signed_in(args, Project.init(args.project)) as project,
        _progress(args, "import", "file") as bar,
    ):
        if args.cases:
            project.import_cases(args.cases)
        outcomes = project.import_files(
            args.paths,
            case=args.case,
            source_type=args.source_type,
            meta=args.meta,
            max_bytes=int(args.max_mb * 1_000_000),
            progress=bar,
            on_outcome=show,
            **_batch_options(args),
        )
    tally = {s: sum(o.status == s for o in outcomes) for s in ("imported", "unchanged", "failed")}
    added = import_counts(outcomes)
    for outcome in outcomes:
        if outcome.status == "unchanged" and not args.json:
            print(outcome.message)
    summary = (
        f"{tally['imported']} imported ({_count_text(added)}), {tally['unchanged']} unchanged, "
        f"{tally['failed']} failed"
    )
    payload = {
        "summary": tally | added,
        "files": [o.__dict__ | {"warnings": list(o.warnings)} for o in outcomes],
    }
    emit(args, payload, summary)
    return 1 if tally["failed"] else 0


def import_counts(outcomes: Sequence[Any]) -> dict[str, int]:
    """What a batch added: documents and segments, and codings and codes from projects."""
    imported = [o for o in outcomes if o.status == "imported"]
    return {
        "documents": sum(1 if o.documents is None else o.documents for o in imported),
        "segments": sum(o.segments for o in imported),
        "codings": sum(o.codings for o in imported),
        "codes": sum(o.codes for o in imported),
    }


def _count_text(counts: dict[str, int]) -> str:
    """``28 documents, 1164 segments, 3314 codings, 52 codes`` (codings and codes if any)."""
    shown = [
        k
        for k in ("documents", "segments", "codings", "codes")
        if counts[k] or k in ("documents", "segments")
    ]
    return ", ".join(f"{counts[k]:,} {k if counts[k] != 1 else k[:-1]}" for k in shown)


@command("segments")
def cmd_segments(args: argparse.Namespace) -> int:
    with _project(args) as project:
        view = project.deid if args.deidentified else project
        if args.csv:
            from qual_nlp.analysis.workbook import write_csv

            frame = view.segments()
            write_csv(args.csv, frame)  # formula-like cells guarded
            if not args.json:
                print(f"{len(frame)} segments written to {args.csv}")
        report = view.segments_report() if args.json or not args.csv else None
    if args.json:
        emit(args, {"segments": report})
    elif report is not None:
        if not report:
            print(
                f"{args.project} has no segments yet: import transcripts with "
                f"'qual-nlp import {args.project} FOLDER'",
                file=sys.stderr,
            )
        for seg in report:
            who = seg["speaker"] or "-"
            # each code once, however many coders (or the model) gave it
            codes = ", ".join(
                dict.fromkeys(c["code"] for c in seg["codings"] if c["status"] != "rejected")
            )
            print(f"{seg['id']}\t{seg['document']}\t{seg['start']}-{seg['end']}\t{who}\t{codes}")
    return 0


@command("suggest")
def cmd_suggest(args: argparse.Namespace) -> int:
    batch = _batch_options(args)
    unit = "segment" if batch else "it"
    with _project(args) as project, _progress(args, "suggest", unit) as bar:
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


def _batch_options(args: argparse.Namespace) -> dict[str, Any]:
    """--workers / --scheduler / --partition-size as the facade takes them ({} if none)."""
    options: dict[str, Any] = {}
    if getattr(args, "workers", None) is not None:
        options["workers"] = args.workers
    if getattr(args, "scheduler", None):
        options["scheduler"] = args.scheduler
    if options and getattr(args, "partition_size", None):
        options["partition_size"] = args.partition_size
    return options


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


@command("train")
def cmd_train(args: argparse.Namespace) -> int:
    with _project(args) as project, _progress(args, "train") as bar:
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


@command("finetune")
def cmd_finetune(args: argparse.Namespace) -> int:
    from qual_nlp.commands import finetune

    with _project(args) as project, _progress(args, "fine-tune", "step") as bar:
        payload, text = finetune.run(project, args, bar)
    emit(args, payload, text)
    return 0


@command("curve")
def cmd_curve(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    with _project(args) as project, _progress(args, "learning curve") as bar:
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


@command("evaluate")
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
            if _batch_options(args):
                with _cluster_embedder(args, encoder, backend, embedder.cache) as embedder:
                    report = evaluate_files(args.train, args.test, embedder=embedder, **options)
            else:
                report = evaluate_files(args.train, args.test, embedder=embedder, **options)
    else:
        from qual_nlp.project.model import resolve_encoder
        from qual_nlp.suggest.embed import Embedder

        encoder, backend = resolve_encoder(args.encoder, args.backend)
        if _batch_options(args):
            with _cluster_embedder(args, encoder, backend) as embedder:
                report = evaluate_files(args.train, args.test, embedder=embedder, **options)
        else:
            report = evaluate_files(
                args.train, args.test, embedder=Embedder(encoder, backend=backend), **options
            )
    payload = report.to_dict() | {"encoder": encoder, "backend": backend}
    emit(args, payload, f"{report.summary()}\nencoder: {encoder} through {backend}")
    return 0


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _analysis_filters(args: argparse.Namespace) -> dict[str, Any]:
    """The cross-case filters given on the command line (matrix and export)."""
    filters: dict[str, Any] = {}
    if getattr(args, "facet", None):
        filters["facet"] = args.facet
    if coders := _split(getattr(args, "coder", None)):
        filters["coders"] = coders
    status = getattr(args, "status", None)
    if status:
        filters["statuses"] = None if status == "all" else _split(status)
    if types := _split(getattr(args, "source_type", None)):
        filters["source_types"] = types
    if roles := _split(getattr(args, "role", None)):
        filters["roles"] = roles
    return filters


@command("matrix")
def cmd_matrix(args: argparse.Namespace) -> int:
    from qual_nlp.analysis.workbook import labelled_matrix, write_csv, write_xlsx

    filters = _analysis_filters(args)
    with _project(args) as project:
        if args.valence:
            filters.pop("facet", None)
            construct = args.facet or "cfir_domain"
            frame = project.analysis.valence_matrix(
                cols=args.cols, construct_facet=construct, rollup=args.rollup, **filters
            )
        else:
            frame = project.analysis.matrix(
                rows=args.rows,
                cols=args.cols,
                value=args.value,
                top_k=args.top_k,
                rank=args.rank,
                rollup=args.rollup,
                **filters,
            )
        codebook = project.codebook()
    out = args.out
    sheet = labelled_matrix(frame, codebook) if args.rows == "code" else frame.reset_index()
    if str(out).lower().endswith(".xlsx"):
        write_xlsx(out, {"Barriers-facilitators" if args.valence else "Matrix": sheet})
    else:
        write_csv(out, sheet)
    emit(
        args,
        {"out": str(out), "rows": len(frame), "cols": len(frame.columns)},
        f"{len(frame)} x {len(frame.columns)} matrix written to {out}",
    )
    if frame.empty and not args.json:
        print(
            "warning: the matrix is empty: no coding matches (codings count once accepted; "
            "review suggestions first, or use --status all)",
            file=sys.stderr,
        )
    return 0


@command("agreement")
def cmd_agreement(args: argparse.Namespace) -> int:
    coders = args.coders.split(",") if args.coders else None
    with _project(args) as project:
        if args.model:
            frame = project.agreement.model_report(against=coders, by=args.by)
        else:
            frame = project.agreement.report(coders=coders, by=args.by)
    if args.out:
        if str(args.out).lower().endswith(".xlsx"):
            from qual_nlp.analysis.workbook import write_xlsx

            write_xlsx(args.out, {f"Agreement by {args.by}": frame})
        else:
            from qual_nlp.analysis.workbook import write_csv

            write_csv(args.out, frame)
    records = json.loads(frame.to_json(orient="records"))
    compared = "n_units" in frame.columns and bool((frame["n_units"] > 0).any())
    if not compared and "note" in frame.columns and len(frame):
        emit(args, {"by": args.by, "rows": records}, str(frame["note"].iloc[0]))
        return 0
    emit(args, {"by": args.by, "rows": records}, frame.to_string(index=False))
    return 0


@command("export")
def cmd_export(args: argparse.Namespace) -> int:
    filters = _analysis_filters(args)
    if args.format in ("csv", "xlsx"):
        filters.update(top_k=args.top_k, window=args.window, within=args.within)
    elif filters:
        print("warning: filters apply to csv and xlsx exports only", file=sys.stderr)
        filters = {}
    if args.deidentified:
        filters["deidentified"] = True
    with _project(args) as project, _progress(args, "export") as bar:
        out = project.analysis.export(args.format, args.out, progress=bar, **filters)
    emit(args, {"out": str(out), "format": args.format}, f"{args.format} written to {out}")
    return 0


@command("deid")
def cmd_deid(args: argparse.Namespace) -> int:
    from qual_nlp.commands import deid

    with _project(args) as project:
        payload, text = deid.run(project, args)
    emit(args, payload, text)
    return 0


@command("import-taguette")
def cmd_import_taguette(args: argparse.Namespace) -> int:
    if not (args.highlights or args.codebook):
        print("error: give --highlights FILE, --codebook FILE or both", file=sys.stderr)
        return 2
    with _project(args) as project:
        counts = project.import_taguette(args.highlights, codebook=args.codebook, coder=args.coder)
    text = f"{counts['codes']} new codes, {counts['codings']} codings from {counts['highlights']} highlights"
    emit(args, counts, text)
    if not args.json:
        if counts.get("quotes_not_found"):
            print(
                f"warning: {counts['quotes_not_found']} highlights were not found in their "
                "document's text (was the transcript edited after coding?)",
                file=sys.stderr,
            )
        for name in counts.get("documents_not_found", []):
            print(
                f"warning: document {name!r} is not in the project; import its transcript, "
                "then run this again",
                file=sys.stderr,
            )
    return 1 if counts.get("documents_not_found") else 0


@command("bench")
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


@command("demo")
def cmd_demo(args: argparse.Namespace) -> int:
    from qual_nlp.commands.demo import DEFAULT_PATH, build_demo

    with _progress(args, "demo") as bar:
        result = build_demo(args.path or DEFAULT_PATH, progress=bar)
    emit(args, result, _demo_text(result))
    return 0 if not result.get("failed") else 1


@command("memo")
def cmd_memo(args: argparse.Namespace) -> int:
    from qual_nlp.commands import memos

    with _project(args) as project:
        payload, text = memos.run(project, args)
    emit(args, payload, text)
    return 0


@command("users")
def cmd_users(args: argparse.Namespace) -> int:
    return accounts.run_users(args, emit)


def _demo_text(result: dict[str, Any]) -> str:
    """What the sample project holds, and what to do with it."""
    project = result["project"]
    if result.get("up_to_date"):
        head = f"demo project {project} is up to date"
    else:
        head = f"demo project ready at {project}"
    counts = [f"{result[k]} {k}" for k in ("documents", "segments", "codings") if k in result]
    lines = [head + (f" ({', '.join(counts)})" if counts else "")]
    model = result.get("model") or {}
    if model.get("model"):
        lines.append(f"model {model['model']} trained on {model['n_labels']} reviewed segments")
    lines.append(f"open it in the app: qual-nlp app {project}")
    return "\n".join(lines)


@command("app")
def cmd_app(args: argparse.Namespace) -> int:

    app = Path(__file__).resolve().parent.parent / "streamlit_app.py"
    project = args.project
    if not project:  # no project given: the sample study, built (or brought up to date) first
        from qual_nlp.commands.demo import DEFAULT_PATH, build_demo

        print(
            f"building the sample project {DEFAULT_PATH} (a few minutes the first time)…",
            file=sys.stderr,
        )
        with _progress(args, "demo") as bar:
            project = str(build_demo(DEFAULT_PATH, progress=bar)["project"])
        print(f"opening the sample project {project}", file=sys.stderr)
    refused = accounts.refuse_open_host(str(project), args.host)
    if refused is not None:
        return refused
    command = [sys.executable, "-m", "streamlit", "run", str(app)]
    command += ["--server.address", args.host]
    if args.port:
        command += ["--server.port", str(args.port)]
    if args.headless:
        command += ["--server.headless", "true"]
    # no "Deploy" button (from any folder; .streamlit/config.toml says so in the repository)
    command += ["--client.toolbarMode", "minimal"]
    command += ["--browser.gatherUsageStats", "false", "--", str(project)]
    return accounts.serve(command)


@command("serve")
def cmd_serve(args: argparse.Namespace) -> int:
    from qual_nlp.project import Project

    Project.open(args.project).close()  # a missing project fails here, with how to make it
    refused = accounts.refuse_open_host(str(args.project), args.host, what="API")
    if refused is not None:
        return refused
    from qual_nlp.api.server import run

    print(
        f"serving {args.project} on http://{args.host}:{args.port}/api/v1 "
        f"(OpenAPI: http://{args.host}:{args.port}/openapi.json)",
        file=sys.stderr,
    )
    run(
        args.project,
        host=args.host,
        port=args.port,
        max_upload_bytes=int(args.max_mb * 1_000_000),
        workers=args.workers,
        log_level=args.log_level,
    )
    return 0


# ------------------------------------------------------------------ parser
def _filter_options(p: argparse.ArgumentParser) -> None:
    """The cross-case filters shared by matrix and export."""
    p.add_argument("--facet", help="only this facet")
    p.add_argument(
        "--coder", help="only these coders, comma-separated (a person, consensus, or model)"
    )
    p.add_argument("--status", help="statuses kept, comma-separated, or 'all' (default: accepted)")
    p.add_argument("--source-type", help="only these source types, e.g. interview,focus_group")
    p.add_argument("--role", help="only these participant roles, e.g. patient")


def _encoder_options(p: argparse.ArgumentParser, note: str) -> None:
    """``--encoder`` and ``--backend``, as init, evaluate and bench take them."""
    from qual_nlp.resources import BACKENDS

    p.add_argument(
        "--encoder",
        help="sentence encoder: multilingual-e5-small (default; English, French and ~100 more "
        "languages), all-MiniLM-L6-v2 (English only), all-mpnet-base-v2 (English only, "
        f"stronger, slower; installed apart) or a local sentence-transformers folder{note}",
    )
    p.add_argument(
        "--backend",
        choices=list(BACKENDS),
        help="how the encoder runs: onnx-int8 (default, fastest), onnx, or torch (the reference)",
    )


def _batch_arguments(p: argparse.ArgumentParser, *, partitions: bool = False) -> None:
    """--workers N / --scheduler ADDRESS: run the batch on Dask workers."""
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run on a Dask cluster of N worker processes on this machine (one core each)",
    )
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing Dask cluster, e.g. tcp://host:8786 (see the README)",
    )
    if partitions:
        p.add_argument(
            "--partition-size",
            type=int,
            metavar="N",
            help="with --workers/--scheduler: participant segments per task (default 2000)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qual-nlp",
        description="NLP-assisted qualitative analysis of interview transcripts and field notes.",
    )
    parser.add_argument("--version", action="version", version=f"qual-nlp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, project: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if project:
            p.add_argument(
                "project", metavar="PROJECT", help="project file (SQLite) or database URL"
            )
            p.add_argument(
                "--user",
                help=f"who acts, in a project with accounts (or {accounts.USER_ENV}); the "
                f"password comes from the prompt, stdin, or {accounts.PASSWORD_ENV}",
            )
        return p

    p = add("init", "Create a project with a codebook.")
    p.add_argument(
        "--codebook",
        default="cm-implementation",
        help="built-in codebook name, or a codebook file: YAML (.yaml), REFI-QDA (.qdc) or "
        "Taguette's codebook CSV (.csv) (default: cm-implementation)",
    )
    _encoder_options(p, "; recorded in the project")
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add("import", "Import transcripts and field notes (files or folders).")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to import")
    p.add_argument("--case", help="case (e.g. clinic C03) for every file")
    p.add_argument("--source-type", help="interview | focus_group | field_notes | document | other")
    p.add_argument("--meta", help="metadata CSV: file,case,source_type,<attributes…>")
    p.add_argument("--cases", help="case CSV: case,<attributes and case-level numbers…>")
    p.add_argument("--max-mb", type=float, default=50.0, help="largest file accepted, in MB")
    _batch_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add("segments", "List every segment with offsets, speaker, case and codings.")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--csv", metavar="FILE", help="write the segments to a CSV file")
    p.add_argument(
        "--deidentified", action="store_true", help="pseudonymised text, speakers and offsets"
    )

    p = add("suggest", "Suggest codes for every segment (zero-shot, or the trained model).")
    p.add_argument("--facet", help="only this facet (default: all)")
    _batch_arguments(p, partitions=True)
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add("train", "Train the model on reviewed segments, score it as a coder, re-suggest.")
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add(
        "finetune",
        "Fine-tune the encoder on a facet's reviews; keep it where it beats the frozen one.",
    )
    finetune_arguments(p)

    p = add(
        "curve",
        "Learning curve of one facet on the reviewed segments: the queue's order vs random.",
    )
    p.add_argument("--facet", required=True, help="the facet (e.g. valence)")
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add("evaluate", "Train on one labelled CSV and score another.", project=False)
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
    _encoder_options(p, "; with --cache it must match the cache's encoder")
    _batch_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add("matrix", "Write a theme x case (or x attribute) matrix to .csv or .xlsx.")
    p.add_argument("--rows", default="code", help="rows (default: code)")
    p.add_argument(
        "--cols", default="case", help="case or any attribute: province, role, source_type"
    )
    p.add_argument(
        "--value",
        default="count",
        choices=[
            "count",
            "participants",
            "participants_pct",
            "documents",
            "documents_pct",
            "quotes",
        ],
        help="cell value (default: count of coded segments)",
    )
    p.add_argument(
        "--valence",
        action="store_true",
        help="barrier (-) / facilitator (+) split per construct of --facet (cfir_domain)",
    )
    p.add_argument("--top-k", type=int, default=3, help="quotes per cell (--value quotes)")
    p.add_argument(
        "--rank",
        default="score",
        choices=["score", "chosen"],
        help="quotes by model score, or those a coder marked 'exemplar' in the memo",
    )
    p.add_argument(
        "--no-rollup",
        dest="rollup",
        action="store_false",
        help="count parent codes only where coded themselves",
    )
    _filter_options(p)
    p.add_argument("--out", required=True, help="output .csv or .xlsx")
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add(
        "agreement",
        "Inter-coder agreement: percent, Cohen's and Fleiss' kappa, Krippendorff's alpha.",
    )
    p.add_argument("--coders", help="comma-separated coders (default: every human coder)")
    p.add_argument(
        "--by",
        default="code",
        choices=[
            "code",
            "facet",
            "case",
            "pair",
            "overall",
            "case+code",
            "pair+code",
            "pair+facet",
        ],
    )
    p.add_argument("--model", action="store_true", help="score the newest model as one more coder")
    p.add_argument("--out", help="also write the report to .csv or .xlsx")
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add(
        "export",
        "Export the project: csv (zip), xlsx, qdpx or qdc (REFI-QDA), or taguette (the "
        "codebook as a CSV Taguette imports).",
    )
    p.add_argument("--format", required=True, choices=["csv", "xlsx", "qdpx", "qdc", "taguette"])
    p.add_argument("--out", required=True, help="output file (csv: .zip, or a folder)")
    _filter_options(p)
    p.add_argument("--top-k", type=int, default=3, help="exemplar quotes per cell")
    p.add_argument("--window", type=int, default=1, help="CMO chains: segments either side")
    p.add_argument(
        "--within",
        default="window",
        choices=["window", "turn", "segment"],
        help="CMO chains: look for context and outcome in a window, the turn or the segment",
    )
    p.add_argument(
        "--deidentified",
        action="store_true",
        help="pseudonymised text; each coding on the pseudonymised passage (not for qdc)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add(
        "deid",
        "De-identify: detect identifiers (names, phones, health cards, addresses, dates, "
        "places, organisations), review them, keep the project dictionary.",
    )
    from qual_nlp.commands import deid as deid_command

    deid_command.configure(p)

    p = add(
        "import-taguette",
        "Bring a Taguette project's codebook CSV and/or highlights CSV (import the "
        "transcripts first: highlights are found in them by their text).",
    )
    p.add_argument("--highlights", help="Taguette's highlights CSV (id,document,tag,content)")
    p.add_argument("--codebook", help="Taguette's codebook CSV (tag,description)")
    p.add_argument(
        "--coder", default="taguette", help="coder of the highlights (default: taguette)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add("bench", "Measure encoder, end-to-end and re-suggest throughput.", project=False)
    p.add_argument("--segments", type=int, default=2000, help="segments for the throughput runs")
    p.add_argument("--resuggest", type=int, default=100_000, help="cached segments to re-suggest")
    _encoder_options(p, "; measured against its torch reference")
    p.add_argument(
        "--no-english-reference",
        action="store_true",
        help="skip the end-to-end run with all-MiniLM-L6-v2 through torch",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add("demo", "Build the sample project from corpora_samples/.", project=False)
    p.add_argument("path", nargs="?", help="project file (default: demo/sample.qnlp)")
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add(
        "users",
        "Accounts: add NAME --role R, list, passwd NAME, disable|enable NAME, role NAME R, "
        "revoke NAME (every HTTP API token of NAME). "
        "Passwords come from a prompt or from stdin (twice), never from the command line.",
    )
    p.add_argument(
        "action", choices=["add", "list", "passwd", "disable", "enable", "role", "revoke"]
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the user concerned")
    p.add_argument("new_role", nargs="?", metavar="ROLE", help="with 'role': the new role")
    p.add_argument(
        "--role", choices=accounts.ROLE_NAMES, help="the role (the first user is the lead)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")

    p = add(
        "memo",
        "Memos: add --title T [--text …] [--code/--document/--case/--passage …], list, "
        "search WORDS (title, text, author and links; ignoring case).",
    )
    memo_arguments(p)

    p = add("app", "Open the Streamlit app.", project=False)
    p.add_argument("project", nargs="?", help="project file or database URL")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this computer only); another one, "
        "e.g. 0.0.0.0, needs a project with user accounts",
    )
    p.add_argument("--port", type=int, help="port (default: Streamlit's 8501)")
    p.add_argument("--headless", action="store_true", help="do not open a browser")

    p = add("serve", "Serve the HTTP API (/api/v1, OpenAPI at /openapi.json) with uvicorn.")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this computer only); another one, "
        "e.g. 0.0.0.0, needs a project with user accounts",
    )
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--max-mb", type=float, default=50.0, help="largest file accepted, in MB")
    p.add_argument(
        "--workers", type=int, default=1, help="worker processes (default 1; e.g. one per core)"
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level (default: info)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except QualNLPError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # pragma: no cover - e.g. `| head`
        return 0
