"""The text Word shows, read from a .docx's WordprocessingML in reading order.

python-docx's ``Paragraph.text`` sees only the runs directly under a paragraph
(and hyperlinks): text in content controls, text boxes, tracked insertions, fields
and smart tags is lost. This walker reads the XML itself:

=========================================  =======================================
``w:r`` ``w:t``, ``w:tab``, ``w:br``,      text, tab, line break, symbol
``w:sym``, ``w:noBreakHyphen``
``w:hyperlink``, ``w:smartTag``,           read through (their runs are the text)
``w:customXml``, ``w:sdt`` (inline and
block), ``w:fldSimple``, ``w:dir``
``w:ins``, ``w:moveTo``                    kept (tracked insertions)
``w:del``, ``w:delText``, ``w:moveFrom``   dropped (tracked deletions)
``w:fldChar`` / ``w:instrText``            the field's shown result; its instruction dropped
``mc:AlternateContent``                    one choice (``mc:Choice``, else ``mc:Fallback``)
text boxes (``w:txbxContent``)             their paragraphs, after the anchoring paragraph
footnotes and endnotes                     ``[^n]`` where referenced; their text at the end
``m:oMath``                                the equation's characters
=========================================  =======================================

Anything else that holds text is not guessed at: it is skipped with a warning
naming the file and the paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
MATH = "http://schemas.openxmlformats.org/officeDocument/2006/math"

_READ_THROUGH = frozenset(
    {"hyperlink", "smartTag", "customXml", "fldSimple", "ins", "moveTo", "dir", "bdo"}
)
_DROPPED = frozenset({"del", "moveFrom"})
_IGNORED = frozenset(
    {
        "pPr",
        "rPr",
        "sectPr",
        "proofErr",
        "bookmarkStart",
        "bookmarkEnd",
        "commentRangeStart",
        "commentRangeEnd",
        "commentReference",
        "annotationRef",
        "permStart",
        "permEnd",
        "moveFromRangeStart",
        "moveFromRangeEnd",
        "moveToRangeStart",
        "moveToRangeEnd",
        "lastRenderedPageBreak",
        "softHyphen",
        "separator",
        "continuationSeparator",
        "footnoteRef",
        "endnoteRef",
        "sdtPr",
        "sdtEndPr",
        "tblPr",
        "tblGrid",
        "trPr",
        "tcPr",
        "tblPrEx",
        "customXmlPr",
        "smartTagPr",
        "fldData",
    }
)
_BLANKS = re.compile(r"[ \t]*\n[ \t]*")


def _w(name: str) -> str:
    return f"{{{W}}}{name}"


def parse_part(data: bytes) -> tuple[etree._Element, str | None]:
    """Parse a part's XML safely (no entities, no network); on damage, recover what lxml can.

    Returns the root and, when the XML had to be recovered, lxml's error message.
    """
    strict = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        return etree.fromstring(data, strict), None
    except etree.XMLSyntaxError as exc:
        repaired = _HTML_ENTITY.sub(_numeric_entity, data)
        if repaired != data:  # HTML names such as &eacute; that XML does not define
            try:
                root = etree.fromstring(repaired, strict)
            except etree.XMLSyntaxError:
                pass
            else:
                return root, f"{exc}; its HTML entities were read as their characters"
        lenient = etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=True, recover=True
        )
        root = etree.fromstring(data, lenient)
        if root is None:
            raise
        return root, str(exc)


_HTML_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_ENTITIES = frozenset({b"amp", b"lt", b"gt", b"quot", b"apos"})


def _numeric_entity(match: re.Match[bytes]) -> bytes:
    from html.entities import name2codepoint

    name = match.group(1)
    if name in _XML_ENTITIES or name.decode() not in name2codepoint:
        return match.group(0)
    return b"&#%d;" % name2codepoint[name.decode()]


_RAW_PARAGRAPH = re.compile(rb"<w:p[ >].*?</w:p>", re.S)
_RAW_TEXT = re.compile(rb"<w:t(?: [^>]*)?>([^<]*)</w:t>")


def raw_text_lengths(data: bytes) -> list[int]:
    """Length of the ``w:t`` text of each top-level-looking paragraph, read without a
    parser (to measure what a recovering parse lost). Entities count as one character."""
    out = []
    for para in _RAW_PARAGRAPH.finditer(data):
        text = b"".join(_RAW_TEXT.findall(para.group(0)))
        out.append(len(re.sub(rb"&[^;\s]{1,10};", b"x", text).decode("utf-8", "replace")))
    return out


@dataclass
class Paragraph:
    """A paragraph as Word shows it; ``number`` counts paragraphs in reading order from 1."""

    text: str
    style: str
    number: int


@dataclass
class Table:
    """A table: rows of cell texts (each cell on one line)."""

    rows: list[list[str]]


@dataclass
class BodyReader:
    """Walk a document body into paragraphs and tables, collecting warnings."""

    source: str
    styles: dict[str, str] = field(default_factory=dict)  # styleId → style name
    notes: dict[tuple[str, str], etree._Element] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    count: int = 0
    _notes_used: list[tuple[str, str]] = field(default_factory=list)
    _fields: list[str] = field(default_factory=list)  # "instr" | "result", innermost last

    # ----------------------------------------------------------------- blocks
    def blocks(self, container: etree._Element) -> list[Paragraph | Table]:
        """Paragraphs and tables of a body, cell, text box or note, in reading order."""
        out: list[Paragraph | Table] = []
        for child in container:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child)
            if name.namespace == MC and name.localname == "AlternateContent":
                chosen = _choice(child)
                if chosen is not None:
                    out.extend(self.blocks(chosen))
            elif name.namespace != W:
                self._unread(child, "an element Word adds")
            elif name.localname == "p":
                out.extend(self.paragraph(child))
            elif name.localname == "tbl":
                out.append(self.table(child))
            elif name.localname == "sdt":
                content = child.find(_w("sdtContent"))
                if content is not None:
                    out.extend(self.blocks(content))
            elif name.localname in ("customXml", "ins", "moveTo"):
                out.extend(self.blocks(child))
            elif name.localname in _DROPPED or name.localname in _IGNORED:
                continue
            else:
                self._unread(child, f"<w:{name.localname}>")
        return out

    def paragraph(self, p: etree._Element) -> list[Paragraph | Table]:
        self.count += 1
        number = self.count
        parts: list[str] = []
        boxes: list[Paragraph | Table] = []
        self._inline(p, parts, boxes)
        style_id = p.find(f"{_w('pPr')}/{_w('pStyle')}")
        style = self.styles.get(style_id.get(_w("val"), ""), "") if style_id is not None else ""
        return [Paragraph("".join(parts), style, number), *boxes]

    def table(self, tbl: etree._Element) -> Table:
        rows = []
        for tr in _children(tbl, "tr"):
            cells = []
            for tc in _children(tr, "tc"):
                merge = tc.find(f"{_w('tcPr')}/{_w('vMerge')}")
                if merge is not None and merge.get(_w("val"), "continue") == "continue":
                    cells.append("")  # the merged cell's text is in the row above
                    continue
                texts = [_flatten(b) for b in self.blocks(tc)]
                cells.append(" ".join(" ".join(texts).split()))
            rows.append(cells)
        return Table(rows)

    def footnotes(self) -> list[Paragraph]:
        """The referenced footnotes and endnotes, ``[^n] text``, in order of reference."""
        out = []
        for n, key in enumerate(self._notes_used, start=1):
            blocks = self.blocks(self.notes[key])
            text = " ".join(_flatten(b) for b in blocks).strip()
            self.count += 1
            out.append(Paragraph(f"[^{n}] {text}", "", self.count))
        return out

    # ----------------------------------------------------------------- inline
    def _inline(self, el: etree._Element, out: list[str], boxes: list[Paragraph | Table]) -> None:
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child)
            local = name.localname
            if name.namespace == MC and local == "AlternateContent":
                chosen = _choice(child)
                if chosen is not None:
                    self._inline(chosen, out, boxes)
            elif name.namespace == MATH:
                self._emit(out, "".join(t.text or "" for t in child.iter(f"{{{MATH}}}t")))
            elif name.namespace != W:
                self._unread(child, "an element Word adds")
            elif local == "r":
                self._run(child, out, boxes)
            elif local == "sdt":
                content = child.find(_w("sdtContent"))
                if content is not None:
                    self._inline(content, out, boxes)
            elif local in _READ_THROUGH:
                self._inline(child, out, boxes)
            elif local in _DROPPED or local in _IGNORED:
                continue
            else:
                self._unread(child, f"<w:{local}>")

    def _run(self, r: etree._Element, out: list[str], boxes: list[Paragraph | Table]) -> None:
        for child in r:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child)
            local = name.localname
            if name.namespace == MC and local == "AlternateContent":
                chosen = _choice(child)
                if chosen is not None:
                    self._run(chosen, out, boxes)
                continue
            if name.namespace != W:
                self._unread(child, "an element Word adds")
            elif local == "t":
                self._emit(out, child.text or "")
            elif local in ("tab", "ptab"):
                self._emit(out, "\t")
            elif local in ("br", "cr"):
                self._emit(out, "\n")
            elif local == "noBreakHyphen":
                self._emit(out, "-")
            elif local == "sym":
                self._emit(out, _symbol(child.get(_w("char"), "")))
            elif local == "fldChar":
                self._field(child.get(_w("fldCharType"), ""))
            elif local in ("footnoteReference", "endnoteReference"):
                key = (local[: -len("Reference")], child.get(_w("id"), ""))
                if key in self.notes:
                    if key not in self._notes_used:
                        self._notes_used.append(key)
                    self._emit(out, f"[^{self._notes_used.index(key) + 1}]")
            elif local in ("drawing", "pict", "object"):
                self._boxes(child, boxes)
            elif local in ("delText", "instrText", "delInstrText") or local in _IGNORED:
                continue
            else:
                self._unread(child, f"<w:{local}>")

    def _field(self, kind: str) -> None:
        if kind == "begin":
            self._fields.append("instr")
        elif kind == "separate" and self._fields:
            self._fields[-1] = "result"
        elif kind == "end" and self._fields:
            self._fields.pop()

    def _emit(self, out: list[str], text: str) -> None:
        if "instr" not in self._fields:  # inside a field's instruction nothing is shown
            out.append(text)

    def _boxes(self, el: etree._Element, boxes: list[Paragraph | Table]) -> None:
        """Text boxes of a drawing or VML picture: the outermost ones (which hold any
        nested ones), and only one branch of any alternate content inside."""
        for box in el.iter(_w("txbxContent")):
            ancestor = box.getparent()
            while ancestor is not None and ancestor is not el:
                if ancestor.tag in (_w("txbxContent"), f"{{{MC}}}Fallback"):
                    break
                ancestor = ancestor.getparent()
            if ancestor is el:
                boxes.extend(self.blocks(box))
        for tag, what in (("chart", "a chart"), ("relIds", "a SmartArt diagram")):
            if any(etree.QName(e).localname == tag for e in el.iter() if isinstance(e.tag, str)):
                self.warnings.append(
                    f"{self.source}: paragraph {self.count}: the text of {what} was not "
                    "imported. Copy it into the document as text if it matters"
                )

    def _unread(self, el: etree._Element, what: str) -> None:
        text = "".join(t.text or "" for t in el.iter(_w("t"))).strip()
        if text:
            preview = text if len(text) <= 60 else text[:57] + "…"
            self.warnings.append(
                f"{self.source}: paragraph {max(self.count, 1)}: text inside {what} was not "
                f"imported ({preview!r}). Open the document in Word, convert that part to "
                "plain text and import it again"
            )


def _children(el: etree._Element, local: str) -> list[etree._Element]:
    """Direct ``w:`` children named ``local``, also inside content controls and custom XML."""
    out = []
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag == _w(local):
            out.append(child)
        elif child.tag == _w("sdt"):
            content = child.find(_w("sdtContent"))
            if content is not None:
                out.extend(_children(content, local))
        elif child.tag == _w("customXml"):
            out.extend(_children(child, local))
    return out


def _choice(alternate: etree._Element) -> etree._Element | None:
    """The one branch of ``mc:AlternateContent`` to read: its first choice, else its fallback."""
    chosen = alternate.find(f"{{{MC}}}Choice")
    return chosen if chosen is not None else alternate.find(f"{{{MC}}}Fallback")


def _symbol(code: str) -> str:
    """A ``w:sym`` character: its code point (symbol fonts' private-use codes are kept)."""
    try:
        return chr(int(code, 16))
    except ValueError:
        return ""


def _flatten(block: Paragraph | Table) -> str:
    if isinstance(block, Paragraph):
        return block.text
    return " ".join(" | ".join(c for c in row) for row in block.rows)


def clean(text: str) -> str:
    """Paragraph text for the rendering: line breaks kept, spaces around them trimmed."""
    return _BLANKS.sub("\n", text)
