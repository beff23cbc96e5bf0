"""Accounts on the command line: who acts (``--user``), passwords from a prompt or stdin,
the ``users`` command, and serving the app only where the project's accounts allow.

Passwords are read from the terminal without echo, or line by line from stdin when it is
not a terminal (scripts), or for the acting user from ``QUAL_NLP_PASSWORD``; never from
the command line, where other users of the machine could read them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from typing import Any

from qual_nlp.commands import common
from qual_nlp.errors import QualNLPError

Emit = Callable[[argparse.Namespace, Any, str | None], None]
#: account roles, as the ``users`` command offers them (``qual_nlp.access.ROLES``)
ROLE_NAMES = ("lead", "analyst", "investigator", "patient_partner", "viewer")

USER_ENV = "QUAL_NLP_USER"
PASSWORD_ENV = "QUAL_NLP_PASSWORD"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def signed_in(args: argparse.Namespace, project: Any) -> Any:
    """The project acting as the user named by ``--user`` (or ``QUAL_NLP_USER``) once
    their password is checked; unchanged in solo mode (a project without accounts)."""
    from qual_nlp.errors import AccessDeniedError

    if not project.has_users():
        return project
    name = getattr(args, "user", None) or os.environ.get(USER_ENV, "").strip()
    if not name:
        with contextlib.suppress(AccessDeniedError):
            project.access.require_active()  # refuses, and the journal records the attempt
        project.close()
        raise AccessDeniedError(
            f"{project.location} has user accounts: say who acts with --user NAME (or "
            f"{USER_ENV}=NAME); the password comes from the prompt, from stdin, or from "
            f"{PASSWORD_ENV}"
        )
    password = os.environ.get(PASSWORD_ENV) or read_secret(f"Password for {name}: ")
    try:
        return project.sign_in(name, password)
    except QualNLPError:
        project.close()
        raise


def read_secret(prompt: str) -> str:
    """A password from the terminal (not echoed), or the next line of stdin when stdin
    is not a terminal. Never from the command line, where other users could see it."""
    from qual_nlp.errors import ValidationError

    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise ValidationError(
            f"{prompt.rstrip(': ')}: expected a password on stdin (one per line) and found "
            "none. Pipe it in, or run the command in a terminal to be prompted."
        )
    return line.rstrip("\r\n")


def new_password(name: str) -> str:
    """A new password typed twice (prompt, or two lines of stdin)."""
    from qual_nlp.errors import ValidationError

    first = read_secret(f"New password for {name}: ")
    if read_secret("The same password again: ") != first:
        raise ValidationError(
            f"the two passwords for {name} differ. Type (or pipe) the same password twice."
        )
    return first


def users_arguments(p: argparse.ArgumentParser) -> None:
    """The ``users`` command's arguments (after PROJECT)."""
    p.add_argument(
        "action", choices=["add", "list", "passwd", "disable", "enable", "role", "revoke"]
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the user concerned")
    p.add_argument("new_role", nargs="?", metavar="ROLE", help="with 'role': the new role")
    p.add_argument("--role", choices=ROLE_NAMES, help="the role (the first user is the lead)")
    p.add_argument("--json", action="store_true", help="print one JSON document")


def cmd_users(args: argparse.Namespace) -> int:
    return run_users(args, common.emit)


def run_users(args: argparse.Namespace, emit: Emit) -> int:
    """Accounts: the first one added is the lead (no sign-in needed); then a lead acts."""
    from qual_nlp.errors import ValidationError
    from qual_nlp.project import Project

    action, name = args.action, args.name
    if action != "list" and not name:
        raise ValidationError(
            f"'users {action}' needs a user NAME: qual-nlp users PROJECT {action} NAME"
        )
    with Project.open(args.project) as opened:
        if action == "add" and not opened.has_users():
            project = opened  # the first account: the lead, made without signing in
        elif action == "passwd" and not (args.user or os.environ.get(USER_ENV)):
            args.user = name  # changing one's own password: sign in as oneself
            project = signed_in(args, opened)
        else:
            project = signed_in(args, opened)
        if action == "add":
            role = args.role or ("lead" if not project.has_users() else None)
            if role is None:
                raise ValidationError(f"say the role of {name}: --role {'|'.join(ROLE_NAMES)}")
            user = project.access.add_user(name, role, new_password(name))
            emit(args, {"added": user.name, "role": user.role}, f"added {user.name} ({user.role})")
        elif action == "list":
            users = project.access.users()
            rows = [u.__dict__ for u in users]
            text = "\n".join(
                f"{u.name}\t{u.role}\t{'enabled' if u.enabled else 'disabled'}"
                + (f"\twaits until {u.locked_until}" if u.locked_until else "")
                for u in users
            )
            emit(args, {"users": rows}, text or "no users: solo mode")
        elif action == "passwd":
            project.access.set_password(name, new_password(name))
            emit(args, {"passwd": name}, f"password of {name} changed")
        elif action == "revoke":
            count = project.access.revoke_tokens(name)
            emit(args, {"revoked": count, "user": name}, f"{count} API tokens of {name} revoked")
        elif action in ("disable", "enable"):
            project.access.set_enabled(name, action == "enable")
            emit(args, {action: name}, f"{name} {action}d")
        else:  # role
            role = args.role or args.new_role
            if not role:
                raise ValidationError(
                    f"give the new role: qual-nlp users PROJECT role {name} "
                    f"--role {'|'.join(ROLE_NAMES)}"
                )
            project.access.set_role(name, role)
            emit(args, {"user": name, "role": role}, f"{name} is now {role}")
    return 0


def refuse_open_host(project: str, host: str, what: str = "app") -> int | None:
    """Exit status 2 (with how to add a user) when a project without accounts would be
    served beyond this computer; None when it may be served."""
    if host in LOOPBACK:
        return None
    from qual_nlp.project import Project

    with Project.open(project) as opened:
        if opened.has_users():
            return None
    print(
        f"error: {project} has no user accounts, so the {what} only listens on 127.0.0.1 "
        f"(solo mode). To serve it on {host}, add the lead first:\n"
        f"  qual-nlp users {project} add NAME --role lead\n"
        "then the other users (qual-nlp users PROJECT add NAME --role ROLE --user LEAD).",
        file=sys.stderr,
    )
    return 2


def serve(command: list[str]) -> int:
    """Run the app server; stopping this command (Ctrl-C, SIGTERM) stops the server too."""
    import signal
    import subprocess

    server = subprocess.Popen(command)

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return server.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
