"""Check HTTP exchanges against Jira's published OpenAPI spec (the v3 subset).

Used by the emulator's contract tests and meant for the Jira client's tests:
every request the client sends should be an operation of the spec with a
valid body, and every emulator answer should match the spec's schemas.

    from jira_emulator.contract import validate_exchange
    validate_exchange("POST", url, request_body, 201, response_body)  # raises ContractError

Notes:

* ``/rest/api/2/...`` is checked as ``/rest/api/3/...`` (same operations;
  the rich-text fields are free-form in the spec's schemas).
* Security is not what is checked here: a dummy basic ``Authorization``
  header is supplied, so PAT/Bearer exchanges validate too.
* A few operations the product uses are missing from the subset spec (bulk
  create, transitions, admin webhook registration, user search); see ``OUTSIDE_SPEC``.
  They raise unless ``allow_outside_spec=True``.
* The spec ships in ``jira_emulator/spec/``; ``$JIRA_OPENAPI_SPEC`` points elsewhere.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

# Shipped inside the package (copied from Atlassian's published spec; see spec/README.md).
SPEC_PATH = Path(__file__).resolve().parent / "spec" / "jira-platform-rest-v3.subset.openapi.json"
SPEC_HOST = "https://your-domain.atlassian.net"
_DUMMY_AUTH = "Basic Y29udHJhY3Q6Y2hlY2s="  # "contract:check"

# Operations the product uses that the subset spec does not contain (checked by
# the emulator's tests: they are absent from spec["paths"]).
OUTSIDE_SPEC: set[tuple[str, str]] = {
    ("POST", "/rest/api/3/issue/bulk"),
    ("GET", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("POST", "/rest/api/3/issue/{issueIdOrKey}/transitions"),
    ("POST", "/rest/webhooks/1.0/webhook"),
    ("GET", "/rest/webhooks/1.0/webhook"),
    ("GET", "/rest/webhooks/1.0/webhook/{id}"),
    ("DELETE", "/rest/webhooks/1.0/webhook/{id}"),
    # User search, to send assignees (matched by email when Jira shows it, else by display
    # name). Cloud's ``?query=``; Data Center's ``?username=`` answers with ``name``.
    ("GET", "/rest/api/3/user/search"),
}


class ContractError(AssertionError):
    """The exchange is not an operation of the spec, or a body breaks its schema."""


def spec_path() -> Path:
    return Path(os.environ.get("JIRA_OPENAPI_SPEC") or SPEC_PATH).resolve()


@lru_cache(maxsize=2)
def _load(path: str) -> tuple[OpenAPI, dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    # Atlassian's published spec does not pass the OpenAPI 3.0 meta-schema
    # (e.g. a top-level ``"security": null``, ``""`` where an enum is
    # expected), so the spec itself is not validated: only exchanges are.
    if raw.get("security", ()) is None:
        del raw["security"]
    return OpenAPI.from_dict(raw, config=Config(spec_validator_cls=None)), raw


def load_spec() -> tuple[OpenAPI, dict[str, Any]]:
    """(openapi-core object, raw spec dict); cached."""
    return _load(str(spec_path()))


def _spec_path_of(url: str) -> str:
    path = urlsplit(url).path
    return re.sub(r"^/rest/api/2/", "/rest/api/3/", path)


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{pattern}$")


def find_operation(method: str, url: str) -> str | None:
    """The spec's path template for ``method url`` (v2 mapped to v3), or ``None``.

    Literal paths win over templated ones (``/issue/createmeta`` vs
    ``/issue/{issueIdOrKey}``), as OpenAPI requires.
    """
    _, raw = load_spec()
    path = _spec_path_of(url)
    method = method.lower()
    candidates = [
        t for t, ops in raw["paths"].items() if method in ops and _template_regex(t).match(path)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda t: (t.count("{"), -len(t)))


def outside_spec_operation(method: str, url: str) -> str | None:
    path = _spec_path_of(url)
    for m, template in OUTSIDE_SPEC:
        if m == method.upper() and _template_regex(template).match(path):
            return template
    return None


def _bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _request(method: str, url: str, body: Any) -> MockRequest:
    parts = urlsplit(url)
    args = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(parts.query).items()}
    return MockRequest(
        SPEC_HOST,
        method.lower(),
        _spec_path_of(url),
        args=args,
        headers={"Authorization": _DUMMY_AUTH},
        data=_bytes(body),
        content_type="application/json",
    )


def check_request(method: str, url: str, body: Any = None) -> list[str]:
    """Problems with a request (empty list = valid operation with a valid body)."""
    if find_operation(method, url) is None:
        return [f"{method.upper()} {_spec_path_of(url)} is not an operation of the spec"]
    openapi, _ = load_spec()
    return [_describe(e) for e in openapi.iter_request_errors(_request(method, url, body))]


def check_response(
    method: str,
    url: str,
    status: int,
    body: Any,
    request_body: Any = None,
    content_type: str = "application/json",
) -> list[str]:
    """Problems with a response to ``method url`` (empty list = valid)."""
    if find_operation(method, url) is None:
        return [f"{method.upper()} {_spec_path_of(url)} is not an operation of the spec"]
    openapi, _ = load_spec()
    data = _bytes(body)
    response = MockResponse(
        data, status_code=status, content_type=content_type if data else "application/json"
    )
    if not data:
        # Empty bodies (204s, issueLink's 201) carry no media type to check.
        response = MockResponse(b"", status_code=status, content_type="")
    errors = list(openapi.iter_response_errors(_request(method, url, request_body), response))
    if not data and _accepts_empty(method, url, status):
        # Jira answers some operations with no body although the spec lists
        # an ``application/json`` schema of ``{}`` (anything): PUT /issue 204,
        # POST /issueLink 201 (the README: "201 with an empty body"),
        # removeAndSwap 204. An empty body is what Jira sends; accept it.
        errors = [e for e in errors if type(e).__name__ != "MissingData"]
    return [_describe(e) for e in errors]


def _accepts_empty(method: str, url: str, status: int) -> bool:
    template = find_operation(method, url)
    if template is None:
        return False
    _, raw = load_spec()
    responses = raw["paths"][template][method.lower()].get("responses", {})
    content = (responses.get(str(status)) or {}).get("content") or {}
    return all(not (media.get("schema") or {}) for media in content.values())


def check_exchange(
    method: str,
    url: str,
    request_body: Any,
    status: int,
    response_body: Any,
    allow_outside_spec: bool = False,
) -> list[str]:
    """Problems with both sides of one exchange; see :func:`validate_exchange`."""
    if find_operation(method, url) is None:
        if allow_outside_spec and outside_spec_operation(method, url):
            return []
        return [f"{method.upper()} {_spec_path_of(url)} is not an operation of the spec"]
    problems = [f"request: {p}" for p in check_request(method, url, request_body)]
    problems += [
        f"response {status}: {p}"
        for p in check_response(method, url, status, response_body, request_body)
    ]
    return problems


def validate_exchange(
    method: str,
    url: str,
    request_body: Any,
    status: int,
    response_body: Any,
    allow_outside_spec: bool = False,
) -> None:
    """Raise :class:`ContractError` unless ``method url`` is an operation of the
    spec, the request body is valid for it, and ``status``/``response_body``
    match one of its documented responses.

    Bodies may be parsed JSON (dict/list), raw ``bytes``/``str``, or ``None``.
    ``allow_outside_spec`` accepts the known operations in ``OUTSIDE_SPEC``
    without checking them.
    """
    problems = check_exchange(method, url, request_body, status, response_body, allow_outside_spec)
    if problems:
        raise ContractError(f"{method.upper()} {url}:\n  " + "\n  ".join(problems))


def validate_requests_response(response: Any, allow_outside_spec: bool = False) -> None:
    """Convenience for a ``requests.Response``: checks its request and itself."""
    req = response.request
    body = req.body
    request_body = json.loads(body) if body else None
    validate_exchange(
        req.method,
        req.url,
        request_body,
        response.status_code,
        response.content,
        allow_outside_spec,
    )


def _describe(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    for sub in getattr(exc, "schema_errors", None) or []:
        path = "/".join(str(p) for p in getattr(sub, "absolute_path", []))
        parts.append(f"    at {path or '<root>'}: {getattr(sub, 'message', sub)}")
    cause = exc.__cause__
    if cause is not None and cause is not exc:
        parts.append("    caused by " + _describe(cause))
    return "\n".join(parts)
