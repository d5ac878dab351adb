"""The subset of JQL the product uses.

Supported: ``field op value`` clauses joined with ``AND`` (case-insensitive),
operators ``= != in (..) not in (..) >= <= > <``, quoted or bare values, and
``ORDER BY field [ASC|DESC], ...``. Fields: project, key/issuekey, fixVersion,
parent, updated, created, status, issuetype/type, labels, assignee.

Dates accept Jira's absolute formats ("yyyy-MM-dd", "yyyy/MM/dd", optionally
followed by " HH:mm") and relative offsets ("-1d", "-30m", "-2w", "-4h").
Jira interprets them in the searching user's time zone; the emulator uses UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


class JqlError(ValueError):
    """Invalid or unsupported JQL; the API answers 400 with the message."""


FIELDS = {
    "project",
    "key",
    "issuekey",
    "id",
    "fixversion",
    "parent",
    "updated",
    "created",
    "status",
    "issuetype",
    "type",
    "labels",
    "assignee",
}
DATE_FIELDS = {"updated", "created"}
ORDERABLE = {"key", "issuekey", "created", "updated", "id"}


@dataclass
class Clause:
    field: str
    op: str
    values: list[str]


@dataclass
class Query:
    clauses: list[Clause] = field(default_factory=list)
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|>=|<=|=|>|<|~)
      | (?P<punct>[(),])
      | (?P<word>[^\s(),=!<>~"']+)
    )""",
    re.VERBOSE,
)


def _tokens(jql: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = jql.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {pos}.")
        pos = m.end()
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "str":
            value = value[1:-1].replace('\\"', '"').replace("\\'", "'")
        out.append((kind, value))
    return out


def parse(jql: str | None) -> Query:
    """Parse JQL into a :class:`Query`; empty JQL matches everything."""
    query = Query()
    toks = _tokens(jql or "")
    i = 0

    def peek_word(*words: str) -> bool:
        return i < len(toks) and toks[i][0] == "word" and toks[i][1].lower() in words

    while i < len(toks):
        if peek_word("order"):
            i += 1
            if not peek_word("by"):
                raise JqlError("Error in the JQL Query: expecting 'by' after 'order'.")
            i += 1
            while i < len(toks):
                name = toks[i][1].lower()
                if name not in ORDERABLE:
                    raise JqlError(f"Not able to sort using field '{toks[i][1]}'.")
                i += 1
                desc = False
                if peek_word("asc", "desc"):
                    desc = toks[i][1].lower() == "desc"
                    i += 1
                query.order_by.append((name, desc))
                if i < len(toks) and toks[i] == ("punct", ","):
                    i += 1
                    continue
                break
            if i != len(toks):
                raise JqlError("Error in the JQL Query: unexpected input after ORDER BY.")
            break
        if query.clauses:
            if not peek_word("and"):
                raise JqlError(
                    "Error in the JQL Query: only AND is supported by the emulator "
                    f"(found '{toks[i][1]}')."
                )
            i += 1
        if i >= len(toks) or toks[i][0] not in ("word", "str"):
            raise JqlError("Error in the JQL Query: expecting a field name.")
        fname = toks[i][1].lower()
        if fname not in FIELDS:
            raise JqlError(
                f"Field '{toks[i][1]}' does not exist or you do not have permission to view it."
            )
        i += 1
        if peek_word("not") and i + 1 < len(toks) and toks[i + 1][1].lower() == "in":
            op = "not in"
            i += 2
        elif peek_word("in"):
            op = "in"
            i += 1
        elif i < len(toks) and toks[i][0] == "op" and toks[i][1] != "~":
            op = toks[i][1]
            i += 1
        else:
            raise JqlError(f"Error in the JQL Query: expecting an operator after '{fname}'.")
        values: list[str] = []
        if op in ("in", "not in"):
            if i >= len(toks) or toks[i] != ("punct", "("):
                raise JqlError("Error in the JQL Query: expecting '(' after IN.")
            i += 1
            while i < len(toks) and toks[i] != ("punct", ")"):
                if toks[i] != ("punct", ","):
                    values.append(toks[i][1])
                i += 1
            if i >= len(toks):
                raise JqlError("Error in the JQL Query: expecting ')'.")
            i += 1
        else:
            if i >= len(toks) or toks[i][0] not in ("word", "str"):
                raise JqlError(f"Error in the JQL Query: expecting a value for '{fname}'.")
            values.append(toks[i][1])
            i += 1
        if op in (">", "<", ">=", "<=") and fname not in DATE_FIELDS:
            raise JqlError(f"The operator '{op}' is not supported by the '{fname}' field.")
        query.clauses.append(Clause(fname, op, values))
    return query


_REL = re.compile(r"^([-+]?)(\d+)([mhdw])$", re.IGNORECASE)


def parse_date(value: str, now: datetime | None = None) -> datetime:
    """Jira JQL date value -> aware UTC datetime."""
    now = now or datetime.now(UTC)
    value = value.strip()
    if m := _REL.match(value):
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(3).lower()]
        delta = timedelta(**{unit: int(m.group(2))})
        return now - delta if m.group(1) == "-" else now + delta
    for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{value}' for field is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format "
        "e.g. '-5d', '4w 2d'."
    )


# A resolver answers, for one issue, the values of a field: strings (compared
# case-insensitively) or, for date fields, a datetime.
Resolver = Callable[[str], "list[str] | datetime | None"]


def matches(query: Query, resolve: Resolver) -> bool:
    for clause in query.clauses:
        actual = resolve(clause.field)
        if clause.field in DATE_FIELDS:
            if not isinstance(actual, datetime):
                return False
            target = parse_date(clause.values[0])
            ok = {
                "=": actual == target,
                "!=": actual != target,
                ">": actual > target,
                "<": actual < target,
                ">=": actual >= target,
                "<=": actual <= target,
            }.get(clause.op)
            if not ok:
                return False
            continue
        have = {v.lower() for v in (actual or []) if isinstance(v, str)}
        wanted = {v.lower() for v in clause.values}
        empty = wanted & {"empty", "null"}
        hit = bool(have & wanted) or (bool(empty) and not have)
        if clause.op in ("=", "in") and not hit:
            return False
        if clause.op in ("!=", "not in") and hit:
            return False
    return True
