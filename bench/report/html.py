"""The report as static HTML pages (``python -m bench report --html``): ``index.html`` beside
``README.md`` and ``perf.html`` beside ``perf.md``.

Each page is one file holding the markdown's content (:mod:`bench.report.md_html`), its style and
a few lines of plain JavaScript: a click on a table's column head sorts the rows by it (numbers
as numbers, from a cell's leading number: ``6144 / 6144`` as 6144, ``832 [640, 1024] / 900`` (a
median with its interval) as 832, ``1.5x`` as 1.5; cells with none, ``-`` or ``(1/3)``, go
last either way; a second click reverses), and a click on a plot shows it enlarged over the page
(without JavaScript its link opens it full size). Plots are the report's own PNG files, linked by
relative path, so the folder can be opened from disk or served as it is; nothing is fetched from the
network. A page is a function of its markdown only,
so the same runs give the same bytes.

Example:
    >>> text = page("# gdjax results\\n\\n| a | n |\\n| --- | ---: |\\n| x | 2 |\\n| y | 10 |\\n")
    >>> "<title>gdjax results</title>" in text and 'class="sortable"' in text
    True
"""

from __future__ import annotations

import html
from pathlib import Path

from bench import runs
from bench.report.md_html import to_html

#: Each markdown file of a report and the page written beside it.
PAGES = {"README.md": "index.html", "perf.md": "perf.html"}

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px;
  padding: 0 1.5em 3em; color: #1d1d1f; }
