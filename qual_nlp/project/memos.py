"""Memos (``project.memos``): free-standing project memos and memos about documents,
cases, codes and passages, with the rules of :mod:`qual_nlp.access` applied.

Who may do what (the rules live in ``access.policy``):

* leads, analysts and investigators write memos and read the team's;
* a viewer reads the team's memos and writes none;
* a patient partner writes memos on passages of the segments assigned to them and
  reads only their own;
* while a blind assignment is open, a coder reads only their own memos (the team's
  could show how others coded);
* a memo is changed or removed by its author or by a lead.

>>> project.memos.add("Waiting lists", "C03 and C07 both…",
...                   links=[MemoLink("code", "valence/barrier")])   # doctest: +SKIP
>>> project.memos.search("waiting")                                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import pandas as pd

from qual_nlp import access as rules
from qual_nlp.errors import AccessDeniedError, ValidationError
from qual_nlp.project.service import Service
from qual_nlp.records import MEMO_COLUMNS, MEMO_LINK_KINDS, Memo, MemoLink

TITLE_MAX = 300


class MemoService(Service):
    """The memos of one project (``project.memos``)."""

    # ------------------------------------------------------------------ write
    def add(
        self,
        title: str,
        text: str = "",
        *,
        links: Iterable[MemoLink] = (),
        author: str | None = None,
    ) -> int:
        """Write a memo; returns its id. ``author`` defaults to the signed-in user (and
        may only be them); in solo mode to ``"system"`` unless given."""
        access = self._project.access
        access.require(rules.WRITE_MEMOS, on_behalf_of=self._on_behalf(author))
        who = self._author(author)
        found = self._check(title, links)
        self._check_assigned(found)
        return int(self.store.memos.add(Memo(title.strip(), text, who, found), actor=who))

    def update(
        self,
        memo_id: int,
        *,
        title: str | None = None,
        text: str | None = None,
        links: Iterable[MemoLink] | None = None,
    ) -> Memo:
        """Change a memo's title, text or links (its author, or a lead)."""
        memo = self._changeable(memo_id)
        checked = None if links is None else self._check(title or memo.title, links)
        if checked is not None:
            self._check_assigned(checked)
        if title is not None:
            self._check(title, ())
        self.store.memos.update(
            memo_id,
            self._who(memo.author),
            title=None if title is None else title.strip(),
            text=text,
            links=checked,
        )
        return self.get(memo_id)

    def remove(self, memo_id: int) -> None:
        """Remove a memo (its author, or a lead)."""
        memo = self._changeable(memo_id)
        self.store.memos.delete(memo_id, self._who(memo.author))

    # ------------------------------------------------------------------- read
    def get(self, memo_id: int) -> Memo:
        memo = self.store.memos.get(memo_id)
        if not self._readable(memo):
            who = self._project.actor.name if self._project.actor else "(not signed in)"
            reason = f"{who} may read only their own memos"
            self.store.users.log_refusal(who, rules.READ_MEMOS, reason)
            raise AccessDeniedError(f"Refused: {reason}.")
        return memo  # type: ignore[no-any-return]

    def find(
        self,
        search: str = "",
        *,
        document: str | None = None,
        case: str | None = None,
        code: str | None = None,
        author: str | None = None,
    ) -> list[Memo]:
        """The memos the acting user may read (the team's, or only their own), newest
        change first; ``search`` matches title, text, author and links, ignoring case;
        ``document``/``case``/``code`` keep memos linked to it (a passage counts for its
        document)."""
        self._project.access.require_active()
        needle = search.strip().lower()
        out = []
        for memo in self.store.memos.all():
            if not self._readable(memo):
                continue
            if author is not None and memo.author != author:
                continue
            if document is not None and not _linked(memo, ("document", "passage"), document):
                continue
            if case is not None and not _linked(memo, ("case",), case):
                continue
            if code is not None and not _linked(memo, ("code",), code):
                continue
            if needle and needle not in _haystack(memo):
                continue
            out.append(memo)
        return sorted(out, key=lambda m: (m.updated_at, m.id or 0), reverse=True)

    def search(self, text: str, **filters: str | None) -> list[Memo]:
        """Shorthand for :meth:`find` with a search text."""
        return self.find(text, **filters)

    def frame(
        self,
        search: str = "",
        *,
        memos: Callable[[Memo], Memo] | None = None,
        **filters: str | None,
    ) -> pd.DataFrame:
        """:meth:`find` as a table (:data:`~qual_nlp.records.MEMO_COLUMNS`); ``memos``
        rewrites each memo first (the de-identified workbook passes ``deid.memo``)."""
        found = self.find(search, **filters)
        rows = [as_row(memos(m) if memos else m) for m in found]
        return pd.DataFrame(rows, columns=list(MEMO_COLUMNS))

    def readable(self) -> tuple[Memo, ...]:
        """Every memo the acting user may read, oldest first (for exports)."""
        return tuple(sorted(self.find(), key=lambda m: m.id or 0))

    # ---------------------------------------------------------------- helpers
    def _readable(self, memo: Memo) -> bool:
        actor = self._project.actor
        if actor is None or memo.author == actor.name:
            return actor is not None or not self._project.access.has_users()
        return self._project.access.may(rules.READ_MEMOS)

    def _changeable(self, memo_id: int) -> Memo:
        memo = self.store.memos.get(memo_id)
        self._project.access.require_active()
        answer = rules.may_change_memo(self._project.access._current(), memo.author)
        if not answer:
            who = self._project.actor.name if self._project.actor else "(not signed in)"
            self.store.users.log_refusal(who, "change a memo", answer.reason)
            raise AccessDeniedError(f"Refused: {answer.reason}.")
        return memo  # type: ignore[no-any-return]

    def _on_behalf(self, author: str | None) -> str | None:
        if self._project.actor is None:
            return None
        return author

    def _author(self, author: str | None) -> str:
        if self._project.actor is not None:
            return self._project.actor.name
        author = (author or "").strip()
        return author or "system"

    def _who(self, default: str) -> str:
        return self._project.actor.name if self._project.actor else default

    def _check(self, title: str, links: Iterable[MemoLink]) -> tuple[MemoLink, ...]:
        """The links, each checked against the project (a code, document, case that exists;
        a passage inside its document's text)."""
        if not title.strip():
            raise ValidationError("a memo needs a title: say in a few words what it is about")
        if len(title.strip()) > TITLE_MAX:
            raise ValidationError(
                f"memo title is {len(title.strip())} characters; keep it under {TITLE_MAX} "
                "and put the rest in the text"
            )
        links = tuple(dict.fromkeys(links))
        if not links:
            return links
        codes = {c.path for c in self._project.codebook().codes}
        docs = {d.name: len(d.text) for d in self.store.documents()}
        cases = {c.name for c in self.store.cases()}
        for link in links:
            if link.kind not in MEMO_LINK_KINDS:
                raise ValidationError(
                    f"memo link {link.kind!r} is not one of {', '.join(MEMO_LINK_KINDS)}"
                )
            if link.kind == "code" and link.target not in codes:
                raise ValidationError(
                    f"memo link: no code {link.target!r} in the codebook (use a code path "
                    "such as valence/barrier; 'qual-nlp codebook PROJECT' lists them)"
                )
            if link.kind == "case" and link.target not in cases:
                raise ValidationError(f"memo link: no case named {link.target!r} in the project")
            if link.kind in ("document", "passage") and link.target not in docs:
                raise ValidationError(
                    f"memo link: no document named {link.target!r} in the project"
                )
            if link.kind == "passage":
                size = docs[link.target]
                if link.start is None or link.end is None or not 0 <= link.start < link.end <= size:
                    raise ValidationError(
                        f"memo link: passage {link.start}–{link.end} is not inside "
                        f"{link.target!r} (0–{size}); give start < end within the text"
                    )
            elif link.start is not None or link.end is not None:
                raise ValidationError(f"memo link: only a passage has offsets ({link.label()})")
        return links

    def _check_assigned(self, links: Sequence[MemoLink]) -> None:
        """Whoever codes only assigned segments writes memos on passages of those only."""
        allowed = self._project.access.assigned_segments()
        if allowed is None:
            return
        passages = [link for link in links if link.kind == "passage"]
        inside = bool(passages) and all(link.kind in ("passage", "code") for link in links)
        if inside:
            segs = self.store.segments_frame(segment_ids=sorted(allowed))
            for link in passages:
                mine = segs[
                    (segs["document"] == link.target)
                    & (segs["start"] <= int(link.start or 0))
                    & (segs["end"] >= int(link.end or 0))
                ]
                inside = inside and not mine.empty
        if not inside:
            self._project.access.require(rules.WRITE_MEMOS, assigned=False)


def _linked(memo: Memo, kinds: Sequence[str], target: str) -> bool:
    return any(link.kind in kinds and link.target == target for link in memo.links)


def _haystack(memo: Memo) -> str:
    links = " ".join(link.label() for link in memo.links)
    return f"{memo.title}\n{memo.text}\n{memo.author}\n{links}".lower()


def as_row(memo: Memo) -> dict[str, object]:
    """One memo as a row of :data:`~qual_nlp.records.MEMO_COLUMNS`."""
    return {
        "memo_id": memo.id,
        "title": memo.title,
        "text": memo.text,
        "author": memo.author,
        "scope": memo.scope,
        "links": "; ".join(link.label() for link in memo.links),
        "created_at": memo.created_at,
        "updated_at": memo.updated_at,
    }
