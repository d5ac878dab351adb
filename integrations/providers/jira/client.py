"""The one Jira REST client. Every Jira HTTP call in the project goes through ``JiraClient``.

- Built from plain values (site URL, auth object, API version, timeouts), so services,
  tasks and tests construct it the same way.
- One ``requests.Session`` per client with a pooled adapter; timeouts are always set and
  auth is added in one place (the ``requests`` auth objects below).
- Failures become typed errors (``errors.py``); ``transient`` tells workers what to retry.
- Rate limits: a 429 (never processed by Jira) is retried in-call when Jira asks for a short
  wait; a long wait raises ``JiraRateLimited`` with ``retry_after`` for a task to honour.
  Server errors, dropped connections and timeouts are retried in-call only for idempotent
  methods: a POST whose answer was lost may already have created the issue.
- Internal addresses are out of reach (SSRF): every new connection, redirects included, checks
  the address the host name resolves to *then* (DNS rebinding) against ``AddressPolicy``:
  link-local and cloud-metadata addresses never, loopback and private ranges only when
  ``JIRA_ALLOWED_NETWORKS`` allows them, the sandbox URL always.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import random
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError

from . import richtext
from .errors import (
    JiraAuthError,
    JiraBadResponse,
    JiraConfigError,
    JiraConflict,
    JiraError,
    JiraNotFound,
    JiraPermissionError,
    JiraRateLimited,
    JiraUnavailable,
    JiraValidationError,
    parse_error_body,
)

logger = logging.getLogger(__name__)

USER_AGENT = "RoadmapJiraSync/0.1 (+roadmap-jira-sync; python-requests)"
BULK_CREATE_LIMIT = 50  # Jira's documented maximum per POST /issue/bulk
DEFAULT_PAGE_SIZE = 50
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

# URL templates, relative to the site URL. ``{v}`` is the REST API version (2 or 3).
MYSELF = "/rest/api/{v}/myself"
SERVER_INFO = "/rest/api/{v}/serverInfo"
PROJECT = "/rest/api/{v}/project/{project}"
PROJECT_SEARCH = "/rest/api/{v}/project/search"
PROJECT_STATUSES = "/rest/api/{v}/project/{project}/statuses"
PROJECT_VERSIONS = "/rest/api/{v}/project/{project}/version"
ISSUE_TYPES_FOR_PROJECT = "/rest/api/{v}/issuetype/project"
CREATEMETA_ISSUE_TYPES = "/rest/api/{v}/issue/createmeta/{project}/issuetypes"
CREATEMETA_FIELDS = "/rest/api/{v}/issue/createmeta/{project}/issuetypes/{issue_type_id}"
FIELDS = "/rest/api/{v}/field"
ISSUE_LINK_TYPES = "/rest/api/{v}/issueLinkType"
VERSION_CREATE = "/rest/api/{v}/version"
VERSION = "/rest/api/{v}/version/{version_id}"
VERSION_REMOVE_AND_SWAP = "/rest/api/{v}/version/{version_id}/removeAndSwap"
ISSUE_CREATE = "/rest/api/{v}/issue"
ISSUE_BULK_CREATE = "/rest/api/{v}/issue/bulk"
ISSUE = "/rest/api/{v}/issue/{issue}"
ISSUE_TRANSITIONS = "/rest/api/{v}/issue/{issue}/transitions"
ISSUE_LINK_CREATE = "/rest/api/{v}/issueLink"
ISSUE_LINK = "/rest/api/{v}/issueLink/{link_id}"
SEARCH_JQL = "/rest/api/{v}/search/jql"
USER_SEARCH = "/rest/api/{v}/user/search"  # not in the subset spec (contract.OUTSIDE_SPEC)
WEBHOOKS = "/rest/api/{v}/webhook"  # Connect / OAuth 2.0 apps only: 403 for users
ADMIN_WEBHOOKS = "/rest/webhooks/1.0/webhook"  # what a Jira admin's credentials can register
ADMIN_WEBHOOK = "/rest/webhooks/1.0/webhook/{webhook_id}"


# --- Auth --------------------------------------------------------------------------------------


class JiraCloudAuth(requests.auth.HTTPBasicAuth):
    """Jira Cloud: HTTP basic with the account email and an API token."""

    kind = "cloud"

    def __init__(self, email: str, api_token: str) -> None:
        super().__init__(email, api_token)

    def __repr__(self) -> str:
        return f"JiraCloudAuth(email={self.username!r}, api_token=<hidden>)"


class JiraBearerAuth(requests.auth.AuthBase):
    """Jira Data Center / Server: ``Authorization: Bearer <personal access token>``."""

    kind = "bearer"

    def __init__(self, pat: str) -> None:
        self._pat = pat

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._pat}"
        return request

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JiraBearerAuth) and other._pat == self._pat

    def __hash__(self) -> int:
        return hash(("bearer", self._pat))

    def __repr__(self) -> str:
        return "JiraBearerAuth(pat=<hidden>)"


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkItemError:
    """Why one element of a bulk create failed. ``index`` is its position in the input list."""

    index: int
    status: int | None
    messages: list[str]
    field_errors: dict[str, str]
    transient: bool = False


@dataclass
class BulkCreateResult:
    """``created`` maps input index -> ``{"id", "key", "self"}``; ``errors`` input index -> error.

    Every input index is in exactly one of the two.
    """

    created: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: dict[int, BulkItemError] = field(default_factory=dict)


def _default_timeout() -> tuple[float, float]:
    try:
        from django.conf import settings

        return (float(settings.JIRA_HTTP_CONNECT_TIMEOUT), float(settings.JIRA_HTTP_TIMEOUT))
    except Exception:  # settings not configured (client used outside Django)
        return (5.0, 20.0)


def parse_retry_after(headers: Any, *, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``X-RateLimit-Reset``
    (an ISO 8601 timestamp, or epoch seconds). None when absent or unreadable."""
    now = time.time() if now is None else now
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
                if when is not None:
                    return max(0.0, when.timestamp() - now)
            except (TypeError, ValueError, IndexError):
                pass
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        reset = reset.strip()
        try:
            number = float(reset)
            # Epoch seconds are big numbers; small ones are a delay.
            return max(0.0, number - now) if number > 1e9 else max(0.0, number)
        except ValueError:
            pass
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, when.timestamp() - now)
        except ValueError:
            pass
    return None


