"""Text written into a GitHub comment (GitHub Flavored Markdown) so that it shows as
written: in code spans, or escaped for Markdown and HTML, with every word GitHub would turn
into a mention, an issue reference, a link, an emoji or a commit link put in code; and the
size a comment is cut below. `plan.markdown` writes the plan's comment with these, and
`testfiles.markdown` the test report's; everything from outside (names, messages, values,
environment names, plan files' own words, test files' words) goes through one of them."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import partial

from reconciler.errors import printable, quoted

#: Where a comment is cut, below GitHub's limit of 65,536 characters.
MARKDOWN_LIMIT = 60_000
#: What Markdown reads as emphasis, code, links or strikethrough inside a line.
_INLINE = re.compile(r"([\\`*_\[\]~])")
#: A word GitHub reads in a comment's text as a mention that notifies someone (`@octocat`,
#: `@org/team`), a reference that links an issue (`#12`, `owner/repo#12`, `GH-12`), a link
#: (`https://...`, `www.…`; an address has its `@`), an emoji (`:shipit:`) or a commit: a
#: run of 7 to 40 hex digits (`deadbeef1`, `a418961`, `"1234567"`) links to the commit it
#: starts, if the repository has one (which only GitHub knows). GitHub reads none inside
#: code, so such a word is shown in code, as written.
_REFERENCE = re.compile(
    r"(?<!\S)(?=\S*?(?:[@#]|GH-\d|://|www\.|:[\w+-]+:"
    r"|(?<![0-9a-z_])[0-9a-f]{7,40}(?![0-9a-z_])))\S+",
    re.IGNORECASE,
)


def fence(body: str) -> str:
    """The fence of a code block holding `body`: longer than any line of backticks in it."""
    longest = max((len(run) for run in body.split("\n") if set(run) == {"`"}), default=0)
    return "`" * max(3, longest + 1)


def code(text: str, table: bool = False) -> str:
    """`text` as a Markdown code span: shown as written, read as neither Markdown, HTML nor
    a link. (Inside a `<code>` tag GitHub still links a bare URL or address.) `table`: in a
    table cell, where GitHub splits cells at a `|` even in code unless it is escaped."""
    if not text:
        return "<code></code>"
    ticks = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    # A span that starts or ends with a backtick or a space needs a space inside each tick
    # run; GitHub takes one off each end.
    pad = " " if text.strip(" ") and (text[0] in "` " or text[-1] in "` ") else ""
    if table:
        text = text.replace("|", "\\|")
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _inert(text: str, escape: Callable[[str], str], code: Callable[[str], str]) -> str:
    """`text` escaped by `escape`, and each word GitHub would take for a mention, an issue
    reference, a link or an emoji in `code`: the comment shows the text as written, and
    notifies or links nobody."""
    parts: list[str] = []
    end = 0
    for match in _REFERENCE.finditer(text):
        parts += [escape(text[end : match.start()]), code(match[0])]
        end = match.end()
    return "".join(parts) + escape(text[end:])


def _escaped(text: str) -> str:
    """Text inside a Markdown line: escaped for a terminal, its emphasis, code and link
    characters for Markdown, then for HTML."""
    return html.escape(_INLINE.sub(r"\\\1", printable(text)), quote=False)


def cell(text: str) -> str:
    """Table cell text: in code (values read as typed), its pipes escaped."""
    return code(printable(text), table=True)


def html_code(text: str) -> str:
    return f"<code>{html.escape(text, quote=False)}</code>"


def html_text(text: str) -> str:
    """Outside text in an HTML block (a section's summary line): escaped for a terminal,
    then for HTML (Markdown is not read there); mentions and references made inert."""
    return _inert(printable(text), partial(html.escape, quote=False), html_code)


def inline(text: str) -> str:
    """Outside text inside a Markdown line (an alert, the seeds line): escaped as `_escaped`
    does, so that a CA named `*Legacy* [x](...)` reads as it is named, not as italics and a
    link; mentions and references made inert."""
    return _inert(printable(text), _escaped, code)


def in_cell(text: str) -> str:
    """Outside text (prose, not a value) in a table cell: as `inline`, its pipes escaped,
    in code and out (GitHub splits cells at a `|` even in code unless it is escaped)."""
    return _inert(
        printable(text), lambda part: _escaped(part).replace("|", "\\|"), partial(code, table=True)
    )


def name(name: str, block: bool = False) -> str:
    """A CA's name in code, quoted as the text plan quotes it: exact, and GitHub neither
    notifies a team it names (`@org/team`) nor links an issue (`#12`) or a URL. `block`: in
    an HTML block, where Markdown is not read."""
    return html_code(quoted(name)) if block else code(quoted(name))
