"""Rich text conversions: HTML <-> ADF (REST v3) and HTML <-> wiki markup (REST v2)."""

from __future__ import annotations

import json

import pytest

from integrations.providers.jira import richtext
from integrations.providers.jira.richtext import (
    adf_to_html,
    adf_to_wiki,
    html_to_adf,
    html_to_wiki,
    wiki_to_adf,
    wiki_to_html,
)

# Canonical HTML (what adf_to_html writes) for every construct the product keeps.
CANONICAL = [
    "<p>Plain words.</p>",
    "<h1>Title</h1><h3>Smaller</h3>",
    "<p><strong>bold</strong> <em>italic</em> <u>under</u> <s>gone</s> <code>x = 1</code></p>",
    "<p><strong><em>both</em></strong> and <strong>a</strong><em>b</em></p>",
    '<p>See <a href="https://example.com/a?b=1&amp;c=2">the <strong>docs</strong></a>.</p>',
    "<p>line one<br>line two</p>",
    "<ul><li><p>one</p></li><li><p>two</p><ul><li><p>nested</p></li></ul></li></ul>",
    '<ol start="3"><li><p>three</p></li><li><p>four</p></li></ol>',
    "<ul><li><p>mixed</p><ol><li><p>inner</p></li></ol></li></ul>",
    '<pre><code class="language-python">def f():\n    return "*x*" &lt; 2</code></pre>',
    "<pre><code>{code} inside</code></pre>",
    "<blockquote><p>quoted</p><ul><li><p>point</p></li></ul></blockquote>",
    "<hr>",
    "<p>a * b - c_d 100% {x} [y] |z| \\ back ^up~ ??cite?? !bang! &amp; &lt;tag&gt;</p>",
    "<p>- not a list</p><p># not ordered</p><p>h1. not a heading</p><p>bq. not a quote</p>",
    "<p>mid<strong>word</strong>bold and state-of-the-art</p>",
    "<p>Unicode: café — 日本語 ✓</p>",
]


@pytest.mark.parametrize("source", CANONICAL)
def test_html_adf_html_round_trip(source):
    assert adf_to_html(html_to_adf(source)) == source


# Wiki markup cannot say where an ordered list starts: that one is left out on purpose.
CANONICAL_WIKI = [c for c in CANONICAL if "start=" not in c]


@pytest.mark.parametrize("source", CANONICAL_WIKI)
def test_html_wiki_html_round_trip(source):
    wiki = html_to_wiki(source)
    assert wiki_to_html(wiki) == source, wiki


def test_adf_has_the_expected_nodes():
    doc = html_to_adf(
        '<h2>Goal</h2><p>Go <b>now</b><br><a href="https://x.io">x</a></p>'
        "<ol><li>a</li></ol><pre>code</pre><blockquote>q</blockquote>"
    )
    assert doc["type"] == "doc"
    assert doc["version"] == 1
    kinds = [n["type"] for n in doc["content"]]
    assert kinds == ["heading", "paragraph", "orderedList", "codeBlock", "blockquote"]
    paragraph = doc["content"][1]["content"]
    assert paragraph[1] == {"type": "text", "text": "now", "marks": [{"type": "strong"}]}
    assert paragraph[2] == {"type": "hardBreak"}
    assert paragraph[3]["marks"] == [{"type": "link", "attrs": {"href": "https://x.io"}}]


def test_wiki_for_common_markup_reads_like_jira():
    html = (
        "<h2>Goal</h2><p><strong>Ship</strong> <em>it</em>, see "
        '<a href="https://x.io">docs</a></p><ul><li>a</li><li>b<ol><li>c</li></ol></li></ul>'
    )
    assert html_to_wiki(html) == (
        "h2. Goal\n\n*Ship* _it_, see [docs|https://x.io]\n\n* a\n* b\n*# c"
    )


def test_jira_written_wiki_converts():
    wiki = (
        "h1. Release plan\n"
        "Some *bold* and _italic_ and -strike- and +under+ and {{mono}}.\n"
        "Second line\n\n"
        "# first\n# second\n## deeper\n\n"
        "- dash bullet\n\n"
        "{code:java}\nint x = 1;\n{code}\n"
        "{quote}\nwise words\n{quote}\n"
        "bq. short quote\n"
        "----\n"
        "[https://example.com] and [label|http://example.org]"
    )
    assert wiki_to_html(wiki) == (
        "<h1>Release plan</h1>"
        "<p>Some <strong>bold</strong> and <em>italic</em> and <s>strike</s> and "
        "<u>under</u> and <code>mono</code>.<br>Second line</p>"
        "<ol><li><p>first</p></li><li><p>second</p><ol><li><p>deeper</p></li></ol></li></ol>"
        "<ul><li><p>dash bullet</p></li></ul>"
        '<pre><code class="language-java">int x = 1;</code></pre>'
        "<blockquote><p>wise words</p></blockquote>"
        "<blockquote><p>short quote</p></blockquote>"
        "<hr>"
        '<p><a href="https://example.com">https://example.com</a> and '
        '<a href="http://example.org">label</a></p>'
    )


