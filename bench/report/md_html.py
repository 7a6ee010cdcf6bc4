"""The report's markdown as HTML: the subset that ``bench.report`` writes, and nothing more.

The README and perf.md are generated (never typed), so their markdown is a known, small subset:
``#`` headings, paragraphs, ``- `` lists whose items go on over lines indented by two spaces,
pipe tables with a ``| --- | ---: |`` rule, fenced code blocks, and inline code, ``**bold**``,
links and images. This turns exactly that into HTML, every piece of text escaped, so that the
HTML page shows the same tables as the markdown without a markdown library. Tables get
``class="sortable"`` and right-aligned columns ``class="num"``; each image is wrapped in a link to
itself (``class="zoom"``: the page enlarges it, or the browser opens it full size).

Example:
    >>> print(to_html("# T\\n\\n| a | n |\\n| --- | ---: |\\n| x<y | 1 |\\n"))
    <h1 id="t">T</h1>
    <div class="scroll"><table class="sortable">
    <thead><tr><th>a</th><th class="num">n</th></tr></thead>
    <tbody>
    <tr><td>x&lt;y</td><td class="num">1</td></tr>
    </tbody>
    </table></div>
"""

from __future__ import annotations

import html
import re

__all__ = ["anchor", "inline", "to_html"]

_CODE = re.compile(r"`([^`]+)`")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_RULE = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+\s*$")


def anchor(heading: str) -> str:
    """An ``id`` for a heading: lower case, runs of other characters as one hyphen.

    Example:
        >>> anchor("Summary across problems (default)")
        'summary-across-problems-default'
    """
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-") or "section"


def _href(target: str, links: dict[str, str]) -> str:
    """A link's target, with the pages that have an HTML twin pointing at it."""
    path, sep, frag = target.partition("#")
    return links.get(path, path) + sep + frag


def inline(text: str, links: dict[str, str] | None = None) -> str:
    """One line of markdown text as HTML: escaped, with code, images, links and bold.

    Args:
        text: the markdown.
        links: link targets to replace (``{"perf.md": "perf.html"}``).

    Example:
        >>> inline("**a** `x<1` [perf](perf.md) ![p](plots/a.png)", {"perf.md": "perf.html"})
        '<strong>a</strong> <code>x&lt;1</code> <a href="perf.html">perf</a> \
<a class="zoom" href="plots/a.png"><img src="plots/a.png" alt="p" loading="lazy"></a>'
    """
    links = links or {}
    parts = _CODE.split(text)  # odd items: the insides of code spans, left as they are
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<code>{html.escape(part)}</code>")
            continue
        s = html.escape(part, quote=True)
        s = _IMAGE.sub(
            lambda m: (
                f'<a class="zoom" href="{m[2]}"><img src="{m[2]}" alt="{m[1]}" loading="lazy"></a>'
            ),
            s,
        )
        s = _LINK.sub(lambda m: f'<a href="{_href(m[2], links)}">{m[1]}</a>', s)
        out.append(_BOLD.sub(r"<strong>\1</strong>", s))
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(lines: list[str], links: dict[str, str]) -> str:
    """A pipe table (header, rule, rows) as a sortable HTML table in a scrolling box."""
    right = [c.endswith(":") for c in _cells(lines[1])]

    def row(cells: list[str], tag: str) -> str:
        tds = []
        for j, c in enumerate(cells):
            cls = ' class="num"' if j < len(right) and right[j] else ""
            tds.append(f"<{tag}{cls}>{inline(c, links)}</{tag}>")
        return "<tr>" + "".join(tds) + "</tr>"

    body = [row(_cells(ln), "td") for ln in lines[2:]]
    return "\n".join(
        [
            '<div class="scroll"><table class="sortable">',
            f"<thead>{row(_cells(lines[0]), 'th')}</thead>",
            "<tbody>",
            *body,
            "</tbody>",
            "</table></div>",
        ]
    )


def to_html(markdown: str, links: dict[str, str] | None = None) -> str:
    """The report's markdown (module docstring) as HTML block elements, one per line group.

    Args:
        markdown: the text of README.md or perf.md.
        links: link targets to replace (``{"perf.md": "perf.html"}``).

    Returns:
        The HTML of the body (no ``<html>``, ``<head>`` or ``<body>``).
    """
    links = links or {}
    lines = markdown.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            lang = line[3:].strip()
            cls = f' class="language-{html.escape(lang)}"' if lang else ""
            code = html.escape("\n".join(lines[i + 1 : j]))
            out.append(f"<pre><code{cls}>{code}</code></pre>")
            i = j + 1
        elif m := re.match(r"^(#{1,6}) (.*)$", line):
            level, title = len(m[1]), m[2].strip()
            out.append(f'<h{level} id="{anchor(title)}">{inline(title, links)}</h{level}>')
            i += 1
        elif line.startswith("|") and i + 1 < len(lines) and _RULE.match(lines[i + 1]):
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            out.append(_table(lines[i:j], links))
            i = j
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                item = [lines[i][2:]]
                i += 1
                while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                    item.append(lines[i].strip())
                    i += 1
                items.append(f"<li>{inline(' '.join(item), links)}</li>")
            out.append("<ul>\n" + "\n".join(items) + "\n</ul>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not _starts_block(lines, i):
                para.append(lines[i].strip())
                i += 1
            text = " ".join(para)
            only_images = not _IMAGE.sub("", text).strip()
            cls = ' class="plots"' if only_images else ""
            out.append(f"<p{cls}>{inline(text, links)}</p>")
    return "\n".join(out)


def _starts_block(lines: list[str], i: int) -> bool:
    """Whether line ``i`` opens a block other than a paragraph (ends the paragraph before it)."""
    line = lines[i]
    if line.startswith(("```", "- ")) or re.match(r"^#{1,6} ", line):
        return True
    return line.startswith("|") and i + 1 < len(lines) and bool(_RULE.match(lines[i + 1]))
