"""bench.report.html: the report's static pages, parsed, and opened in headless Chromium where it
is installed (skipped loudly where it is not)."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bench import cli
from bench.report import html, md_html
from bench.report import readme as report

BROWSER = next(
    (shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
    None,
)
NO_BROWSER = (
    "chromium is not installed: the HTML page was NOT opened in a browser "
    "(Debian: apt-get install chromium)"
)
NODE = shutil.which("node")
VOID = {"meta", "img", "br", "hr", "input", "link"}

MARKDOWN = """# gdjax results

Intro with `code <x>`, **bold** and a [link](perf.md#speed) & more.

- one item that goes on
  over two lines
- two

## A section

| variant | best lr | samples |
| --- | ---: | ---: |
| minibatch-32 | 0.25 | 384 / 384 |
| batch | 0.858 | 6144 / 6144 |
| stochastic | - | (1/3) / - |
| minibatch-8 | 1.5 | 1.41e5 / 2e5 |
| b<1> | 0.1 | 39 / 40 |

![p: samples](plots/p-samples.png) ![p: seconds](plots/p-seconds.png)

```bash
python -m bench report --html   # a < b
```
"""


class Page(HTMLParser):
    """Parses a page, checks that its tags nest, and keeps its tables, images and links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tables, self.images, self.links, self.scripts = [], [], [], [], []
        self.ids, self.attrs, self.cell = {}, [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.attrs.append((tag, a))
        if "id" in a:
            self.ids[a["id"]] = a
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self.tables.append({"class": a.get("class"), "rows": []})
        elif tag == "tr":
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "img":
            self.images.append(a)
        elif tag == "a":
            self.links.append(a)
        elif tag == "script":
            self.scripts.append(a)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.stack and self.stack[-1] == tag, (tag, self.stack[-3:])
        self.stack.pop()
        if tag in ("td", "th"):
            self.tables[-1]["rows"][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def parse(text: str) -> Page:
    p = Page()
    p.feed(text)
    p.close()
    assert p.stack == [], f"unclosed tags: {p.stack}"
    return p


def _md_tables(markdown: str) -> list[list[list[str]]]:
    """The pipe tables of a markdown text, as cells, the rule dropped."""
    tables, cur = [], None
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            cur = cur if cur is not None else []
            cur.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif cur is not None:
            tables.append([cur[0], *cur[2:]])
            cur = None
    return tables


def _plain(cell: str) -> str:
    """A markdown cell's text as a browser shows it."""
    return re.sub(r"\*\*(.+?)\*\*|`([^`]*)`", lambda m: m[1] or m[2], cell)


def test_markdown_becomes_the_same_tables_escaped_and_linked():
    p = parse(html.page(MARKDOWN, {"Results": "index.html", "Speed": "perf.html"}))
    assert len(p.tables) == 1 and p.tables[0]["class"] == "sortable"
    assert p.tables[0]["rows"] == _md_tables(MARKDOWN)[0]
    assert p.tables[0]["rows"][5][0] == "b<1>"  # escaped on the page, the same text shown
    nums = [a.get("class") for t, a in p.attrs if t in ("th", "td")]
    assert nums[:3] == [None, "num", "num"]  # the markdown's right-aligned columns
    # images: each inside a link to itself (zoom), by relative path
    assert [i["src"] for i in p.images if i.get("src")] == [
        "plots/p-samples.png",
        "plots/p-seconds.png",
    ]
    zoom = [a for a in p.links if a.get("class") == "zoom"]
    assert [a["href"] for a in zoom] == ["plots/p-samples.png", "plots/p-seconds.png"]
    hrefs = [a.get("href") for a in p.links]
    assert "perf.html#speed" in hrefs  # the markdown twin's link points at its page
    assert "index.html" in hrefs and "perf.html" in hrefs  # the bar
    assert p.ids["a-section"] and "zoom" in p.ids
    text = html.page(MARKDOWN)
    assert "<code>code &lt;x&gt;</code>" in text and "<strong>bold</strong>" in text
    assert "one item that goes on over two lines" in text
    assert '<pre><code class="language-bash">python -m bench report --html   # a &lt; b' in text
    assert "&amp; more" in text


def test_a_page_needs_no_network_and_is_ascii():
    text = html.page(MARKDOWN + "\nDolan\u2013Mor\u00e9\n")
    p = parse(text)
    assert not [s for s in p.scripts if s.get("src")]  # the script is inline
    assert not any(t == "link" for t, _ in p.attrs)  # no stylesheet to fetch
    for _, a in p.attrs:
        for k in ("src", "href"):
            assert not str(a.get(k, "")).startswith(("http:", "https:", "//")), a
    assert text.isascii() and "Dolan&#8211;Mor&#233;" in text


def _dump_dom(page: Path, tmp_path: Path) -> str:
    """The DOM of ``page`` after its scripts ran, as headless Chromium sees it."""
    if BROWSER is None:
        pytest.skip(NO_BROWSER)
    done = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",  # as root, as in CI
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# Run after the page's own script (its DOMContentLoaded listener comes first): sort by
# "samples" twice, by "variant" once, open a plot; the results go into the DOM for --dump-dom.
CLICKS = """<script>
document.addEventListener("DOMContentLoaded", () => {
  const t = document.querySelector("table.sortable");
  const col = () => Array.from(t.tBodies[0].rows).map(r => r.cells[0].textContent);
  const out = {};
  const head = t.tHead.rows[0].cells;
  head[2].click(); out.asc = col(); out.sort = head[2].getAttribute("aria-sort");
  head[2].click(); out.desc = col();
  head[0].click(); out.names = col();
  document.querySelector("a.zoom").click();
  const z = document.getElementById("zoom");
  out.zoom = [z.className, z.querySelector("img").getAttribute("src")];
  const pre = document.createElement("pre"); pre.id = "clicked";
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>
"""


def test_sorting_and_zoom_in_a_real_browser(tmp_path):
    page = tmp_path / "index.html"
    page.write_text(html.page(MARKDOWN).replace("</body>", CLICKS + "</body>"))
    dom = _dump_dom(page, tmp_path)
    found = re.search(r'<pre id="clicked">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    out = json.loads(found[1].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    # numbers as numbers (384 < 6144 < 1.41e5), the cell without one last either way
    assert out["asc"] == ["b<1>", "minibatch-32", "batch", "minibatch-8", "stochastic"]
    assert out["sort"] == "ascending"
    assert out["desc"] == ["minibatch-8", "batch", "minibatch-32", "b<1>", "stochastic"]
    # text with numbers in it in their natural order: minibatch-8 before minibatch-32
    assert out["names"] == ["b<1>", "batch", "minibatch-8", "minibatch-32", "stochastic"]
    assert out["zoom"] == ["open", "plots/p-samples.png"]


def test_sort_order_in_node():
    """The sort's logic on its own (node runs the page's script without a document)."""
    if NODE is None:
        pytest.skip("node is not installed: the page's sort order was NOT checked in JavaScript")
    cells = ["384 / 384", "-", "6144", "1.41e5 / 2e5", "(1/3) / -", "39", "-2.5", "5.5x"]
    script = html.SCRIPT + f"\nconsole.log(JSON.stringify([sortOrder({json.dumps(cells)}, 1), "
    script += 'sortOrder(["b10", "b9", "a", "-"], -1)]));'
    done = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    numeric, text = json.loads(done.stdout)
    assert [cells[i] for i in numeric] == [
        "-2.5",
        "5.5x",
        "39",
        "384 / 384",
        "6144",
        "1.41e5 / 2e5",
        "-",
        "(1/3) / -",
    ]
    assert text == [0, 1, 2, 3]  # b10 > b9 > a descending; "-" last


@pytest.mark.slow
def test_report_html_from_a_run(tiny_run, tmp_path):
    """``bench report --html``: index.html beside README.md, the same tables, deterministic,
    every plot linked by a path that exists."""
    res = tmp_path / "results"
    assert cli.main(["report", str(tiny_run), "--results", str(res), "--html"]) == 0
    first = (res / "index.html").read_bytes()
    report.write(tiny_run, res, html=True)
    assert (res / "index.html").read_bytes() == first  # same runs, same bytes
    markdown = (res / "README.md").read_text()
    p = parse(first.decode())
    md = _md_tables(markdown)
    assert len(p.tables) == len(md) > 0
    for got, want in zip(p.tables, md, strict=True):
        assert got["class"] == "sortable"
        assert got["rows"] == [[_plain(c) for c in r] for r in want]
    srcs = [i["src"] for i in p.images if i.get("src")]
    # the problem's three plots; its one problem is too few for a profile plot (a table)
    assert len(srcs) == len(re.findall(r"!\[", markdown)) == 3
    for s in srcs:
        assert (res / s).is_file(), s
    assert not (res / "perf.html").exists()  # no perf run, no perf.md, no page


@pytest.mark.slow
def test_a_runs_page_loads_in_a_browser(tiny_run, tmp_path):
    """The browser ran the page's script: every column head was made focusable and sortable."""
    res = tmp_path / "results"
    report.write(tiny_run, res, plots=False, html=True)
    dom = _dump_dom(res / "index.html", tmp_path)
    heads = re.findall(r"<th[ >][^>]*>?", dom)
    assert heads and all('tabindex="0"' in h for h in heads), heads[:3]


def test_write_pages_needs_a_readme(tmp_path):
    assert html.write_pages(tmp_path) == []
    (tmp_path / "README.md").write_text("# r\n\nsee [perf](perf.md)\n")
    (tmp_path / "perf.md").write_text("# gdjax speed\n")
    assert [p.name for p in html.write_pages(tmp_path)] == ["index.html", "perf.html"]
    index = (tmp_path / "index.html").read_text()
    assert '<a href="perf.html">perf</a>' in index and '<a href="perf.html">Speed</a>' in index
    assert md_html.anchor("!!") == "section"