def _seg(value: Any) -> str:
    """One URL path segment: keys and ids never get to add '/' or '?' to a path."""
    text = str(value)
    if not text:
        raise ValueError("an empty identifier cannot be used in a Jira URL")
    return quote(text, safe="")


# --- Which addresses a Jira site may be (SSRF) ----------------------------------------------

# Never, whatever the settings: link-local (cloud metadata lives at 169.254.169.254), the
# metadata services' other addresses, "this network", multicast and reserved space.
ALWAYS_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "169.254.0.0/16",
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "fe80::/10",
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "ff00::/8",
    )
)
ALWAYS_REFUSED_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
# Loopback, private and carrier-grade NAT space: refused unless JIRA_ALLOWED_NETWORKS allows.
_SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")


class AddressRefused(Exception):
    """The Jira site's host is, or resolves to, an address this installation refuses. Not an
    OSError: it must reach ``JiraClient._request`` untouched, never be retried."""


Resolver = Callable[..., list]


def _address_class(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """ "metadata" (never allowed), "private" (allowed by setting) or "" (public)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in ALWAYS_REFUSED_NETWORKS if net.version == ip.version):
        return "metadata"
    if ip.is_loopback or ip.is_private or (ip.version == 4 and ip in _SHARED_NETWORK):
        return "private"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved or ip.is_link_local:
        return "metadata"
    return ""


@dataclass(frozen=True)
class AddressPolicy:
    """Where a Jira client may connect. ``allowed_networks`` opens loopback or private ranges
    (Data Center sites on a company network); ``always_allowed`` holds (host, port) pairs that
    are trusted whatever they resolve to (the sandbox); ``resolver`` is
    ``socket.getaddrinfo``'s signature, for tests."""

    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    always_allowed: frozenset[tuple[str, int]] = frozenset()
    resolver: Resolver = socket.getaddrinfo

    @classmethod
    def from_settings(cls, **overrides: Any) -> AddressPolicy:
        networks: tuple = ()
        always: set[tuple[str, int]] = set()
        try:
            from django.conf import settings
            from django.core.exceptions import ImproperlyConfigured

            networks = tuple(
                ipaddress.ip_network(n, strict=False)
                for n in getattr(settings, "JIRA_ALLOWED_NETWORKS", ())
            )
            sandbox = urlsplit(getattr(settings, "JIRA_SANDBOX_URL", "") or "")
            if sandbox.hostname:
                default_port = 443 if sandbox.scheme == "https" else 80
                always.add((sandbox.hostname.lower(), sandbox.port or default_port))
        except ImproperlyConfigured:  # settings not configured (used outside Django): strict
            networks, always = (), set()
        values = {"allowed_networks": networks, "always_allowed": frozenset(always)}
        values.update(overrides)
        return cls(**values)

    def host_refusal(self, host: str, port: int) -> str:
        """Why this host may never be connected to, from its name alone ("" if it may be
        tried): metadata names, and literal addresses that are refused."""
        name = host.strip("[]").rstrip(".").lower()
        if (name, port) in self.always_allowed:
            return ""
        if name in ALWAYS_REFUSED_HOSTS:
            return f"{host} is a cloud metadata service, never a Jira site."
        try:
            ip = ipaddress.ip_address(name)
        except ValueError:
            return ""
        return self._ip_refusal(host, ip)

    def _ip_refusal(self, host: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
        kind = _address_class(ip)
        if kind == "metadata":
            return (
                f"{host} is (or resolves to) a link-local, metadata or reserved address, "
                "never a Jira site."
            )
        if kind == "private" and not any(
            ip in net for net in self.allowed_networks if net.version == ip.version
        ):
            return (
                f"{host} is (or resolves to) a loopback or private address, which this "
                "installation does not allow: an administrator of the installation can allow "
                "the network with APP_JIRA_ALLOWED_NETWORKS."
            )
        return ""

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to, resolved now; raises AddressRefused when the name or
        any address it resolves to is refused (a name half public, half internal is
        refused)."""
        refusal = self.host_refusal(host, port)
        if refusal:
            raise AddressRefused(refusal)
        infos = self.resolver(host, port, 0, socket.SOCK_STREAM)
        found: list[str] = []
        trusted = (host.strip("[]").rstrip(".").lower(), port) in self.always_allowed
        for info in infos:
            address = str(info[4][0]).split("%", 1)[0]
            if not trusted:
                refusal = self._ip_refusal(host, ipaddress.ip_address(address))
                if refusal:
                    raise AddressRefused(refusal)
            if address not in found:
                found.append(address)
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} did not resolve")
        return found


class _GuardedConnectionMixin:
    """Resolves the host itself at every new connection, checks each address, and connects to
    the checked address (so a second, rebinding lookup never happens)."""

    address_policy: AddressPolicy

    def _new_conn(self):
        host = self._dns_host
        try:
            addresses = self.address_policy.addresses(host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        last_error: Exception | None = None
        for address in addresses:
            self._dns_host = address
            try:
                return super()._new_conn()
            except NewConnectionError as exc:
                last_error = exc
            finally:
                self._dns_host = host
        raise last_error  # type: ignore[misc]


class GuardedAdapter(HTTPAdapter):
    """The transport of every Jira client: connection pools whose connections go through
    ``AddressPolicy`` (redirects too: each hop is a connection of this adapter)."""

    def __init__(self, address_policy: AddressPolicy, **kwargs: Any) -> None:
        self.address_policy = address_policy
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        policy = self.address_policy
        http = type("GuardedHTTPConnection", (_GuardedConnectionMixin, HTTPConnection), {})
        https = type("GuardedHTTPSConnection", (_GuardedConnectionMixin, HTTPSConnection), {})
        http.address_policy = https.address_policy = policy
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }


class JiraClient:
    """A Jira site, as one user sees it through REST API v2 or v3."""

    def __init__(
        self,
        base_url: str,
        auth: JiraCloudAuth | JiraBearerAuth | None,
        *,
        api_version: int = 3,
        timeout: tuple[float, float] | None = None,
        max_retries: int = 3,
        max_retry_sleep: float = 10.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        address_policy: AddressPolicy | None = None,
    ) -> None:
        self.address_policy = address_policy or AddressPolicy.from_settings()
        self.base_url = self.normalize_base_url(base_url)
        parts = urlsplit(self.base_url)
        refusal = self.address_policy.host_refusal(
            parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        )
        if refusal:
            raise JiraConfigError(refusal)
        if api_version not in (2, 3):
            raise ValueError("api_version must be 2 or 3")
        self.api_version = api_version
        self.timeout = timeout or _default_timeout()
        self.max_retries = max(0, int(max_retries))
        self.max_retry_sleep = float(max_retry_sleep)
        self._sleep = sleep
        self.session = session or requests.Session()
        if session is None:
            adapter = GuardedAdapter(
                self.address_policy, pool_connections=4, pool_maxsize=16, max_retries=0
            )
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)
        # Auth is attached to the session: the one place credentials are added.
        self.session.auth = auth
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        # Jira Cloud answers XSRF failures on some writes without this header.
        self.session.headers["X-Atlassian-Token"] = "no-check"

    def __repr__(self) -> str:
        return f"JiraClient(base_url={self.base_url!r}, api_version={self.api_version})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def normalize_base_url(base_url: str) -> str:
        text = (base_url or "").strip()
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise JiraConfigError(
                f"“{text[:200]}” is not a web address: enter the Jira site like "
                "https://your-team.atlassian.net."
            )
        if parts.username or parts.password:
            raise JiraConfigError(
                "Put the credentials in the email and token fields, not in the site address."
            )
        if parts.query or parts.fragment:
            raise JiraConfigError(
                "The Jira site address should not contain '?' or '#': "
                "enter it like https://your-team.atlassian.net."
            )
        return text.rstrip("/")

    # --- rich text ---------------------------------------------------------------------------

    def rich_text_from_html(self, html: str) -> Any:
        """HTML -> what this API version carries: an ADF document (v3) or wiki markup (v2)."""
        if self.api_version == 3:
            return richtext.html_to_adf(html)
        return richtext.html_to_wiki(html)

    def rich_text_to_html(self, value: Any) -> str:
        """Jira's rich text (ADF dict, or wiki string) -> safe HTML."""
        if isinstance(value, dict):
            return richtext.adf_to_html(value)
        if isinstance(value, str):
            return richtext.wiki_to_html(value)
        return ""

    # --- transport ---------------------------------------------------------------------------

    def _url(self, template: str, **params: Any) -> str:
        return self.base_url + template.format(
            v=self.api_version, **{k: _seg(v) for k, v in params.items()}
        )

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        operation: str = "",
        allow_empty: bool = False,
    ) -> Any:
        """Send one call, retrying what is safe to retry, and return the decoded JSON."""
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, url, params=params, json=json, timeout=self.timeout
                )
            except requests.exceptions.ConnectTimeout as exc:
                # No connection was made, so nothing was sent: safe to retry for any method.
                error = self._unreachable(exc, operation, timed_out=True)
                if attempt < self.max_retries:
                    attempt += 1
                    self._backoff(attempt, None, operation, error)
                    continue
                raise error from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                error = self._unreachable(
                    exc, operation, timed_out=isinstance(exc, requests.exceptions.Timeout)
                )
                if idempotent and attempt < self.max_retries:
                    attempt += 1
                    self._backoff(attempt, None, operation, error)
                    continue
                raise error from exc
            except AddressRefused as exc:
                # Said the same way whatever answers there (or nothing): no port scanning.
                raise JiraConfigError(str(exc), operation=operation) from None
            except requests.exceptions.RequestException as exc:
                raise JiraUnavailable(
                    f"Jira could not be reached at {self.base_url}.", operation=operation
                ) from exc

            elapsed_ms = int((time.monotonic() - started) * 1000)
            logger.debug(
                "jira %s %s -> %s in %sms",
                method,
                urlsplit(url).path,
                response.status_code,
                elapsed_ms,
            )
            status = response.status_code
            if 200 <= status < 300:
                return self._decode(response, operation, allow_empty=allow_empty)

            error = self._error_for(response, operation)
            retryable = status == 429 or (idempotent and status in (500, 502, 503, 504))
            if retryable and attempt < self.max_retries:
                wait = error.retry_after
                if wait is None or wait <= self.max_retry_sleep:
                    attempt += 1
                    self._backoff(attempt, wait, operation, error)
                    continue
            raise error

    def _backoff(
        self, attempt: int, retry_after: float | None, operation: str, error: JiraError
    ) -> None:
        if retry_after is None:
            # Exponential backoff with jitter, within the cap.
            retry_after = min(self.max_retry_sleep, 0.25 * (2 ** (attempt - 1)))
            retry_after *= 0.5 + random.random() / 2
        logger.warning(
            "jira %s: %s; retry %s/%s in %.2fs",
            operation or "call",
            type(error).__name__,
            attempt,
            self.max_retries,
            retry_after,
        )
        if retry_after > 0:
            self._sleep(retry_after)

    def _unreachable(self, exc: Exception, operation: str, *, timed_out: bool) -> JiraUnavailable:
        if timed_out:
            message = f"Jira could not be reached at {self.base_url}: it did not answer in time."
        else:
            message = f"Jira could not be reached at {self.base_url}."
        return JiraUnavailable(message, operation=operation, messages=[type(exc).__name__])

    def _decode(self, response: requests.Response, operation: str, *, allow_empty: bool) -> Any:
        if not response.content or not response.content.strip():
            if allow_empty:
                return None
            raise JiraBadResponse(
                f"Jira sent an empty answer to {operation or 'a call'}.",
                status=response.status_code,
                operation=operation,
            )
        try:
            return response.json()
        except ValueError:
            if allow_empty:
                return None
            raise JiraBadResponse(
                f"The answer from {self.base_url} is not Jira's (it is not JSON): check that "
                "the address is your Jira site.",
                status=response.status_code,
                operation=operation,
            ) from None

    def _error_for(self, response: requests.Response, operation: str) -> JiraError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        messages, field_errors = parse_error_body(body)
        retry_after = parse_retry_after(response.headers)
        kwargs: dict[str, Any] = {
            "status": status,
            "messages": messages,
            "field_errors": field_errors,
            "operation": operation,
        }
        error = self._error_class_for(status, messages, retry_after, kwargs)
        # Kept for callers that read Jira's per-element answer (bulk create); not in repr.
        error.body = body
        return error

    def _error_class_for(
        self, status: int, messages: list[str], retry_after: float | None, kwargs: dict
    ) -> JiraError:
        if status == 401:
            return JiraAuthError(**kwargs)
        if status == 403:
            return JiraPermissionError(**kwargs)
        if status == 404:
            return JiraNotFound(**kwargs)
        if status == 400:
            return JiraValidationError(
                "Jira refused the values sent: " + "; ".join(messages) if messages else None,
                **kwargs,
            )
        if status == 409:
            return JiraConflict(**kwargs)
        if status == 429:
            return JiraRateLimited(retry_after=retry_after, **kwargs)
        if status >= 500:
            return JiraUnavailable(
                f"Jira at {self.base_url} had a problem (HTTP {status}): "
                "the call will be retried later.",
                retry_after=retry_after,
                **kwargs,
            )
        return JiraError(f"Jira refused the call (HTTP {status}).", **kwargs)

    # --- shape checks: Jira's answers are input too ------------------------------------------

    @staticmethod
    def _dict(data: Any, operation: str, *required: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise JiraBadResponse(
                f"Jira's answer to {operation} is not an object.", operation=operation
            )
        missing = [key for key in required if key not in data]
        if missing:
            raise JiraBadResponse(
                f"Jira's answer to {operation} lacks {', '.join(missing)}.", operation=operation
            )
        return data

    @staticmethod
    def _list(data: Any, operation: str) -> list[Any]:
        if not isinstance(data, list):
            raise JiraBadResponse(
                f"Jira's answer to {operation} is not a list.", operation=operation
            )
        return data

    # --- pagination --------------------------------------------------------------------------

    def _iter_offset(
        self,
        url: str,
        *,
        operation: str,
        params: dict[str, Any] | None = None,
        values_key: str = "values",
        page_size: int = DEFAULT_PAGE_SIZE,
        max_pages: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        """Pages of ``startAt / maxResults / isLast / total / <values_key>``."""
        start = 0
        for _ in range(max_pages):
            query = dict(params or {}, startAt=start, maxResults=page_size)
            page = self._dict(
                self._request("GET", url, params=query, operation=operation), operation
            )
            values = page.get(values_key)
            if values is None and values_key == "fields":
                values = page.get("results")  # older createmeta answers
            values = self._list(values if values is not None else [], operation)
            yield from values
            start += len(values)
            if not values or page.get("isLast") is True:
                return
            total = page.get("total")
            if isinstance(total, int) and start >= total:
                return
            if "isLast" not in page and not isinstance(total, int) and len(values) < page_size:
                return
        logger.warning("jira %s: stopped after %s pages", operation, max_pages)

    # --- operations: site and user -----------------------------------------------------------

    def search_users(self, query: str, *, max_results: int = 20) -> list[dict[str, Any]]:
        """Users matching ``query`` (an email or a name): Cloud's ``?query=``, Data Center's
        ``?username=`` (its users carry ``name``). Jira Cloud leaves ``emailAddress`` out
        unless the user lets it be seen, so see ``find_user`` for matching."""
        param = "username" if isinstance(self.session.auth, JiraBearerAuth) else "query"
        data = self._request(
            "GET",
            self._url(USER_SEARCH),
            params={param: query, "maxResults": max_results},
            operation="search_users",
        )
        return [u for u in self._list(data, "search_users") if isinstance(u, dict)]

    def find_user(self, query: str) -> dict[str, Any] | None:
        """The one active user ``query`` names: by ``emailAddress`` when the query is an email
        (a user whose email Jira hides cannot be confirmed this way: look them up by display
        name), else by exact display name. None when no user, or more than one, matches."""
        query = (query or "").strip()
        if not query:
            return None
        wanted = query.casefold()
        by_email = "@" in query
        matches = [
            u
            for u in self.search_users(query)
            if u.get("active", True) is not False
            and str(u.get("emailAddress" if by_email else "displayName") or "").strip().casefold()
            == wanted
        ]
        return matches[0] if len(matches) == 1 else None

    def myself(self) -> dict[str, Any]:
        return self._dict(self._request("GET", self._url(MYSELF), operation="myself"), "myself")

    def server_info(self) -> dict[str, Any]:
        data = self._request("GET", self._url(SERVER_INFO), operation="server_info")
        return self._dict(data, "server_info")

    # --- projects and their configuration ----------------------------------------------------

    def get_project(self, project: str) -> dict[str, Any]:
        data = self._request("GET", self._url(PROJECT, project=project), operation="get_project")
        return self._dict(data, "get_project", "id", "key")

    def search_projects(self, query: str | None = None) -> Iterator[dict[str, Any]]:
        params = {"query": query} if query else None
        return self._iter_offset(
            self._url(PROJECT_SEARCH), params=params, operation="search_projects"
        )

    def get_project_issue_types(self, project_id: str | int) -> list[dict[str, Any]]:
        data = self._request(
            "GET",
            self._url(ISSUE_TYPES_FOR_PROJECT),
            params={"projectId": project_id},
            operation="get_project_issue_types",
        )
        return self._list(data, "get_project_issue_types")

    def get_create_meta_issue_types(self, project: str) -> list[dict[str, Any]]:
        return list(
            self._iter_offset(
                self._url(CREATEMETA_ISSUE_TYPES, project=project),
                values_key="issueTypes",
                operation="get_create_meta_issue_types",
            )
        )

    def get_create_meta_fields(self, project: str, issue_type_id: str) -> list[dict[str, Any]]:
        return list(
            self._iter_offset(
                self._url(CREATEMETA_FIELDS, project=project, issue_type_id=issue_type_id),
                values_key="fields",
                operation="get_create_meta_fields",
            )
        )

    def get_fields(self) -> list[dict[str, Any]]:
        return self._list(
            self._request("GET", self._url(FIELDS), operation="get_fields"), "get_fields"
        )

    def get_project_statuses(self, project: str) -> list[dict[str, Any]]:
        data = self._request(
            "GET", self._url(PROJECT_STATUSES, project=project), operation="get_project_statuses"
        )
        return self._list(data, "get_project_statuses")

    def get_issue_link_types(self) -> list[dict[str, Any]]:
        data = self._dict(
            self._request("GET", self._url(ISSUE_LINK_TYPES), operation="get_issue_link_types"),
            "get_issue_link_types",
        )
        return self._list(data.get("issueLinkTypes", []), "get_issue_link_types")

    # --- versions ----------------------------------------------------------------------------

    def get_project_versions(self, project: str) -> list[dict[str, Any]]:
        return list(
            self._iter_offset(
                self._url(PROJECT_VERSIONS, project=project),
                operation="get_project_versions",
            )
        )

    def get_version(self, version_id: str) -> dict[str, Any]:
        data = self._request(
            "GET", self._url(VERSION, version_id=version_id), operation="get_version"
        )
        return self._dict(data, "get_version", "id")

    @staticmethod
    def _version_body(
        *,
        name: str | None,
        description: str | None,
        release_date: str | None,
        start_date: str | None,
        released: bool | None,
        archived: bool | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for key, value in (
            ("name", name),
            ("description", description),
            ("releaseDate", release_date),
            ("startDate", start_date),
            ("released", released),
            ("archived", archived),
        ):
            if value is not None:
                body[key] = value
        return body

    def create_version(
        self,
        *,
        project_id: str | int,
        name: str,
        description: str | None = None,
        release_date: str | None = None,
        start_date: str | None = None,
        released: bool | None = None,
        archived: bool | None = None,
    ) -> dict[str, Any]:
        """Dates are ``YYYY-MM-DD`` strings. Returns Jira's version (``id`` is a string)."""
        body = self._version_body(
            name=name,
            description=description,
            release_date=release_date,
            start_date=start_date,
            released=released,
            archived=archived,
        )
        body["projectId"] = int(project_id)
        data = self._request(
            "POST", self._url(VERSION_CREATE), json=body, operation="create_version"
        )
        return self._dict(data, "create_version", "id")

    def update_version(
        self,
        version_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        release_date: str | None = None,
        start_date: str | None = None,
        released: bool | None = None,
        archived: bool | None = None,
    ) -> dict[str, Any]:
        """Only the values given are sent; the others are left as they are in Jira."""
        body = self._version_body(
            name=name,
            description=description,
            release_date=release_date,
            start_date=start_date,
            released=released,
            archived=archived,
        )
        data = self._request(
            "PUT",
            self._url(VERSION, version_id=version_id),
            json=body,
            operation="update_version",
        )
        return self._dict(data, "update_version", "id")

    def delete_version(self, version_id: str, *, move_fix_issues_to: str | None = None) -> None:
        """Delete through ``removeAndSwap`` (``DELETE /version/{id}`` is deprecated)."""
        body: dict[str, Any] = {}
        if move_fix_issues_to:
            body["moveFixIssuesTo"] = int(move_fix_issues_to)
        self._request(
            "POST",
            self._url(VERSION_REMOVE_AND_SWAP, version_id=version_id),
            json=body,
            operation="delete_version",
            allow_empty=True,
        )

    # --- issues ------------------------------------------------------------------------------

    def get_issue(self, issue: str, fields: Iterable[str] | None = None) -> dict[str, Any]:
        params = {"fields": ",".join(fields)} if fields is not None else None
        data = self._request(
            "GET", self._url(ISSUE, issue=issue), params=params, operation="get_issue"
        )
        issue_data = self._dict(data, "get_issue", "id", "key")
        if not isinstance(issue_data.get("fields", {}), dict):
            raise JiraBadResponse("Jira's issue has no readable fields.", operation="get_issue")
        issue_data.setdefault("fields", {})
        return issue_data

    def create_issue(self, fields: dict[str, Any], *, update: dict | None = None) -> dict[str, Any]:
        """Returns ``{"id", "key", "self"}``. Never retried after a lost answer (see module)."""
        body: dict[str, Any] = {"fields": fields}
        if update:
            body["update"] = update
        data = self._request("POST", self._url(ISSUE_CREATE), json=body, operation="create_issue")
        return self._dict(data, "create_issue", "id", "key")

    def bulk_create_issues(self, list_of_fields: list[dict[str, Any]]) -> BulkCreateResult:
        """Create issues in chunks of at most 50 (Jira's limit per request).

        Jira answers each chunk with the created issues in input order, minus the failed
        ones, and ``errors[].failedElementNumber`` (index within the chunk). Both are mapped
        back to the index in ``list_of_fields``. If a chunk fails as a whole after earlier
        chunks succeeded, that chunk and the ones after it are reported as errors (with the
        error's ``transient``) rather than raised, so the caller keeps what was created.
        """
        result = BulkCreateResult()
        url = self._url(ISSUE_BULK_CREATE)
        for chunk_start in range(0, len(list_of_fields), BULK_CREATE_LIMIT):
            chunk = list_of_fields[chunk_start : chunk_start + BULK_CREATE_LIMIT]
            body = {"issueUpdates": [{"fields": fields} for fields in chunk]}
            try:
                data = self._request("POST", url, json=body, operation="bulk_create_issues")
            except JiraValidationError as exc:
                # All elements failed: Jira answers 400 with the same per-element shape.
                data = self._bulk_body_from_error(exc)
                if data is None:
                    self._bulk_fail_rest(result, exc, chunk_start, len(list_of_fields))
                    return result
            except JiraError as exc:
                if not result.created:
                    raise
                self._bulk_fail_rest(result, exc, chunk_start, len(list_of_fields))
                return result
            self._bulk_merge(result, data, chunk_start, len(chunk))
        return result

    @staticmethod
    def _bulk_body_from_error(exc: JiraValidationError) -> dict[str, Any] | None:
        body = getattr(exc, "body", None)
        return body if isinstance(body, dict) and isinstance(body.get("errors"), list) else None

    @staticmethod
    def _bulk_fail_rest(result: BulkCreateResult, exc: JiraError, start: int, total: int) -> None:
        for index in range(start, total):
            result.errors[index] = BulkItemError(
                index=index,
                status=exc.status,
                messages=[str(exc)],
                field_errors=exc.field_errors,
                transient=exc.transient,
            )

    def _bulk_merge(
        self, result: BulkCreateResult, data: Any, chunk_start: int, chunk_len: int
    ) -> None:
        data = self._dict(data, "bulk_create_issues")
        issues = self._list(data.get("issues") or [], "bulk_create_issues")
        raw_errors = self._list(data.get("errors") or [], "bulk_create_issues")
        failed: dict[int, BulkItemError] = {}
        for raw in raw_errors:
            if not isinstance(raw, dict):
                continue
            position = raw.get("failedElementNumber")
            if not isinstance(position, int) or not 0 <= position < chunk_len:
                continue
            messages, field_errors = parse_error_body(raw.get("elementErrors"))
            index = chunk_start + position
            status = raw.get("status") if isinstance(raw.get("status"), int) else None
            failed[position] = BulkItemError(
                index=index, status=status, messages=messages, field_errors=field_errors
            )
        succeeded = [p for p in range(chunk_len) if p not in failed]
        if len(issues) != len(succeeded):
            raise JiraBadResponse(
                f"Jira's bulk create answer lists {len(issues)} issues and "
                f"{len(failed)} errors for {chunk_len} requested.",
                operation="bulk_create_issues",
            )
        for position, issue in zip(succeeded, issues, strict=True):
            result.created[chunk_start + position] = self._dict(
                issue, "bulk_create_issues", "id", "key"
            )
        for position, error in failed.items():
            result.errors[chunk_start + position] = error

    def update_issue(
        self,
        issue: str,
        fields: dict[str, Any] | None = None,
        update: dict[str, Any] | None = None,
        *,
        notify_users: bool = True,
    ) -> None:
        body: dict[str, Any] = {}
        if fields:
            body["fields"] = fields
        if update:
            body["update"] = update
        if not body:
            return
        params = None if notify_users else {"notifyUsers": "false"}
        self._request(
            "PUT",
            self._url(ISSUE, issue=issue),
            params=params,
            json=body,
            operation="update_issue",
            allow_empty=True,
        )

    def delete_issue(self, issue: str, *, delete_subtasks: bool = False) -> None:
        params = {"deleteSubtasks": "true"} if delete_subtasks else None
        self._request(
            "DELETE",
            self._url(ISSUE, issue=issue),
            params=params,
            operation="delete_issue",
            allow_empty=True,
        )

    def get_transitions(self, issue: str) -> list[dict[str, Any]]:
        data = self._dict(
            self._request(
                "GET", self._url(ISSUE_TRANSITIONS, issue=issue), operation="get_transitions"
            ),
            "get_transitions",
        )
        return self._list(data.get("transitions", []), "get_transitions")

    def transition_issue(
        self, issue: str, transition_id: str, *, fields: dict[str, Any] | None = None
    ) -> None:
        body: dict[str, Any] = {"transition": {"id": str(transition_id)}}
        if fields:
            body["fields"] = fields
        self._request(
            "POST",
            self._url(ISSUE_TRANSITIONS, issue=issue),
            json=body,
            operation="transition_issue",
            allow_empty=True,
        )

    # --- issue links -------------------------------------------------------------------------

    def create_issue_link(self, type_name_or_id: str, inward_key: str, outward_key: str) -> str:
        """Link two issues and return the new link's id.

        Direction, as Jira's REST API has it: ``inward_key`` is sent as ``inwardIssue`` and
        ``outward_key`` as ``outwardIssue``; the link then reads "inward_key <outward phrase>
        outward_key" (for Blocks: inward_key *blocks* outward_key, and outward_key *is blocked
        by* inward_key). Webhooks call inward_key ``sourceIssueId``.

        Jira answers 201 with an empty body (and 201 again for a link that already exists),
        so the id is read back from ``inward_key``'s ``fields.issuelinks``, where the link
        shows ``outwardIssue`` = ``outward_key``.
        """
        link_type = (
            {"id": str(type_name_or_id)}
            if str(type_name_or_id).isdigit()
            else {"name": str(type_name_or_id)}
        )
        body = {
            "type": link_type,
            "inwardIssue": {"key": inward_key},
            "outwardIssue": {"key": outward_key},
        }
        self._request(
            "POST",
            self._url(ISSUE_LINK_CREATE),
            json=body,
            operation="create_issue_link",
            allow_empty=True,
        )
        link = self.find_issue_link(type_name_or_id, inward_key, outward_key)
        if link is None:
            raise JiraBadResponse(
                f"Jira accepted the link from {inward_key} to {outward_key} but it is not "
                f"listed on {inward_key}.",
                operation="create_issue_link",
            )
        return str(link["id"])

    def find_issue_link(
        self, type_name_or_id: str, inward_key: str, outward_key: str
    ) -> dict[str, Any] | None:
        """The link ``inward_key -> outward_key`` of that type, from the inward issue."""
        issue = self.get_issue(inward_key, fields=["issuelinks"])
        links = issue["fields"].get("issuelinks") or []
        wanted = str(type_name_or_id).casefold()
        for link in links if isinstance(links, list) else []:
            if not isinstance(link, dict) or "id" not in link:
                continue
            link_type = link.get("type") if isinstance(link.get("type"), dict) else {}
            if wanted not in (
                str(link_type.get("id", "")).casefold(),
                str(link_type.get("name", "")).casefold(),
            ):
                continue
            other = link.get("outwardIssue")
            if isinstance(other, dict) and str(other.get("key", "")).upper() == outward_key.upper():
                return link
        return None

    def get_issue_link(self, link_id: str) -> dict[str, Any]:
        data = self._request(
            "GET", self._url(ISSUE_LINK, link_id=link_id), operation="get_issue_link"
        )
        return self._dict(data, "get_issue_link", "id")

    def delete_issue_link(self, link_id: str) -> None:
        self._request(
            "DELETE",
            self._url(ISSUE_LINK, link_id=link_id),
            operation="delete_issue_link",
            allow_empty=True,
        )

    # --- search ------------------------------------------------------------------------------

    def search_jql(
        self,
        jql: str,
        fields: Iterable[str] | None = None,
        max_results: int = 100,
        *,
        max_pages: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        """Every issue matching ``jql``, following ``nextPageToken`` across pages."""
        url = self._url(SEARCH_JQL)
        params: dict[str, Any] = {"jql": jql, "maxResults": max_results}
        if fields is not None:
            params["fields"] = ",".join(fields)
        token: str | None = None
        for _ in range(max_pages):
            query = dict(params, nextPageToken=token) if token else params
            page = self._dict(
                self._request("GET", url, params=query, operation="search_jql"), "search_jql"
            )
            yield from self._list(page.get("issues") or [], "search_jql")
            next_token = page.get("nextPageToken")
            if page.get("isLast") is True or not next_token or next_token == token:
                return
            token = str(next_token)
        logger.warning("jira search_jql: stopped after %s pages", max_pages)

    # --- webhooks ----------------------------------------------------------------------------

    def list_webhooks(self) -> list[dict[str, Any]]:
        return list(self._iter_offset(self._url(WEBHOOKS), operation="list_webhooks"))

    def register_webhooks(self, url: str, webhooks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``webhooks``: ``[{"events": [...], "jqlFilter": "project = DEMO"}, ...]``.

        Returns Jira's ``webhookRegistrationResult`` (``createdWebhookId`` or ``errors``
        per webhook, in the order sent).
        """
        data = self._dict(
            self._request(
                "POST",
                self._url(WEBHOOKS),
                json={"url": url, "webhooks": webhooks},
                operation="register_webhooks",
            ),
            "register_webhooks",
        )
        return self._list(data.get("webhookRegistrationResult", []), "register_webhooks")

    def delete_webhooks(self, webhook_ids: list[int]) -> None:
        self._request(
            "DELETE",
            self._url(WEBHOOKS),
            json={"webhookIds": [int(i) for i in webhook_ids]},
            operation="delete_webhooks",
            allow_empty=True,
        )

    # Jira only lets Connect and OAuth 2.0 apps use /rest/api/3/webhook (users get 403).
    # With a Jira administrator's token or PAT, webhooks are registered here instead.

    def list_admin_webhooks(self) -> list[dict[str, Any]]:
        data = self._request("GET", self._url(ADMIN_WEBHOOKS), operation="list_admin_webhooks")
        return self._list(data, "list_admin_webhooks")

    def register_admin_webhook(
        self,
        *,
        url: str,
        events: list[str],
        name: str,
        jql: str | None = None,
        secret: str | None = None,
    ) -> dict[str, Any]:
        """Returns Jira's webhook; its id is the last segment of ``self``."""
        body: dict[str, Any] = {
            "name": name,
            "url": url,
            "events": list(events),
            "excludeBody": False,
        }
        if jql:
            body["filters"] = {"issue-related-events-section": jql}
        if secret:
            body["secret"] = secret
        data = self._request(
            "POST", self._url(ADMIN_WEBHOOKS), json=body, operation="register_admin_webhook"
        )
        return self._dict(data, "register_admin_webhook", "self")

    def delete_admin_webhook(self, webhook_id: int | str) -> None:
        self._request(
            "DELETE",
            self._url(ADMIN_WEBHOOK, webhook_id=webhook_id),
            operation="delete_admin_webhook",
            allow_empty=True,
        )
