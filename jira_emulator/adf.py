"""Atlassian Document Format (ADF) <-> wiki markup / plain text helpers.

Jira REST v3 carries rich text (issue ``description``, textarea fields) as ADF
documents; v2 carries the same content as wiki markup strings. The emulator
stores ADF and converts on the way in and out of v2. The conversion covers the
subset the product uses: paragraphs, bold, italic, bullet lists, headings and
links. Anything else degrades to its plain text.
"""

from __future__ import annotations

import re
from typing import Any

Adf = dict[str, Any]

_HEADING = re.compile(r"^h([1-6])\.\s+(.*)$")
_BULLET = re.compile(r"^([*-])\s+(.*)$")
# Inline tokens: [text|url], [url], *bold*, _italic_
_INLINE = re.compile(
    r"\[(?P<ltext>[^\]|]+)\|(?P<lurl>[^\]]+)\]"
    r"|\[(?P<url>https?://[^\]]+)\]"
    r"|(?<![\w*])\*(?P<bold>[^*\n]+)\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic>[^_\n]+)_(?![\w_])"
)


def empty_doc() -> Adf:
    return {"type": "doc", "version": 1, "content": []}


def is_adf(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and isinstance(value.get("content", []), list)
    )


def text_to_adf(text: str) -> Adf:
    """Plain text -> ADF: one paragraph per blank-line separated block."""
    doc = empty_doc()
    for block in re.split(r"\n\s*\n", text.strip()):
        if block:
            doc["content"].append(
                {"type": "paragraph", "content": [{"type": "text", "text": block}]}
            )
    return doc


def _inline_to_adf(text: str) -> list[Adf]:
    nodes: list[Adf] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            nodes.append({"type": "text", "text": text[pos : m.start()]})
        if m.group("lurl"):
            nodes.append(
                {
                    "type": "text",
                    "text": m.group("ltext"),
                    "marks": [{"type": "link", "attrs": {"href": m.group("lurl")}}],
                }
            )
        elif m.group("url"):
            url = m.group("url")
            nodes.append(
                {"type": "text", "text": url, "marks": [{"type": "link", "attrs": {"href": url}}]}
            )
        elif m.group("bold"):
            nodes.append({"type": "text", "text": m.group("bold"), "marks": [{"type": "strong"}]})
        else:
            nodes.append({"type": "text", "text": m.group("italic"), "marks": [{"type": "em"}]})
        pos = m.end()
    if pos < len(text):
        nodes.append({"type": "text", "text": text[pos:]})
    return nodes


def wiki_to_adf(wiki: str | None) -> Adf | None:
    """Wiki markup (v2) -> ADF (storage form). ``None`` stays ``None``."""
    if wiki is None:
        return None
    doc = empty_doc()
    paragraph: list[str] = []
    bullets: list[str] = []

    def flush_paragraph() -> None:
        if paragraph:
            doc["content"].append(
                {"type": "paragraph", "content": _inline_to_adf("\n".join(paragraph))}
            )
            paragraph.clear()

    def flush_bullets() -> None:
        if bullets:
            doc["content"].append(
                {
                    "type": "bulletList",
                    "content": [
                        {
                            "type": "listItem",
                            "content": [{"type": "paragraph", "content": _inline_to_adf(b)}],
                        }
                        for b in bullets
                    ],
                }
            )
            bullets.clear()

    for raw in wiki.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if not line.strip():
            flush_paragraph()
            flush_bullets()
            continue
        if m := _HEADING.match(line):
            flush_paragraph()
            flush_bullets()
            doc["content"].append(
                {
                    "type": "heading",
                    "attrs": {"level": int(m.group(1))},
                    "content": _inline_to_adf(m.group(2)),
                }
            )
        elif m := _BULLET.match(line):
            flush_paragraph()
            bullets.append(m.group(2))
        else:
            flush_bullets()
            paragraph.append(line)
    flush_paragraph()
    flush_bullets()
    return doc


def _inline_to_wiki(nodes: list[Adf]) -> str:
    out: list[str] = []
    for node in nodes:
        if node.get("type") == "hardBreak":
            out.append("\n")
            continue
        text = (
            node.get("text", "")
            if node.get("type") == "text"
            else _inline_to_wiki(node.get("content", []))
        )
        for mark in node.get("marks", []):
            kind = mark.get("type")
            if kind == "strong":
                text = f"*{text}*"
            elif kind == "em":
                text = f"_{text}_"
            elif kind == "link":
                href = mark.get("attrs", {}).get("href", "")
                text = f"[{href}]" if text == href else f"[{text}|{href}]"
        out.append(text)
    return "".join(out)


def adf_to_wiki(doc: Adf | None) -> str | None:
    """ADF -> wiki markup (v2 rendering, and webhook payloads / changelog strings)."""
    if doc is None:
        return None
    blocks: list[str] = []
    for node in doc.get("content", []):
        kind = node.get("type")
        if kind == "heading":
            level = node.get("attrs", {}).get("level", 1)
            blocks.append(f"h{level}. {_inline_to_wiki(node.get('content', []))}")
        elif kind in ("bulletList", "orderedList"):
            marker = "*" if kind == "bulletList" else "#"
            items = []
            for item in node.get("content", []):
                parts = [_inline_to_wiki(p.get("content", [])) for p in item.get("content", [])]
                items.append(f"{marker} {' '.join(parts)}")
            blocks.append("\n".join(items))
        else:
            blocks.append(_inline_to_wiki(node.get("content", [])))
    return "\n\n".join(blocks)


def adf_to_text(doc: Adf | None) -> str:
    """ADF -> plain text, marks dropped; top-level blocks separated by a blank line."""
    if doc is None:
        return ""

    def text(node: Adf) -> str:
        if node.get("type") == "text":
            return node.get("text", "")
        if node.get("type") == "hardBreak":
            return "\n"
        sep = "\n" if node.get("type") in ("bulletList", "orderedList") else ""
        return sep.join(text(child) for child in node.get("content", []))

    return "\n\n".join(text(block) for block in doc.get("content", [])).strip()
