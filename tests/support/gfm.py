"""A PR comment as GitHub renders it: cmark-gfm (GitHub's own parser, through `cmarkgfm`)
with the extensions github.com turns on (tables, autolinks, strikethrough, task lists, tag
filter), and a reading of its HTML for what a comment must not do: links, tags we never
write, tables that lose a column, sections left open, mentions and references outside code.
GitHub's own passes after the parser (mentions, `#12`, emoji) skip code, links and `pre`."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

#: The tags the renderer means to produce; any other is Markdown or HTML that leaked.
_TAGS = "h2 h3 p blockquote strong em code pre table thead tbody tr th td details summary b ul li"
TAGS = frozenset(_TAGS.split())
#: What GitHub turns into a notification, a cross-link or an image in a comment's text
#: outside code: `@team`, `#12`, `GH-12`, a bare URL or address, `:shipit:`, and a run of 7
#: to 40 hex digits (`deadbeef1`, `1234567`), which GitHub links to the commit it starts
#: when the repository has one (what no parser here can know: the shape is what is tested).
LIVE = re.compile(
    r"@\w|#\d|\bgh-\d|https?://|\bwww\.|:[\w+-]+:|(?<![0-9a-z_])[0-9a-f]{7,40}(?![0-9a-z_])",
    re.IGNORECASE,
)


def html(markdown: str) -> str:
    """The HTML GitHub's parser makes of `markdown`, raw HTML kept (GitHub keeps what its
    sanitiser allows, which includes every tag in TAGS)."""
    return str(
        cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    )


class Page(HTMLParser):
    """The rendered comment, read: its stray tags, the cell count of each table row, each
    code element's text, the text outside code, and what is left open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.rows: list[int] = []
        self.codes: list[str] = []
        self.outside: list[str] = []
        self.stack: list[str] = []
        self._cells = 0
        self._code: list[str] | None = None

    @classmethod
    def of(cls, markdown: str) -> Page:
        page = cls()
        page.feed(html(markdown))
        page.close()
        if page.stack:
            page.problems.append(f"left open: {page.stack}")
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            self.problems.append(f"<{tag} {attrs}>")
        self.stack.append(tag)
        self._cells = 0 if tag == "tr" else self._cells + (tag in ("td", "th"))
        if tag == "code":
            self._code = []

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.stack:
            self.problems.append(f"</{tag}> closes nothing")
            return
        while self.stack.pop() != tag:
            self.problems.append(f"</{tag}> closes an open element")
        if tag == "tr":
            self.rows.append(self._cells)
        if tag == "code" and self._code is not None:
            self.codes.append("".join(self._code))
            self._code = None

    def handle_data(self, data: str) -> None:
        if self._code is not None:
            self._code.append(data)
        if not {"code", "pre"} & set(self.stack):
            self.outside.append(data)

    @property
    def text(self) -> str:
        """The text GitHub reads for mentions, references and emoji (outside code)."""
        return "".join(self.outside)

    def live(self) -> list[str]:
        """What in the text outside code GitHub would turn into a ping, link or emoji."""
        return [self.text[max(0, m.start() - 20) : m.end() + 20] for m in LIVE.finditer(self.text)]