nav { padding: .8em 0; border-bottom: 1px solid #ddd; }
nav a { margin-right: 1.2em; }
code { background: #f2f2f4; padding: 0 .25em; border-radius: 3px; font-size: 90%; }
pre { background: #f6f6f8; padding: .8em; overflow-x: auto; }
pre code { background: none; padding: 0; }
.scroll { overflow-x: auto; margin: .6em 0 1.2em; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #d8d8dc; padding: .25em .55em; white-space: nowrap; }
thead th { background: #f2f2f4; position: sticky; top: 0; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \\2195"; color: #aaa; }
table.sortable th[aria-sort="ascending"]::after { content: " \\25B2"; color: #333; }
table.sortable th[aria-sort="descending"]::after { content: " \\25BC"; color: #333; }
tbody tr:nth-child(even) { background: #fafafb; }
p.plots { display: flex; flex-wrap: wrap; gap: .6em; }
p.plots img { width: 360px; max-width: 100%; border: 1px solid #ddd; cursor: zoom-in; }
#zoom { display: none; position: fixed; inset: 0; background: rgba(0, 0, 0, .82);
  align-items: center; justify-content: center; flex-direction: column; cursor: zoom-out; }
#zoom.open { display: flex; }
#zoom img { max-width: 96vw; max-height: 90vh; background: #fff; }
#zoom a { color: #fff; margin-top: .5em; }
"""

# Pure functions first (sortKey, compareRows: the order, testable on their own), then the wiring.
SCRIPT = """
"use strict";
// A cell's sort key: its leading number, else null when it has none to give ("-", "(1/3)",
// empty), else its text.
function sortKey(text) {
  const t = text.trim();
  const m = t.match(/^[-+]?(\\d+\\.?\\d*|\\.\\d+)(e[-+]?\\d+)?/i);
  if (m) return parseFloat(m[0]);
  if (t === "" || t === "-" || t === "\\u2013" || t.startsWith("(")) return null;
  return t;
}
// Compare two keys of one column; null last whichever the direction, ties by original order.
function compareKeys(a, b, numeric, dir) {
  if (a.key === null || b.key === null) {
    if (a.key === b.key) return a.index - b.index;
    return a.key === null ? 1 : -1;
  }
  let c;
  if (numeric) c = a.key - b.key;
  else c = String(a.key).localeCompare(String(b.key), "en", {numeric: true});
  return c !== 0 ? dir * c : a.index - b.index;
}
// The order (indices into texts) that sorts one column; numbers as numbers when every cell that
// has a key has a numeric one.
function sortOrder(texts, dir) {
  const keys = texts.map((t, index) => ({key: sortKey(t), index}));
  const numeric = keys.every(k => k.key === null || typeof k.key === "number");
  return keys.sort((a, b) => compareKeys(a, b, numeric, dir)).map(k => k.index);
}
function sortTable(table, col) {
  const th = table.tHead.rows[0].cells[col];
  const dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
  for (const h of table.tHead.rows[0].cells) h.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const texts = rows.map(r => (r.cells[col] ? r.cells[col].textContent : ""));
  for (const i of sortOrder(texts, dir)) body.appendChild(rows[i]);
}
function wire() {
  for (const table of document.querySelectorAll("table.sortable")) {
    Array.from(table.tHead.rows[0].cells).forEach((th, col) => {
      th.tabIndex = 0;
      th.title = "sort by this column";
      th.addEventListener("click", () => sortTable(table, col));
      th.addEventListener("keydown", e => { if (e.key === "Enter") sortTable(table, col); });
    });
  }
  const zoom = document.getElementById("zoom");
  const big = zoom.querySelector("img");
  const full = zoom.querySelector("a");
  for (const a of document.querySelectorAll("a.zoom")) {
    a.addEventListener("click", e => {
      e.preventDefault();
      big.src = a.getAttribute("href");
      big.alt = a.querySelector("img").alt;
      full.href = a.getAttribute("href");
      zoom.classList.add("open");
    });
  }
  zoom.addEventListener("click", e => { if (e.target !== full) zoom.classList.remove("open"); });
  document.addEventListener("keydown", e => {
    if (e.key === "Escape") zoom.classList.remove("open");
  });
}
if (typeof document !== "undefined") document.addEventListener("DOMContentLoaded", wire);
"""


def page(markdown: str, nav: dict[str, str] | None = None) -> str:
    """One report page: the markdown as HTML, with its style, script and zoom overlay.

    Args:
        markdown: the text of README.md or perf.md.
        nav: the report's pages, label to file name, linked at the top (none: no bar); links
            in the text to a markdown file of :data:`PAGES` point at its page.

    Returns:
        The page's text (UTF-8, deterministic).
    """
    first = next((ln for ln in markdown.splitlines() if ln.startswith("# ")), "# gdjax report")
    title = html.escape(first[2:].strip())
    bar = ""
    if nav:
        bar = "<nav>" + "".join(f'<a href="{f}">{html.escape(k)}</a>' for k, f in nav.items())
        bar += "</nav>\n"
    text = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{title}</title>",
            f"<style>{STYLE}</style>",
            f"<script>{SCRIPT}</script>",
            "</head>",
            "<body>",
            bar + "<main>",
            to_html(markdown, PAGES),
            "</main>",
            '<div id="zoom" role="dialog" aria-label="enlarged plot"><img alt="">'
            '<a href="#" target="_blank">open full size</a></div>',
            "</body>",
            "</html>",
            "",
        ]
    )
    # ASCII, other characters as references: the bytes do not depend on the locale's encoding
    return text.encode("ascii", "xmlcharrefreplace").decode("ascii")


def write_pages(results_dir: Path) -> list[Path]:
    """Write the page of each report markdown in ``results_dir`` (:data:`PAGES`), atomically.

    Args:
        results_dir: the folder holding README.md (and perf.md, with a perf run).

    Returns:
        The pages written (none without a README.md).
    """
    results_dir = Path(results_dir)
    found = {md: pg for md, pg in PAGES.items() if (results_dir / md).is_file()}
    if "README.md" not in found:
        return []
    labels = {"README.md": "Results", "perf.md": "Speed"}
    nav = {labels[md]: pg for md, pg in found.items()} if len(found) > 1 else None
    written = []
    for md, pg in found.items():
        runs.write_text(results_dir / pg, page((results_dir / md).read_text(), nav))
        written.append(results_dir / pg)
    return written
