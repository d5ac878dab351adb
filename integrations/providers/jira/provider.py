"""The Jira provider: builds the client from an integration's connection values, tests a
connection in plain words, and fetches a project's configuration."""

from __future__ import annotations

from typing import Any

from ..base import Capability, ConnectionResult, Provider
from . import richtext
from .client import JiraBearerAuth, JiraClient, JiraCloudAuth
from .configuration import fetch_project_configuration
from .errors import (
    JiraAuthError,
    JiraBadResponse,
    JiraConfigError,
    JiraError,
    JiraNotFound,
    JiraPermissionError,
    JiraRateLimited,
    JiraUnavailable,
)

_CLOUD_KINDS = {"cloud", "basic", "api_token"}
_BEARER_KINDS = {"data_center", "datacenter", "server", "bearer", "pat"}


def _value(source: Any, *names: str) -> Any:
    """The first present value among attributes / keys / ``get_<name>()`` of ``source``."""
    for name in names:
        if isinstance(source, dict) and source.get(name) not in (None, ""):
            return source[name]
        getter = getattr(source, f"get_{name}", None)
        if callable(getter):
            value = getter()
            if value not in (None, ""):
                return value
        value = getattr(source, name, None)
        if value not in (None, "") and not callable(value):
            return value
    return None


class JiraProvider(Provider):
    key = "jira"
    display_name = "Jira"
    capabilities = frozenset(
        {
            Capability.ISSUES,
            Capability.BULK_CREATE,
            Capability.VERSIONS,
            Capability.ISSUE_LINKS,
            Capability.TRANSITIONS,
            Capability.SEARCH,
            Capability.WEBHOOKS,
            Capability.RICH_TEXT,
        }
    )

    def client(
        self,
        integration: Any = None,
        *,
        base_url: str | None = None,
        deployment: str | None = None,
        email: str | None = None,
        api_token: str | None = None,
        pat: str | None = None,
        api_version: int | None = None,
        **client_options: Any,
    ) -> JiraClient:
        """A client for an integration (or a mapping, or keyword values; keywords win).

        Reads ``base_url``, ``deployment`` (``cloud``: email + API token, REST v3;
        ``data_center``: personal access token as Bearer, REST v2) and the decrypted
        secrets via ``get_api_token()`` / ``get_personal_access_token()``.
        Raises ``JiraConfigError`` (a ``JiraError``) with a plain message when a value is
        missing or the URL is not one.
        """
        source = integration if integration is not None else {}
        base_url = base_url or _value(source, "base_url")
        deployment = (deployment or _value(source, "deployment", "auth_kind") or "cloud").lower()
        if not base_url:
            raise JiraConfigError(
                "Enter the Jira site address, like https://your-team.atlassian.net."
            )
        if deployment in _CLOUD_KINDS:
            email = email or _value(source, "email")
            api_token = api_token or _value(source, "api_token")
            if not email or not api_token:
                raise JiraConfigError("Enter the Jira account email and an API token.")
            auth: JiraCloudAuth | JiraBearerAuth = JiraCloudAuth(email, api_token)
            version = api_version or 3
        elif deployment in _BEARER_KINDS:
            pat = pat or _value(source, "personal_access_token", "pat")
            if not pat:
                raise JiraConfigError("Enter a Jira personal access token.")
            auth = JiraBearerAuth(pat)
            # Jira Data Center serves REST v2 only.
            version = api_version or 2
        else:
            raise JiraConfigError(
                f"Unknown Jira deployment {deployment!r}: use cloud or data_center."
            )
        return JiraClient(base_url, auth, api_version=version, **client_options)

    def test_connection(self, client: JiraClient) -> ConnectionResult:
        return test_connection(client)

    def check_connection(self, integration: Any = None, **values: Any) -> ConnectionResult:
        """Build the client and test it; a bad address or missing value is a result too."""
        try:
            client = self.client(integration, **values)
        except JiraConfigError as exc:
            return ConnectionResult(False, exc.user_message, None, "bad_url")
        with client:
            return test_connection(client)

    def fetch_configuration(self, client: JiraClient, project_key: str) -> dict[str, Any]:
        return fetch_project_configuration(client, project_key)

    # Rich text, so mapping code need not know ADF from wiki markup.
    @staticmethod
    def rich_text_from_html(client: JiraClient, html: str) -> Any:
        return client.rich_text_from_html(html)

    @staticmethod
    def rich_text_to_html(value: Any) -> str:
        if isinstance(value, dict):
            return richtext.adf_to_html(value)
        return richtext.wiki_to_html(value) if isinstance(value, str) else ""


def test_connection(client: JiraClient) -> ConnectionResult:
    """Call ``myself`` and say in plain words what worked or what to fix."""
    url = client.base_url
    bearer = isinstance(client.session.auth, JiraBearerAuth)
    not_jira = (
        f"{url} does not look like a Jira site: check the address "
        "(for Jira Cloud it looks like https://your-team.atlassian.net)."
    )
    try:
        user = client.myself()
    except JiraAuthError:
        message = (
            "Jira rejected the personal access token: check it has not expired or been revoked."
            if bearer
            else "Jira rejected the credentials: check the email and API token."
        )
        return ConnectionResult(False, message, None, "bad_credentials")
    except JiraPermissionError:
        return ConnectionResult(
            False,
            "Jira accepted the credentials but this user may not use the REST API: "
            "ask a Jira administrator for access.",
            None,
            "no_permission",
        )
    except (JiraNotFound, JiraBadResponse):
        return ConnectionResult(False, not_jira, None, "bad_url")
    except JiraRateLimited as exc:
        wait = f" in {int(exc.retry_after + 0.999)} seconds" if exc.retry_after else " in a minute"
        return ConnectionResult(
            False, f"Jira is limiting requests right now: try again{wait}.", None, "rate_limited"
        )
    except JiraUnavailable as exc:
        if exc.status is None:
            message = (
                f"Jira could not be reached at {url}: check the address and that the site is up."
            )
        else:
            message = (
                f"Jira at {url} is having a problem (HTTP {exc.status}): "
                "try again in a few minutes."
            )
        return ConnectionResult(False, message, None, "unreachable")
    except JiraError as exc:
        return ConnectionResult(False, str(exc), None, "error")
    if not (user.get("accountId") or user.get("key") or user.get("name")):
        return ConnectionResult(False, not_jira, None, "bad_url")
    name = user.get("displayName") or user.get("emailAddress") or user.get("name") or "this user"
    summary = {
        "account_id": user.get("accountId") or user.get("key") or user.get("name"),
        "display_name": user.get("displayName") or "",
        "email": user.get("emailAddress") or "",
    }
    return ConnectionResult(True, f"Connected to {url} as {name}.", summary, "ok")