def test_unknown_adf_nodes_degrade_to_their_text():
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "panel",
                "attrs": {"panelType": "info"},
                "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": "In panel"}]}
                ],
            },
            {
                "type": "paragraph",
                "content": [
                    {"type": "mention", "attrs": {"id": "abc", "text": "@Ann"}},
                    {"type": "text", "text": " "},
                    {"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}},
                    {"type": "text", "text": " "},
                    {"type": "date", "attrs": {"timestamp": "1767225600000"}},
                    {"type": "text", "text": " "},
                    {"type": "status", "attrs": {"text": "DONE", "color": "green"}},
                    {"type": "futureInline", "text": " later"},
                    {
                        "type": "text",
                        "text": "x",
                        "marks": [{"type": "textColor"}, {"type": "strong"}],
                    },
                ],
            },
            {
                "type": "table",
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {
                                "type": "tableCell",
                                "content": [
                                    {
                                        "type": "paragraph",
                                        "content": [{"type": "text", "text": "cell"}],
                                    }
                                ],
                            }
                        ],
                    }
                ],
            },
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "1"}}]},
            {"type": "inlineCard", "attrs": {"url": "https://example.com/card"}},
            {"type": "brandNewBlock", "content": "not a list"},
        ],
    }
    html = adf_to_html(doc)
    assert html == (
        "<p>In panel</p><p>@Ann 😄 2026-01-01 DONE later<strong>x</strong></p><p>cell</p>"
        '<p><a href="https://example.com/card">https://example.com/card</a></p>'
    )
    assert "In panel" in adf_to_wiki(doc)
    assert richtext.adf_to_text(doc).startswith("In panel")


HOSTILE_HTML = [
    "<script>alert(1)</script><p>kept</p>",
    '<p><a href="javascript:alert(1)">click</a></p>',
    '<p><a href=" JaVa\tScRiPt:alert(1)">click</a></p>',
    '<p><a href="data:text/html,x">data</a></p>',
    '<img src=x onerror="alert(1)" alt="alt text">',
    "<p onclick='x'>attr</p><style>p{}</style>",
    "<p>unclosed <b>bold <i>both",
    "</p></div></li>stray closers",
    "<ul><li>one<li>two</ul>",
    "<" * 500 + "p>",
    "<div>" * 5000 + "deep" + "</div>" * 5000,
    "<b>" * 3000 + "marks" + "</b>" * 3000,
    "\x00\x01 control \ufffe chars",
    '<a href="https://x.io/"onmouseover="alert(1)">x</a>',
    "<pre><script>alert(1)</script></pre>",
    "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
    "",
]


@pytest.mark.parametrize("source", HOSTILE_HTML)
def test_hostile_html_never_crashes_and_never_yields_active_content(source):
    html = adf_to_html(html_to_adf(source))
    wiki_html = wiki_to_html(html_to_wiki(source))
    for out in (html, wiki_html):
        lowered = out.lower()
        assert "<script" not in lowered
        assert "javascript:" not in lowered
        assert "onerror" not in lowered.replace("onerror=&quot;", "")
        assert "data:text" not in lowered
        assert "onclick" not in lowered
        assert "onmouseover=" not in lowered
    json.dumps(html_to_adf(source))  # the ADF is plain JSON


def test_hostile_html_keeps_the_harmless_text():
    assert adf_to_html(html_to_adf(HOSTILE_HTML[0])) == "<p>kept</p>"
    assert adf_to_html(html_to_adf(HOSTILE_HTML[1])) == "<p>click</p>"
    assert adf_to_html(html_to_adf(HOSTILE_HTML[4])) == "<p>alt text</p>"
    assert adf_to_html(html_to_adf(HOSTILE_HTML[15])) == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )
    assert "deep" in adf_to_html(html_to_adf(HOSTILE_HTML[10]))
    assert adf_to_html(html_to_adf(HOSTILE_HTML[8])) == (
        "<ul><li><p>one</p></li><li><p>two</p></li></ul>"
    )


HOSTILE_ADF = [
    None,
    "not a doc",
    [],
    {"type": "doc"},
    {"type": "doc", "content": "nope"},
    {"type": "doc", "content": [None, 1, "x", {"no": "type"}]},
    {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": 5}]}]},
    {
        "type": "doc",
        "content": [
            {"type": "heading", "attrs": {"level": 99}, "content": [{"type": "text", "text": "h"}]}
        ],
    },
    {
        "type": "doc",
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {
                        "type": "text",
                        "text": "x",
                        "marks": [
                            {"type": "link", "attrs": {"href": "javascript:alert(1)"}},
                            "bad",
                            None,
                        ],
                    }
                ],
            }
        ],
    },
    {
        "type": "doc",
        "content": [
            {
                "type": "codeBlock",
                "attrs": {"language": '"><script>'},
                "content": [{"type": "text", "text": "</code><script>"}],
            }
        ],
    },
    {
        "type": "doc",
        "content": [
            {
                "type": "orderedList",
                "attrs": {"order": '1" onclick="x'},
                "content": [{"type": "listItem", "content": []}],
            }
        ],
    },
]


@pytest.mark.parametrize("doc", HOSTILE_ADF)
def test_malformed_adf_from_jira_never_crashes(doc):
    html = adf_to_html(doc)
    adf_to_wiki(doc)
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onclick" not in html


def test_deeply_nested_adf_is_flattened_not_a_recursion_error():
    node = {"type": "paragraph", "content": [{"type": "text", "text": "bottom"}]}
    for _ in range(3000):
        node = {"type": "blockquote", "content": [node]}
    doc = {"type": "doc", "content": [node]}
    assert "bottom" in adf_to_html(doc)
    assert "bottom" in adf_to_wiki(doc)


@pytest.mark.parametrize(
    "wiki",
    [
        "{code}never closed",
        "{quote}open",
        "[broken|link",
        "*unclosed bold",
        "{{code",
        "[x|javascript:alert(1)]",
        "\\",
        "*" * 1000,
        "# \n## \n* ",
        "h7. no",
        "{*}{*}",
    ],
)
def test_hostile_wiki_never_crashes(wiki):
    html = wiki_to_html(wiki)
    assert 'href="javascript' not in html
    json.dumps(wiki_to_adf(wiki))
