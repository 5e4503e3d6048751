# -*- coding: utf-8 -*-
# Copyright: aragora.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A page as a few kinds of block (a title, a verdict, a table of facts, sections of tables, lists and paragraphs)
and its one Markdown and one HTML rendering. The readiness report and the incident record are built as a
`Document` and rendered here, so a table, a heading or an escape is made one way for every page. No Ansible here.

Text inside a block is a str (escaped for the format: one Markdown table cell, or HTML), a `Strong`, a `Status`,
a `Verbatim`, or a tuple of these laid end to end."""

from __future__ import annotations

import dataclasses
import html as _html
import re
import typing as t

from ansible_collections.aragora.ops.plugins.module_utils._reporting import markdown as md


@dataclasses.dataclass(frozen=True)
class Strong:
    """Bold text. A row's header cell is bold already, so in HTML it adds nothing there."""

    text: t.Any


@dataclasses.dataclass(frozen=True)
class Status:
    """A check's status (PASS, FAIL, ...): a mark in Markdown, a coloured badge in HTML, always in words."""

    status: str


@dataclasses.dataclass(frozen=True)
class Verbatim:
    """Text Markdown writes as it stands, unescaped (HTML escapes it like any text): a paragraph that may span lines
    (the incident's summary) and text of the collection's own that holds no "|" (a title, the report's tally).
    Anything a user or a target names is plain text, escaped as a table cell."""

    text: t.Any


