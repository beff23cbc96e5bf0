"""Accounts and the rules through the real command line (a subprocess; passwords on
stdin), and a search of every output, log and export for a password or its hash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_access_project import PASSWORDS, make_team  # noqa: E402
from test_app_support import build_project  # noqa: E402

from qual_nlp.project import Project  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def qual_nlp(*args: str, stdin: str = "", env: dict[str, str] | None = None):
    """Run ``python -m qual_nlp`` with ``stdin`` (not a terminal: passwords come from it)."""
    environ = {**os.environ, **(env or {})}
    for name in ("QUAL_NLP_USER", "QUAL_NLP_PASSWORD"):
        if not env or name not in env:
            environ.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "qual_nlp", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environ,
        timeout=180,
    )


def lines(*passwords: str) -> str:
    return "".join(f"{p}\n" for p in passwords)


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Path:
    return make_team(tmp_path_factory.mktemp("team"))


def test_first_run_adds_the_lead_then_the_lead_adds_and_manages_users(tmp_path: Path):
    project = str(build_project(tmp_path, suggestions=False))
    refused = qual_nlp(
        "users", project, "add", "ana", "--role", "analyst", stdin=lines("x" * 9) * 2
    )
    assert refused.returncode == 2 and "first account must be a lead" in refused.stderr

    first = qual_nlp("users", project, "add", "lea", stdin=lines("lead phrase 1", "lead phrase 1"))
    assert first.returncode == 0, first.stderr
    assert "added lea (lead)" in first.stdout

    no_one = qual_nlp("users", project, "add", "ana", "--role", "analyst", stdin=lines("a" * 9))
    assert no_one.returncode == 2 and "--user NAME" in no_one.stderr

    differ = qual_nlp(
        "users", project, "add", "ana", "--role", "analyst", "--user", "lea",
        stdin=lines("lead phrase 1", "ana phrase one", "ana phrase two"),
    )  # fmt: skip
    assert differ.returncode == 2 and "differ" in differ.stderr

    added = qual_nlp(
        "users", project, "add", "ana", "--role", "analyst", "--user", "lea",
        stdin=lines("lead phrase 1", "ana phrase one", "ana phrase one"),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr

    own = qual_nlp(
        "users",
        project,
        "passwd",
        "ana",
        stdin=lines("ana phrase one", "ana new phrase", "ana new phrase"),
    )
    assert own.returncode == 0, own.stderr

    role = qual_nlp("users", project, "role", "ana", "investigator", "--user", "lea",
                    stdin=lines("lead phrase 1"))  # fmt: skip
    assert role.returncode == 0, role.stderr
    disable = qual_nlp(
        "users", project, "disable", "ana", "--user", "lea", stdin=lines("lead phrase 1")
    )
    assert disable.returncode == 0, disable.stderr

    listed = qual_nlp("users", project, "list", "--json",
                      env={"QUAL_NLP_USER": "lea", "QUAL_NLP_PASSWORD": "lead phrase 1"})  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    users = {u["name"]: u for u in json.loads(listed.stdout)["users"]}
    assert users["ana"]["role"] == "investigator" and users["ana"]["enabled"] is False
    assert users["lea"]["role"] == "lead"

    gone = qual_nlp("segments", project, "--user", "ana", stdin=lines("ana new phrase"))
    assert gone.returncode == 2 and "disabled" in gone.stderr

    not_lead = qual_nlp("users", project, "list", "--user", "lea", stdin=lines("wrong phrase"))
    assert not_lead.returncode == 2 and "Wrong user name or password" in not_lead.stderr


def test_the_command_line_obeys_the_same_rules(team: Path, tmp_path: Path):
    project = str(team)
    pat = qual_nlp("segments", project, "--json", "--user", "pat", stdin=lines(PASSWORDS["pat"]))
    assert pat.returncode == 0, pat.stderr
    with Project.open(team) as p:
        assigned = set(p.store.assignments.segment_ids("pat"))
        everything = len(p.store.segments_frame())
    shown = json.loads(pat.stdout)["segments"]
    assert {s["id"] for s in shown} == assigned and len(shown) < everything
    assert all(c["coder"] == "pat" for s in shown for c in s["codings"])

    for command in (
        ["export", project, "--format", "csv", "--out", str(tmp_path / "pat.zip")],
        ["agreement", project, "--json"],
        ["matrix", project, "--out", str(tmp_path / "m.csv")],
        ["suggest", project],
    ):
        refused = qual_nlp(*command, "--user", "pat", stdin=lines(PASSWORDS["pat"]))
        assert refused.returncode == 2, command
        assert "Refused: pat (patient partner) may not" in refused.stderr, refused.stderr
    assert not (tmp_path / "pat.zip").exists()

    viewer = qual_nlp("matrix", project, "--out", str(tmp_path / "v.csv"),
                      env={"QUAL_NLP_USER": "vic", "QUAL_NLP_PASSWORD": PASSWORDS["vic"]})  # fmt: skip
    assert viewer.returncode == 0, viewer.stderr
    anonymous = qual_nlp("segments", project, "--json")
    assert anonymous.returncode == 2 and "QUAL_NLP_USER" in anonymous.stderr
    with Project.open(team) as p:
        refused = p.as_user("lea").events().query("action == 'refused'")
    assert {"pat", "(not signed in)"} <= set(refused["actor"])


def test_the_app_refuses_other_addresses_for_a_project_without_accounts(tmp_path: Path):
    project = str(build_project(tmp_path, suggestions=False))
    out = qual_nlp("app", project, "--host", "0.0.0.0", "--port", "8765", "--headless")
    assert out.returncode == 2
    assert "no user accounts" in out.stderr and f"qual-nlp users {project} add" in out.stderr


def test_no_password_or_hash_is_printed_logged_or_exported(team: Path, tmp_path: Path):
    project = str(team)
    lead = {"QUAL_NLP_USER": "lea", "QUAL_NLP_PASSWORD": PASSWORDS["lea"]}
    outputs = []
    for command in (
        ["users", project, "list", "--json"],
        ["users", project, "list"],
        ["segments", project, "--json"],
        ["agreement", project, "--json"],
        ["export", project, "--format", "qdpx", "--out", str(tmp_path / "p.qdpx")],
        ["export", project, "--format", "csv", "--out", str(tmp_path / "p.zip")],
        ["export", project, "--format", "xlsx", "--out", str(tmp_path / "p.xlsx")],
        ["export", project, "--format", "qdc", "--out", str(tmp_path / "p.qdc")],
        ["segments", project, "--csv", str(tmp_path / "s.csv")],
    ):
        done = qual_nlp(*command, env=lead)
        assert done.returncode == 0, (command, done.stderr)
        outputs += [done.stdout, done.stderr]
    wrong = qual_nlp("segments", project, "--user", "ana", stdin=lines("a wrong guess here"))
    outputs += [wrong.stdout, wrong.stderr]
    passwd = qual_nlp("users", project, "passwd", "zed", "--user", "lea",
                      stdin=lines(PASSWORDS["lea"], "zed new phrase", "zed new phrase"))  # fmt: skip
    outputs += [passwd.stdout, passwd.stderr]

    with Project.open(team) as p:
        hashes = [p.store.users.password_hash(n) for n in PASSWORDS]
        events = p.as_user("lea").events()
    secrets = [*PASSWORDS.values(), "a wrong guess here", "zed new phrase", *hashes]
    secrets += [h.rsplit("$", 1)[-1] for h in hashes]  # the digest alone, too
    texts = ["\n".join(outputs), events.to_csv(index=False)]
    for export in ("p.qdpx", "p.zip", "p.xlsx"):
        with zipfile.ZipFile(tmp_path / export) as archive:
            texts += [archive.read(n).decode("utf-8", "replace") for n in archive.namelist()]
    texts += [(tmp_path / "p.qdc").read_text(encoding="utf-8"), (tmp_path / "s.csv").read_text()]
    assert len(texts) > 8
    for text in texts:
        for secret in secrets:
            assert secret not in text
    assert "argon2" not in "\n".join(texts)
