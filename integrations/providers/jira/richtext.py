"""Rich text between the product (HTML) and Jira: ADF for REST v3, wiki markup for v2.

ADF is the model in the middle: HTML -> ADF -> HTML, and wiki goes through ADF too
(``html_to_wiki = adf_to_wiki(html_to_adf(...))``), so both versions keep the same subset:
paragraphs, headings, bold / italic / underline / strike / code, links, bullet and ordered
lists, code blocks, blockquotes, rules and hard breaks.

Everything here is input from people or from Jira: unknown HTML tags are unwrapped, script
and style are dropped, links keep only http(s) and mailto targets, unknown ADF nodes degrade
to their text, and nothing raises on malformed input. HTML output is escaped throughout.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

Adf = dict[str, Any]

MAX_DEPTH = 64  # deeper nesting is flattened: no recursion bombs from hostile input
MAX_INPUT = 1_000_000  # characters; longer input is cut

# Canonical mark order: outermost first. ``code`` may only combine with ``link`` in ADF.
MARK_ORDER = ("link", "strong", "em", "underline", "strike", "code")
_INLINE_MARK_TAGS = {
    "strong": "strong",
    "b": "strong",
    "em": "em",
    "i": "em",
    "cite": "em",
    "u": "underline",
    "ins": "underline",
    "s": "strike",
    "strike": "strike",
    "del": "strike",
    "code": "code",
    "kbd": "code",
    "samp": "code",
    "tt": "code",
}
_HTML_FOR_MARK = {"strong": "strong", "em": "em", "underline": "u", "strike": "s", "code": "code"}
_VOID = {
    "br",
    "hr",
    "img",
    "input",
    "meta",
    "link",
    "wbr",
    "col",
    "area",
    "base",
    "embed",
    "source",
    "track",
    "param",
}
_DROPPED = {
    "script",
    "style",
    "template",
    "head",
    "title",
    "iframe",
    "object",
    "noscript",
    "svg",
    "math",
    "textarea",
    "select",
    "button",
}
_BLOCK_TAGS = {
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "pre",
    "blockquote",
    "hr",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "nav",
    "aside",
    "figure",
    "figcaption",
    "dl",
    "dt",
    "dd",
    "address",
    "details",
    "summary",
    "caption",
    "body",
    "html",
    "form",
    "fieldset",
}
_SAFE_SCHEMES = ("http", "https", "mailto")
_WS = re.compile(r"[ \t\n\r\f\v]+")


def safe_href(url: Any) -> str | None:
    """The URL if it is http(s) or mailto, else None (no javascript:, data:, ...)."""
    if not isinstance(url, str):
        return None
    cleaned = "".join(ch for ch in url.strip() if ch >= " " and ch != "\x7f")
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", cleaned)
    if not match or match.group(1).lower() not in _SAFE_SCHEMES:
        return None
    return cleaned


# --- a small HTML tree -----------------------------------------------------------------------


class _El:
    __slots__ = ("attrs", "children", "tag")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[_El | str] = []


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _El("#root", {})
        self.stack: list[_El] = [self.root]
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            if tag not in _VOID:
                self.dropping += 1
            return
        if self.dropping:
            return
        if tag in ("p", "li", "dt", "dd") or tag in _BLOCK_TAGS - {"div"}:
            self._implicit_close(tag)
        element = _El(tag, {k: (v or "") for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID and len(self.stack) < MAX_DEPTH:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.dropping or tag in _DROPPED:
            return
        self.stack[-1].children.append(_El(tag, {k: (v or "") for k, v in attrs}))

    def _implicit_close(self, tag: str) -> None:
        # <p> closes an open <p>; <li> closes the open <li> of the same list.
        top = self.stack[-1]
        closes_paragraph = top.tag == "p" and tag in _BLOCK_TAGS
        closes_sibling = top.tag == tag and tag in ("li", "dt", "dd")
        if closes_paragraph or closes_sibling:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping:
            return
        for position in range(len(self.stack) - 1, 0, -1):
            if self.stack[position].tag == tag:
                del self.stack[position:]
                return

    def handle_data(self, data: str) -> None:
        if not self.dropping and data:
            self.stack[-1].children.append(data)


def _parse_html(source: Any) -> _El:
    builder = _TreeBuilder()
    if isinstance(source, str) and source:
        try:
            builder.feed(source[:MAX_INPUT])
            builder.close()
        except Exception:  # html.parser is lenient; this is a last resort, never a crash
            return _El("#root", {})
    return builder.root


# --- HTML -> ADF -----------------------------------------------------------------------------


def _text(value: str, marks: list[Adf]) -> Adf:
    node: Adf = {"type": "text", "text": value}
    if marks:
        node["marks"] = [dict(m) for m in marks]
    return node


def _sorted_marks(marks: list[Adf]) -> list[Adf]:
    seen: dict[str, Adf] = {}
    for mark in marks:
        if isinstance(mark, dict) and mark.get("type") in MARK_ORDER:
            seen.setdefault(mark["type"], mark)
    if "code" in seen:  # ADF: code combines only with link
        seen = {k: v for k, v in seen.items() if k in ("code", "link")}
    return [seen[name] for name in MARK_ORDER if name in seen]


def _add_mark(marks: list[Adf], mark: Adf) -> list[Adf]:
    return _sorted_marks([*marks, mark])


def _inlines(node: _El | str, marks: list[Adf], depth: int = 0) -> list[Adf]:
    if isinstance(node, str):
        return [_text(node, marks)] if node else []
    if node.tag == "br":
        return [{"type": "hardBreak"}]
    if node.tag == "img":
        alt = node.attrs.get("alt", "")
        return [_text(alt, marks)] if alt else []
    if node.tag == "hr":
        return []
    if node.tag in _INLINE_MARK_TAGS:
        marks = _add_mark(marks, {"type": _INLINE_MARK_TAGS[node.tag]})
    elif node.tag == "a":
        href = safe_href(node.attrs.get("href"))
        if href:
            marks = _add_mark(marks, {"type": "link", "attrs": {"href": href}})
    out: list[Adf] = []
    if depth > MAX_DEPTH:
        return [_text(_plain(node), marks)] if _plain(node) else []
    for child in node.children:
        out.extend(_inlines(child, marks, depth + 1))
    if node.tag in _BLOCK_TAGS and out:
        out.append(_text(" ", marks))  # a block flattened into a line keeps a word gap
    return out


def _plain(node: _El | str) -> str:
    if isinstance(node, str):
        return node
    return "".join(_plain(child) for child in node.children)


def _normalize_inline(nodes: list[Adf]) -> list[Adf]:
    """Collapse whitespace as a browser would, trim line ends, merge equal neighbours."""
    out: list[Adf] = []
    previous_space = True  # at the start of a block, leading space is dropped
    for node in nodes:
        if node["type"] == "hardBreak":
            if out and out[-1]["type"] == "text":
                out[-1]["text"] = out[-1]["text"].rstrip(" ")
                if not out[-1]["text"]:
                    out.pop()
            out.append(node)
            previous_space = True
            continue
        text = _WS.sub(" ", node["text"])
        if previous_space:
            text = text.lstrip(" ")
        if not text:
            continue
        previous_space = text.endswith(" ")
        if out and out[-1]["type"] == "text" and out[-1].get("marks") == node.get("marks"):
            out[-1]["text"] += text
        else:
            out.append({**node, "text": text})
    while out and out[-1]["type"] == "text":
        out[-1]["text"] = out[-1]["text"].rstrip(" ")
        if out[-1]["text"]:
            break
        out.pop()
    return out


def _paragraph(inlines: list[Adf]) -> Adf | None:
    content = _normalize_inline(inlines)
    if not content or all(n["type"] == "hardBreak" for n in content):
        return None
    return {"type": "paragraph", "content": content}


def _blocks(children: list[_El | str], depth: int) -> list[Adf]:
    out: list[Adf] = []
    pending: list[Adf] = []

    def flush() -> None:
        paragraph = _paragraph(pending)
        if paragraph:
            out.append(paragraph)
        pending.clear()

    for child in children:
        if isinstance(child, str) or child.tag not in _BLOCK_TAGS or depth > MAX_DEPTH:
            pending.extend(_inlines(child, [], depth + 1))
        else:
            flush()
            out.extend(_block(child, depth + 1))
    flush()
    return out


def _list_item(element: _El | str, depth: int) -> Adf:
    children = element.children if isinstance(element, _El) else [element]
    content: list[Adf] = []
    for block in _blocks(children, depth + 1):
        if block["type"] in ("paragraph", "bulletList", "orderedList", "codeBlock"):
            content.append(block)
        else:  # headings, quotes, rules inside an item become paragraphs of their text
            text = _adf_plain(block)
            if text:
                content.append({"type": "paragraph", "content": [_text(text, [])]})
    if not content or content[0]["type"] != "paragraph":
        content.insert(0, {"type": "paragraph", "content": []})
    return {"type": "listItem", "content": content}


def _block(element: _El, depth: int) -> list[Adf]:
    tag = element.tag
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
        content = _normalize_inline(
            [n for child in element.children for n in _inlines(child, [], depth + 1)]
        )
        if not content:
            return []
        return [{"type": "heading", "attrs": {"level": int(tag[1])}, "content": content}]
    if tag in ("ul", "ol"):
        items = [
            _list_item(child, depth)
            for child in element.children
            if not (isinstance(child, str) and not child.strip())
        ]
        if not items:
            return []
        if tag == "ul":
            return [{"type": "bulletList", "content": items}]
        node: Adf = {"type": "orderedList", "content": items}
        start = element.attrs.get("start", "")
        if start.isdigit() and int(start) != 1:
            node["attrs"] = {"order": int(start)}
        return [node]
    if tag == "pre":
        text = _plain(element)
        if text.startswith("\n"):
            text = text[1:]
        text = text.rstrip("\n")
        node = {"type": "codeBlock", "content": [_text(text, [])] if text else []}
        language = _code_language(element)
        if language:
            node["attrs"] = {"language": language}
        return [node]
    if tag == "blockquote":
        content = []
        for block in _blocks(element.children, depth + 1):
            if block["type"] in ("paragraph", "bulletList", "orderedList", "codeBlock"):
                content.append(block)
            elif _adf_plain(block):
                content.append({"type": "paragraph", "content": [_text(_adf_plain(block), [])]})
        return [{"type": "blockquote", "content": content}] if content else []
    if tag == "hr":
        return [{"type": "rule"}]
    if tag == "li":
        return [{"type": "bulletList", "content": [_list_item(element, depth)]}]
    return _blocks(element.children, depth + 1)


def _code_language(pre: _El) -> str | None:
    for candidate in [pre, *[c for c in pre.children if isinstance(c, _El)]]:
        for cls in candidate.attrs.get("class", "").split():
            if cls.startswith("language-") and re.fullmatch(r"[\w+#.-]{1,40}", cls[9:]):
                return cls[9:]
    return None


def html_to_adf(source: Any) -> Adf:
    """HTML (any quality) -> an ADF ``doc``. Never raises."""
    root = _parse_html(source)
    return {"type": "doc", "version": 1, "content": _blocks(root.children, 0)}


# --- ADF -> HTML -----------------------------------------------------------------------------

_INLINE_TYPES = {
    "text",
    "hardBreak",
    "mention",
    "emoji",
    "inlineCard",
    "date",
    "status",
    "placeholder",
    "inlineExtension",
    "mediaInline",
}


def _attrs(node: Any) -> dict[str, Any]:
    attrs = node.get("attrs") if isinstance(node, dict) else None
    return attrs if isinstance(attrs, dict) else {}


def _content(node: Any) -> list[Any]:
    content = node.get("content") if isinstance(node, dict) else None
    return [c for c in content if isinstance(c, dict)] if isinstance(content, list) else []


def _inline_text(node: Adf) -> str:
    """The visible text of an inline node other than ``text`` (mentions, emoji, dates...)."""
    kind = node.get("type")
    attrs = _attrs(node)
    if kind == "mention":
        text = attrs.get("text") or attrs.get("id") or ""
        return str(text) if str(text).startswith("@") else f"@{text}" if text else ""
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind == "date":
        try:
            stamp = int(str(attrs.get("timestamp"))) / 1000
            return datetime.fromtimestamp(stamp, UTC).date().isoformat()
        except (TypeError, ValueError, OverflowError, OSError):
            return ""
    if kind in ("status", "placeholder"):
        return str(attrs.get("text") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    text = node.get("text")
    if isinstance(text, str):
        return text
    return "".join(_inline_text(child) for child in _content(node))


def _adf_plain(node: Any, depth: int = 0) -> str:
    if not isinstance(node, dict) or depth > MAX_DEPTH:
        return ""
    if node.get("type") == "text":
        return str(node.get("text") or "")
    if node.get("type") == "hardBreak":
        return "\n"
    if node.get("type") in _INLINE_TYPES:
        return _inline_text(node)
    parts = [_adf_plain(child, depth + 1) for child in _content(node)]
    return (
        " ".join(p for p in parts if p)
        if _content(node) and not all(c.get("type") in _INLINE_TYPES for c in _content(node))
        else "".join(parts)
    )


def _marks_of(node: Adf) -> list[Adf]:
    marks = node.get("marks")
    return _sorted_marks(marks) if isinstance(marks, list) else []


def _render_inlines(nodes: list[Adf]) -> str:
    # Inline cards become linked text; then marks nest as a stack, so a link spanning
    # "the <strong>docs</strong>" stays one <a>.
    prepared: list[Adf] = []
    for node in nodes:
        url = safe_href(_attrs(node).get("url")) if node.get("type") == "inlineCard" else None
        if url:
            prepared.append(_text(url, [{"type": "link", "attrs": {"href": url}}]))
        else:
            prepared.append(node)
    parts: list[str] = []
    for kind, value in _inline_tokens(prepared):
        if kind == "text":
            parts.append(html.escape(value, quote=False))
        elif kind == "break":
            parts.append("<br>")
        elif value["type"] == "link":
            href = safe_href(_attrs(value).get("href"))
            parts.append(f'<a href="{html.escape(href or "")}">' if kind == "open" else "</a>")
        else:
            tag = _HTML_FOR_MARK[value["type"]]
            parts.append(f"<{tag}>" if kind == "open" else f"</{tag}>")
    return "".join(parts)


def _deep_text(node: Any) -> str:
    """All text under ``node``, without recursion (for nesting too deep to render)."""
    texts: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        if current.get("type") == "text" and isinstance(current.get("text"), str):
            texts.append(current["text"])
        elif current.get("type") in _INLINE_TYPES:
            texts.append(_inline_text(current))
        stack.extend(reversed(_content(current)))
    return " ".join(t for t in texts if t)


def _render_block(node: Adf, depth: int) -> str:
    if depth > MAX_DEPTH:
        text = _deep_text(node)
        return f"<p>{html.escape(text, quote=False)}</p>" if text else ""
    kind = node.get("type")
    content = _content(node)
    if kind == "paragraph":
        return f"<p>{_render_inlines(content)}</p>"
    if kind == "heading":
        level = _attrs(node).get("level")
        level = level if isinstance(level, int) and 1 <= level <= 6 else 2
        return f"<h{level}>{_render_inlines(content)}</h{level}>"
    if kind in ("bulletList", "orderedList"):
        items = "".join(_render_list_item(item, depth + 1) for item in content)
        if kind == "bulletList":
            return f"<ul>{items}</ul>"
        order = _attrs(node).get("order")
        start = f' start="{order}"' if isinstance(order, int) and order != 1 else ""
        return f"<ol{start}>{items}</ol>"
    if kind == "listItem":
        return _render_list_item(node, depth)
    if kind == "codeBlock":
        language = _attrs(node).get("language")
        css = (
            f' class="language-{html.escape(language)}"'
            if isinstance(language, str) and re.fullmatch(r"[\w+#.-]{1,40}", language)
            else ""
        )
        text = "".join(
            _inline_text(c) if c.get("type") != "text" else str(c.get("text") or "")
            for c in content
        )
        return f"<pre><code{css}>{html.escape(text, quote=False)}</code></pre>"
    if kind == "blockquote":
        return f"<blockquote>{_render_blocks(content, depth + 1)}</blockquote>"
    if kind == "rule":
        return "<hr>"
    if kind in _INLINE_TYPES:
        rendered = _render_inlines([node])
        return f"<p>{rendered}</p>" if rendered else ""
    # Unknown (panel, table, expand, media, task lists, future nodes): keep the text.
    if content and all(c.get("type") in _INLINE_TYPES for c in content):
        rendered = _render_inlines(content)
        return f"<p>{rendered}</p>" if rendered else ""
    if content:
        return _render_blocks(content, depth + 1)
    text = _inline_text(node)
    return f"<p>{html.escape(text, quote=False)}</p>" if text else ""


def _render_list_item(node: Adf, depth: int) -> str:
    if node.get("type") != "listItem":
        return f"<li>{_render_block(node, depth + 1)}</li>"
    return f"<li>{_render_blocks(_content(node), depth + 1)}</li>"


def _render_blocks(nodes: list[Adf], depth: int) -> str:
    return "".join(_render_block(node, depth) for node in nodes)


def adf_to_html(doc: Any) -> str:
    """An ADF document (or any node) -> safe HTML. Unknown nodes become their text."""
    if not isinstance(doc, dict):
        return ""
    if doc.get("type") == "doc":
        return _render_blocks(_content(doc), 0)
    return _render_block(doc, 0)


def adf_to_text(doc: Any) -> str:
    """The plain text of an ADF document (for summaries and logs)."""
    return _adf_plain(doc).strip()


# --- ADF -> wiki markup ----------------------------------------------------------------------

_WIKI_MARK_CHAR = {"strong": "*", "em": "_", "underline": "+", "strike": "-"}
_WIKI_CHAR_MARK = {v: k for k, v in _WIKI_MARK_CHAR.items()}
_ALWAYS_ESCAPE = set("{}[]|")
_BOUNDARY_ESCAPE = set("*_+-^~")
_LINE_START = re.compile(r"^(h[1-6]\.|bq\.|[*#-]+ |----|\{(code|noformat|quote))")


def _escape_wiki_text(text: str) -> str:
    out: list[str] = []
    for position, char in enumerate(text):
        previous = text[position - 1] if position else ""
        following = text[position + 1] if position + 1 < len(text) else ""
        if char == "\\":
            out.append("&#92;")
        elif (
            char in _ALWAYS_ESCAPE
            or (char in _BOUNDARY_ESCAPE and not (previous.isalnum() and following.isalnum()))
            or (char == "!" and following and not following.isspace())
            or (char == "?" and following == "?")
        ):
            out.append("\\" + char)
        elif char == "&" and text.startswith("&#92;", position):
            out.append("&#38;")
        else:
            out.append(char)
    return "".join(out)


def _inline_tokens(nodes: list[Adf]) -> list[tuple[str, Any]]:
    """Open/close/text tokens with marks nested as a stack (outermost first)."""
    tokens: list[tuple[str, Any]] = []
    stack: list[Adf] = []
    for node in nodes:
        kind = node.get("type")
        if kind == "hardBreak":  # a break does not end the surrounding marks
            tokens.append(("break", None))
            continue
        if kind == "text":
            text = node.get("text") if isinstance(node.get("text"), str) else ""
        else:
            text = _inline_text(node)
        if not text:
            continue
        marks = _marks_of(node)
        common = 0
        while common < min(len(stack), len(marks)) and stack[common] == marks[common]:
            common += 1
        while len(stack) > common:
            tokens.append(("close", stack.pop()))
        for mark in marks[common:]:
            stack.append(mark)
            tokens.append(("open", mark))
        tokens.append(("text", text))
    while stack:
        tokens.append(("close", stack.pop()))
    return tokens


def _inline_to_wiki(nodes: list[Adf]) -> str:
    tokens = _inline_tokens(nodes)
    out: list[str] = []

    def next_char(position: int) -> str:
        for kind, value in tokens[position + 1 :]:
            if kind == "text":
                return value[0]
            if kind == "break":
                return "\\"
            if kind == "open" and value["type"] == "link":
                return "["
            if kind == "close" and value["type"] == "link":
                return "|"
        return ""

    def previous_char() -> str:
        return out[-1][-1] if out and out[-1] else ""

    in_code = False
    for position, (kind, value) in enumerate(tokens):
        if kind == "text":
            if in_code:
                out.append(value.replace("}}", "} }").replace("\n", " ") or " ")
            else:
                out.append(_escape_wiki_text(value))
        elif kind == "break":
            out.append("\\\\")
        elif value["type"] == "link":
            if kind == "open":
                out.append("[")
            else:
                href = safe_href(_attrs(value).get("href")) or ""
                out.append("|" + href.replace("|", "%7C").replace("]", "%5D") + "]")
        elif value["type"] == "code":
            in_code = kind == "open"
            out.append("{{" if kind == "open" else "}}")
        else:
            char = _WIKI_MARK_CHAR[value["type"]]
            if kind == "open":
                braces = previous_char().isalnum() or next_char(position).isspace()
            else:
                braces = previous_char().isspace() or next_char(position).isalnum()
            out.append("{" + char + "}" if braces else char)
    return "".join(out)


def _escape_line_start(line: str) -> str:
    return "\\" + line if _LINE_START.match(line) else line


def _blocks_to_wiki(nodes: list[Adf], depth: int) -> list[str]:
    blocks: list[str] = []
    for node in nodes:
        rendered = _block_to_wiki(node, depth)
        if rendered:
            blocks.append(rendered)
    return blocks


def _list_to_wiki(node: Adf, prefix: str, depth: int) -> list[str]:
    char = "*" if node.get("type") == "bulletList" else "#"
    lines: list[str] = []
    for item in _content(node):
        marker = prefix + char
        first = True
        for child in _content(item) if item.get("type") == "listItem" else [item]:
            if child.get("type") in ("bulletList", "orderedList") and depth < MAX_DEPTH:
                if first:
                    lines.append(f"{marker} ")
                lines.extend(_list_to_wiki(child, marker, depth + 1))
                first = False
                continue
            if child.get("type") == "paragraph":
                text = _inline_to_wiki(_content(child))
            else:
                text = _escape_wiki_text(_adf_plain(child, depth + 1).replace("\n", " "))
            if first:
                lines.append(f"{marker} {text}")
                first = False
            elif text:
                lines[-1] += "\\\\" + text
        if first:
            lines.append(f"{marker} ")
    return lines


def _block_to_wiki(node: Adf, depth: int) -> str:
    kind = node.get("type")
    content = _content(node)
    if depth > MAX_DEPTH:
        return _escape_wiki_text(_deep_text(node))
    if kind == "paragraph":
        return _escape_line_start(_inline_to_wiki(content))
    if kind == "heading":
        level = _attrs(node).get("level")
        level = level if isinstance(level, int) and 1 <= level <= 6 else 2
        return f"h{level}. {_inline_to_wiki(content)}"
    if kind in ("bulletList", "orderedList"):
        return "\n".join(_list_to_wiki(node, "", depth))
    if kind == "codeBlock":
        text = "".join(str(c.get("text") or "") for c in content)
        language = _attrs(node).get("language")
        tag = "noformat" if "{code" in text else "code"
        opening = (
            f"{{code:{language}}}"
            if tag == "code"
            and isinstance(language, str)
            and re.fullmatch(r"[\w+#.-]{1,40}", language)
            else f"{{{tag}}}"
        )
        return f"{opening}\n{text}\n{{{tag}}}"
    if kind == "blockquote":
        inner = "\n\n".join(_blocks_to_wiki(content, depth + 1))
        return f"{{quote}}\n{inner}\n{{quote}}"
    if kind == "rule":
        return "----"
    if kind in _INLINE_TYPES:
        return _escape_line_start(_inline_to_wiki([node]))
    if content and all(c.get("type") in _INLINE_TYPES for c in content):
        return _escape_line_start(_inline_to_wiki(content))
    if content:
        return "\n\n".join(_blocks_to_wiki(content, depth + 1))
    return _escape_wiki_text(_inline_text(node))


def adf_to_wiki(doc: Any) -> str:
    if not isinstance(doc, dict):
        return ""
    nodes = _content(doc) if doc.get("type") == "doc" else [doc]
    return "\n\n".join(_blocks_to_wiki(nodes, 0))


def html_to_wiki(source: Any) -> str:
    """HTML -> Jira wiki markup (REST v2)."""
    return adf_to_wiki(html_to_adf(source))


# --- wiki markup -> ADF ----------------------------------------------------------------------

_HEADING = re.compile(r"^h([1-6])\.\s+(.*)$")
_LIST_LINE = re.compile(r"^([*#]+|-)\s+(.*)$")
_CODE_OPEN = re.compile(r"^\{(code|noformat)(?::([^}]*))?\}(.*)$")


def _closer_ahead(text: str, start: int, char: str) -> bool:
    for position in range(start, len(text)):
        if text[position] == "\\":
            continue
        if (
            text[position] == char
            and position > start
            and not text[position - 1].isspace()
            and text[position - 1] != "\\"
            and (position + 1 >= len(text) or not text[position + 1].isalnum())
        ):
            return True
    return False


def _wiki_inline(text: str, base_marks: list[Adf] | None = None) -> list[Adf]:
    marks: list[Adf] = list(base_marks or [])
    out: list[Adf] = []
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            out.append(_text("".join(buffer), _sorted_marks(marks)))
            buffer.clear()

    def toggle(mark_type: str) -> None:
        flush()
        for position, mark in enumerate(marks):
            if mark["type"] == mark_type:
                del marks[position]
                return
        marks.append({"type": mark_type})

    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        previous = text[position - 1] if position else ""
        following = text[position + 1] if position + 1 < length else ""
        if text.startswith("&#92;", position):
            buffer.append("\\")
            position += 5
            continue
        if char == "\\":
            if following == "\\":
                flush()
                out.append({"type": "hardBreak"})
                position += 2
            elif following:
                buffer.append(following)
                position += 2
            else:
                buffer.append(char)
                position += 1
            continue
        if text.startswith("{{", position):
            end = text.find("}}", position + 2)
            if end > position + 2:
                flush()
                out.append(
                    _text(text[position + 2 : end], _sorted_marks([*marks, {"type": "code"}]))
                )
                position = end + 2
                continue
        if char == "{" and text[position + 1 : position + 3] in ("*}", "_}", "+}", "-}"):
            toggle(_WIKI_CHAR_MARK[following])
            position += 3
            continue
        if char == "[":
            end = text.find("]", position + 1)
            inner = text[position + 1 : end] if end > 0 else ""
            if inner and "[" not in inner:
                label, _, target = inner.rpartition("|")
                href = safe_href(target if label else inner)
                if href:
                    flush()
                    link_marks = [*marks, {"type": "link", "attrs": {"href": href}}]
                    if label:
                        out.extend(_wiki_inline(label, link_marks))
                    else:
                        out.append(_text(href, _sorted_marks(link_marks)))
                    position = end + 1
                    continue
        if char in _WIKI_CHAR_MARK:
            mark_type = _WIKI_CHAR_MARK[char]
            is_open = any(m["type"] == mark_type for m in marks)
            if is_open and previous and not previous.isspace() and not following.isalnum():
                toggle(mark_type)
                position += 1
                continue
            if (
                not is_open
                and not previous.isalnum()
                and following
                and not following.isspace()
                and _closer_ahead(text, position + 1, char)
            ):
                toggle(mark_type)
                position += 1
                continue
        buffer.append(char)
        position += 1
    flush()
    return _normalize_wiki_inline(out)


def _normalize_wiki_inline(nodes: list[Adf]) -> list[Adf]:
    out: list[Adf] = []
    for node in nodes:
        if node["type"] == "text":
            if not node["text"]:
                continue
            if out and out[-1]["type"] == "text" and out[-1].get("marks") == node.get("marks"):
                out[-1]["text"] += node["text"]
                continue
            if not node.get("marks"):
                node.pop("marks", None)
        out.append(node)
    return out


def _wiki_paragraph(lines: list[str]) -> Adf | None:
    content: list[Adf] = []
    for position, line in enumerate(lines):
        if position:
            content.append({"type": "hardBreak"})
        content.extend(_wiki_inline(line))
    content = _normalize_wiki_inline(content)
    if not content:
        return None
    return {"type": "paragraph", "content": content}


def _wiki_lists(lines: list[tuple[str, str]]) -> list[Adf]:
    """``[(markers, text)]`` -> nested bullet/ordered lists (``*#`` = ordered inside bullet)."""
    roots: list[Adf] = []
    stack: list[tuple[Adf, str]] = []  # (list node, its marker path such as "*#")
    for raw_markers, text in lines:
        markers = ("*" if raw_markers == "-" else raw_markers)[:MAX_DEPTH]
        while stack and (
            len(stack[-1][1]) > len(markers) or stack[-1][1] != markers[: len(stack[-1][1])]
        ):
            stack.pop()
        while len(stack[-1][1] if stack else "") < len(markers):
            depth = len(stack[-1][1]) if stack else 0
            kind = "bulletList" if markers[depth] == "*" else "orderedList"
            new_list: Adf = {"type": kind, "content": []}
            if stack:
                parent_items = stack[-1][0]["content"]
                if not parent_items:
                    parent_items.append(
                        {"type": "listItem", "content": [{"type": "paragraph", "content": []}]}
                    )
                parent_items[-1]["content"].append(new_list)
            else:
                roots.append(new_list)
            stack.append((new_list, markers[: depth + 1]))
        paragraph = _wiki_paragraph([text]) if text else None
        stack[-1][0]["content"].append(
            {"type": "listItem", "content": [paragraph or {"type": "paragraph", "content": []}]}
        )
    return roots


def wiki_to_adf(source: Any) -> Adf:
    """Jira wiki markup (the subset above) -> an ADF ``doc``. Never raises."""
    doc: Adf = {"type": "doc", "version": 1, "content": []}
    if not isinstance(source, str) or not source:
        return doc
    lines = source[:MAX_INPUT].replace("\r\n", "\n").replace("\r", "\n").split("\n")
    doc["content"] = _wiki_blocks(lines, 0)
    return doc


def _wiki_blocks(lines: list[str], depth: int) -> list[Adf]:
    blocks: list[Adf] = []
    paragraph: list[str] = []
    position = 0

    def flush() -> None:
        node = _wiki_paragraph(paragraph)
        if node:
            blocks.append(node)
        paragraph.clear()

    while position < len(lines):
        line = lines[position]
        stripped = line.strip()
        code = _CODE_OPEN.match(stripped)
        if code:
            flush()
            tag, language, rest = code.group(1), code.group(2), code.group(3)
            closing = "{" + tag + "}"
            body: list[str] = []
            if rest:
                if closing in rest:
                    body.append(rest[: rest.index(closing)])
                    position += 1
                    blocks.append(_code_block("\n".join(body), language))
                    continue
                body.append(rest)
            position += 1
            while position < len(lines) and closing not in lines[position]:
                body.append(lines[position])
                position += 1
            if position < len(lines):
                before = lines[position][: lines[position].index(closing)]
                if before:
                    body.append(before)
            position += 1
            blocks.append(_code_block("\n".join(body), language))
            continue
        if stripped.startswith("{quote}") and depth < MAX_DEPTH:
            flush()
            inner: list[str] = []
            rest = stripped[len("{quote}") :]
            if "{quote}" in rest:
                inner.append(rest[: rest.index("{quote}")])
                position += 1
            else:
                if rest:
                    inner.append(rest)
                position += 1
                while position < len(lines) and "{quote}" not in lines[position]:
                    inner.append(lines[position])
                    position += 1
                if position < len(lines):
                    before = lines[position][: lines[position].index("{quote}")]
                    if before:
                        inner.append(before)
                position += 1
            content = [
                b
                if b["type"] in ("paragraph", "bulletList", "orderedList", "codeBlock")
                else {"type": "paragraph", "content": [_text(_adf_plain(b), [])]}
                for b in _wiki_blocks(inner, depth + 1)
                if b["type"] != "rule"
            ]
            if content:
                blocks.append({"type": "blockquote", "content": content})
            continue
        if stripped.startswith("bq. "):
            flush()
            node = _wiki_paragraph([stripped[4:]])
            if node:
                blocks.append({"type": "blockquote", "content": [node]})
            position += 1
            continue
        heading = _HEADING.match(stripped)
        if heading:
            flush()
            content = _wiki_inline(heading.group(2))
            if content:
                blocks.append(
                    {
                        "type": "heading",
                        "attrs": {"level": int(heading.group(1))},
                        "content": content,
                    }
                )
            position += 1
            continue
        if stripped == "----":
            flush()
            blocks.append({"type": "rule"})
            position += 1
            continue
        if _LIST_LINE.match(stripped) or re.fullmatch(r"[*#]+", stripped):
            flush()
            items: list[tuple[str, str]] = []
            while position < len(lines):
                candidate = lines[position].strip()
                match = _LIST_LINE.match(candidate)
                if match:
                    items.append((match.group(1), match.group(2)))
                elif re.fullmatch(r"[*#]+", candidate):
                    items.append((candidate, ""))
                else:
                    break
                position += 1
            blocks.extend(_wiki_lists(items))
            continue
        if not stripped:
            flush()
        else:
            paragraph.append(stripped)
        position += 1
    flush()
    return blocks


def _code_block(text: str, language: str | None) -> Adf:
    node: Adf = {"type": "codeBlock", "content": [_text(text, [])] if text else []}
    if language and re.fullmatch(r"[\w+#.-]{1,40}", language):
        node["attrs"] = {"language": language}
    return node


def wiki_to_html(source: Any) -> str:
    """Jira wiki markup -> safe HTML."""
    return adf_to_html(wiki_to_adf(source))