@dataclasses.dataclass(frozen=True)
class Cell:
    """A table cell with a CSS class of its own (HTML only), such as a count coloured by its status."""

    text: t.Any
    css_class: str = ""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A page's or a section's verdict (GO / NO-GO), with an optional note after it."""

    value: str
    good: bool
    note: str = ""

    @property
    def css_class(self) -> str:
        return "go" if self.good else "no-go"


@dataclasses.dataclass
class Paragraph:
    text: t.Any


@dataclasses.dataclass
class ItemList:
    items: t.Sequence[t.Any]
    ordered: bool = False


@dataclasses.dataclass
class Table:
    """Rows of cells (text, a `Cell`, or None: a blank left to fill in by hand). Without a header it is a table of
    facts, one (label, value) per row."""

    rows: t.Sequence[t.Sequence[t.Any]]
    header: t.Sequence[str] = ()
    css_class: str = ""
    row_headers: bool = False  # the first cell of each row names the row


@dataclasses.dataclass
class Section:
    title: t.Any
    blocks: t.Sequence[t.Any]
    verdict: Verdict | None = None
    html_only: bool = False  # an overview for the page's reader (a grid of counts); the Markdown file leaves it out


@dataclasses.dataclass
class Document:
    """Title, then an optional summary, the verdict, the facts (label, value) and the sections, in that order."""

    title: t.Any
    facts: t.Sequence[tuple[t.Any, t.Any]]
    sections: t.Sequence[Section]
    summary: t.Any = None
    verdict: Verdict | None = None


@dataclasses.dataclass(frozen=True)
class _Format:
    """How one format writes each kind of text."""

    escape: t.Callable[[str], str]
    verbatim: t.Callable[[str], str]
    strong: str  # a %s pattern
    status: t.Callable[[str], str]

    def text(self, text: t.Any) -> str:
        if isinstance(text, str):  # most text is plain: ask this first
            return self.escape(text)
        if isinstance(text, tuple):
            return "".join(self.text(part) for part in text)
        if isinstance(text, Strong):
            return self.strong % self.text(text.text)
        if isinstance(text, Status):
            return self.status(text.status)
        if isinstance(text, Verbatim):
            return self.verbatim(str(text.text))
        if isinstance(text, Cell):
            return self.text(text.text)
        return self.escape(str(text))


# --- Markdown (GitHub-flavoured) ---------------------------------------------------------------------------------

_STATUS_MARKS = {"PASS": "[x] PASS", "WARN": "[~] WARN", "FAIL": "[ ] **FAIL**", "SKIP": "[-] SKIP",
                 "ERROR": "[?] **ERROR** (could not judge)"}


# A status the marks do not know is written in words, escaped like any cell.
_MARKDOWN = _Format(md.cell, str, "**%s**", lambda status: _STATUS_MARKS.get(status) or md.cell(status))


def _md_table(table: Table, verdict: Verdict | None = None) -> str:
    lines = md.header(*table.header) if table.header else list(md.FACTS_HEADER)
    if verdict:  # the facts' first row
        lines.append(md.row(_MARKDOWN.text(Strong("Verdict")), _MARKDOWN.text((Strong(verdict.value), verdict.note))))
    lines += [md.row(*(None if cell is None else _MARKDOWN.text(cell) for cell in row)) for row in table.rows]
    return "\n".join(lines)


def _md_blocks(blocks: t.Iterable[t.Any], level: int) -> list[str]:
    out = []
    for block in blocks:
        if isinstance(block, Section):
            if block.html_only:
                continue
            heading = "#" * level + " " + _MARKDOWN.text(block.title)
            out.append(heading + (" — %s" % block.verdict.value if block.verdict else ""))
            out += _md_blocks(block.blocks, level + 1)
        elif isinstance(block, Table):
            out.append(_md_table(block))
        elif isinstance(block, ItemList):
            out.append("\n".join(("%d." % number if block.ordered else "-") + " " + _MARKDOWN.text(item)
                                 for number, item in enumerate(block.items, 1)))
        else:
            out.append(_MARKDOWN.text(block.text))
    return out


def to_markdown(document: Document) -> str:
    """The page as Markdown: every block followed by one blank line, the file by one newline."""
    out = ["# " + _MARKDOWN.text(document.title)]
    if document.summary is not None:
        out.append(_MARKDOWN.text(document.summary))
    out.append(_md_table(Table(document.facts), document.verdict))
    out += _md_blocks(document.sections, 2)
    return "\n\n".join(out) + "\n"


# --- HTML: one self-contained page, inline CSS, no script, no network ----------------------------------------------

def status_class(status: str) -> str:
    """CSS class of a status; one the stylesheet does not know is shown plain, never dropped."""
    return "status-" + re.sub(r"[^a-z0-9]+", "-", status.lower()).strip("-")


_HTML = _Format(_html.escape, _html.escape, "<strong>%s</strong>",
                lambda status: '<span class="status %s">%s</span>' % (status_class(status), _html.escape(status)))


def _html_cell(cell: t.Any, row_header: bool) -> str:
    if row_header:
        return '<th scope="row">%s</th>' % _HTML.text(cell.text if isinstance(cell, Strong) else cell)
    if isinstance(cell, Cell) and cell.css_class:
        return '<td class="%s">%s</td>' % (cell.css_class, _HTML.text(cell))
    return "<td>%s</td>" % ("" if cell is None else _HTML.text(cell))


def _html_table(table: Table) -> list[str]:
    head = "".join('<th scope="col">%s</th>' % _html.escape(title) for title in table.header)
    out = ['<table class="%s">%s<tbody>' % (table.css_class, "<thead><tr>%s</tr></thead>" % head if head else "")]
    out += ["<tr>%s</tr>" % "".join(_html_cell(cell, table.row_headers and not column)
                                    for column, cell in enumerate(row)) for row in table.rows]
    return out + ["</tbody></table>"]


def _html_blocks(blocks: t.Iterable[t.Any], level: int) -> list[str]:
    out = []
    for block in blocks:
        if isinstance(block, Section):
            badge = (' <span class="status %s">%s</span>' % (block.verdict.css_class, _html.escape(block.verdict.value))
                     if block.verdict else "")
            out.append("<h%d>%s%s</h%d>" % (level, _HTML.text(block.title), badge, level))
            out += _html_blocks(block.blocks, level + 1)
        elif isinstance(block, Table):
            out += _html_table(block)
        elif isinstance(block, ItemList):
            tag = "ol" if block.ordered else "ul"
            out += ["<%s>" % tag] + ["<li>%s</li>" % _HTML.text(item) for item in block.items] + ["</%s>" % tag]
        else:
            out.append("<p>%s</p>" % _HTML.text(block.text))
    return out


def to_html(document: Document) -> str:
    """The page as HTML, readable printed or without styles (colours carry no meaning alone)."""
    verdict = document.verdict
    title = _HTML.text(document.title) + (": " + _html.escape(verdict.value) if verdict else "")
    out = ['<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<title>%s</title>' % title, '<style>%s</style>' % _HTML_STYLE, '</head>', '<body>',
           '<h1>%s</h1>' % _HTML.text(document.title)]
    if document.summary is not None:
        out.append("<p>%s</p>" % _HTML.text(document.summary))
    if verdict:
        out.append('<p class="verdict %s">Verdict: <strong>%s</strong>%s</p>' % (
            verdict.css_class, _html.escape(verdict.value), _html.escape(verdict.note)))
    out += _html_table(Table(document.facts, css_class="facts", row_headers=True))
    out += _html_blocks(document.sections, 2)
    out += ['</body>', '</html>']
    return "\n".join(out) + "\n"


# Colours carry no meaning alone: every cell also says its status in words.
_HTML_STYLE = (
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:72rem;"
    "padding:0 1rem;color:#1d232a}"
    "h1{margin-bottom:.3rem}h2{margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}"
    "table{border-collapse:collapse;width:100%;margin:.6rem 0}"
    "th,td{border:1px solid #d0d7de;padding:.35rem .55rem;text-align:left;vertical-align:top}"
    "thead th{background:#f3f5f7}table.facts,table.grid{width:auto}table.grid td{text-align:center;min-width:3.5rem}"
    ".verdict{font-size:1.5rem;padding:.5rem .9rem;display:inline-block;border-radius:6px}"
    ".verdict.go{background:#dafbe1;color:#116329}.verdict.no-go{background:#ffebe9;color:#a40e26}"
    ".status{font-weight:600;padding:0 .35rem;border-radius:4px}"
    ".go,.status-pass{background:#dafbe1;color:#116329}.no-go,.status-fail{background:#ffebe9;color:#a40e26}"
    ".status-warn{background:#fff8c5;color:#7d4e00}.status-skip{background:#eaeef2;color:#57606a}"
    ".status-error{background:#fbefff;color:#6e2b8a}"
    "td.none{color:#8c959f}"
    "@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}")
