"""The API's JSON parser: DRF's, plus the limits every request body must keep.

Before any view runs, these are clear 400s: a body nested deeper than ``MAX_DEPTH`` (Python's
parser hits its recursion limit, and so would every recursive walk after it), a body that is
not a JSON object (``"AAA"``, ``[null]``, ``1``: every operation of this API takes an object),
and text no database stores (a NUL character, a lone UTF-16 surrogate).
"""

from __future__ import annotations

import re

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 64  # the deepest body this API takes (an exported mapping) is under ten levels
_KINDS = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def body_problem(data, *, max_depth: int = MAX_DEPTH) -> str:
    """What makes a parsed JSON body unusable, in words ("" when nothing does)."""
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "The JSON body holds a NUL character (\\u0000): remove it."
            if _SURROGATE.search(item):
                return (
                    "The JSON body holds a lone UTF-16 surrogate (\\ud800-\\udfff): fix the text."
                )
        elif isinstance(item, dict | list):
            if depth > max_depth:
                return f"The JSON body is nested deeper than {max_depth} levels."
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return ""


class JSONObjectParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"The JSON body is nested deeper than {MAX_DEPTH} levels.") from None
        if not isinstance(data, dict):
            raise ParseError(
                "The body must be a JSON object ({...} with the fields by name), not "
                f"{_KINDS.get(type(data), 'a number')}."
            )
        problem = body_problem(data)
        if problem:
            raise ParseError(problem)
        return data
