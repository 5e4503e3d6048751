"""The page model and its two renderings (document.py): what each block becomes in Markdown and in HTML, and how
text is escaped in each."""

from __future__ import annotations

from ansible_collections.aragora.ops.plugins.module_utils._reporting import document as doc

PAGE = doc.Document(
    "Page <1>",
    [("Who", "a|b\nc"), (doc.Verbatim("Raw|label"), doc.Strong("x & y"))],
    [doc.Section("Overview", [doc.Table([("row", doc.Cell("3", "status-pass"), doc.Cell("0"))], ("Name", "A", "B"),
                                        "grid", row_headers=True)], html_only=True),
     doc.Section(("Target: ", "t|1"), [
         doc.Paragraph("one | line\ntwo"),
         doc.Section(doc.Verbatim("Sub|section"), [
             doc.Table([(doc.Strong("Item <i>"), doc.Status("FAIL"), "", None),
                        (doc.Strong("Other"), doc.Status("NEW STATUS"), "d", "r")],
                       ("Item", "Status", "Detail", "Sign"), "checks", row_headers=True)]),
         doc.ItemList(["first", ("second", " - ", "x|y")], ordered=True),
         doc.ItemList([(doc.Verbatim("k|ey"), ": ", "v|al")])],
         doc.Verdict("NO-GO", good=False))],
    summary=doc.Verbatim("A summary | kept\nas written"),
    verdict=doc.Verdict("GO", good=True, note=" (note <n>)"))


def test_markdown_blocks_escapes_and_blank_lines():
    assert doc.to_markdown(PAGE) == """\
# Page <1>

A summary | kept
as written

| | |
|---|---|
| **Verdict** | **GO** (note <n>) |
| Who | a\\|b c |
| Raw|label | **x & y** |

## Target: t\\|1 — NO-GO

one \\| line two

### Sub|section

| Item | Status | Detail | Sign |
|------|--------|--------|------|
| **Item <i>** | [ ] **FAIL** |  | |
| **Other** | NEW STATUS | d | r |

1. first
2. second - x\\|y

- k|ey: v\\|al
"""


def test_html_blocks_escapes_and_row_headers():
    head, body = doc.to_html(PAGE).split("</head>\n")
    assert "<title>Page &lt;1&gt;: GO</title>" in head and "<script" not in head
    assert body.splitlines() == [
        "<body>",
        "<h1>Page &lt;1&gt;</h1>",
        "<p>A summary | kept", "as written</p>",
        '<p class="verdict go">Verdict: <strong>GO</strong> (note &lt;n&gt;)</p>',
        '<table class="facts"><tbody>',
        '<tr><th scope="row">Who</th><td>a|b', "c</td></tr>",
        '<tr><th scope="row">Raw|label</th><td><strong>x &amp; y</strong></td></tr>',
        "</tbody></table>",
        "<h2>Overview</h2>",
        '<table class="grid"><thead><tr><th scope="col">Name</th><th scope="col">A</th><th scope="col">B</th></tr>'
        "</thead><tbody>",
        '<tr><th scope="row">row</th><td class="status-pass">3</td><td>0</td></tr>',
        "</tbody></table>",
        '<h2>Target: t|1 <span class="status no-go">NO-GO</span></h2>',
        "<p>one | line", "two</p>",
        "<h3>Sub|section</h3>",
        '<table class="checks"><thead><tr><th scope="col">Item</th><th scope="col">Status</th>'
        '<th scope="col">Detail</th><th scope="col">Sign</th></tr></thead><tbody>',
        # a row header is bold already: Strong adds no <strong> there
        '<tr><th scope="row">Item &lt;i&gt;</th><td><span class="status status-fail">FAIL</span></td><td></td>'
        "<td></td></tr>",
        '<tr><th scope="row">Other</th><td><span class="status status-new-status">NEW STATUS</span></td><td>d</td>'
        "<td>r</td></tr>",
        "</tbody></table>",
        "<ol>", "<li>first</li>", "<li>second - x|y</li>", "</ol>",
        "<ul>", "<li>k|ey: v|al</li>", "</ul>",
        "</body>",
        "</html>"]


def test_a_page_without_summary_or_verdict_has_neither():
    page = doc.Document("Plain", [("a", "b")], [doc.Section("S", [doc.Paragraph("p")])])
    assert doc.to_markdown(page) == "# Plain\n\n| | |\n|---|---|\n| a | b |\n\n## S\n\np\n"
    body = doc.to_html(page).split("<body>\n")[1]
    assert "<title>Plain</title>" in doc.to_html(page) and "verdict" not in body
    assert body.startswith('<h1>Plain</h1>\n<table class="facts"><tbody>\n<tr><th scope="row">a</th><td>b</td></tr>')


def test_status_class_keeps_a_status_the_stylesheet_does_not_know():
    assert doc.status_class("PASS") == "status-pass"
    assert doc.status_class("Not Judged!") == "status-not-judged"
