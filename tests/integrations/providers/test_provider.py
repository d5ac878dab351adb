"""The Jira provider: the client factory and Test connection in plain words."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integrations.models import Integration
from integrations.providers.base import Capability
from integrations.providers.jira.client import JiraBearerAuth, JiraClient, JiraCloudAuth
from integrations.providers.jira.errors import JiraConfigError
from integrations.providers.jira.provider import test_connection as connection_test
from integrations.providers.registry import get_provider, providers


@pytest.fixture
def jira():
    return get_provider("jira")


def test_provider_is_registered_with_capabilities(jira):
    assert jira.key == "jira"
    assert jira.display_name == "Jira"
    assert Capability.ISSUE_LINKS in jira.capabilities
    assert Capability.VERSIONS in jira.capabilities
    assert jira in providers()
    with pytest.raises(KeyError, match="jira"):
        get_provider("trello")


def test_client_from_a_cloud_integration(jira, emu, jira_user):
    integration = Integration(
        name="Cloud", deployment="cloud", base_url=emu.base_url, email=jira_user["email"]
    )
    integration.set_api_token(jira_user["api_token"])
    client = jira.client(integration)
    assert isinstance(client.session.auth, JiraCloudAuth)
    assert client.api_version == 3
    assert client.myself()["accountId"] == jira_user["account_id"]


def test_client_from_a_data_center_integration(jira, emu, jira_user):
    integration = Integration(name="DC", deployment="data_center", base_url=emu.base_url)
    integration.set_personal_access_token(jira_user["pat"])
    client = jira.client(integration)
    assert isinstance(client.session.auth, JiraBearerAuth)
    assert client.api_version == 2
    assert client.myself()["accountId"] == jira_user["account_id"]
    # Keyword values win over the integration's.
    assert jira.client(integration, api_version=3, max_retries=0).api_version == 3


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"deployment": "cloud", "email": "a@example.com", "api_token": "t"}, "site address"),
        ({"base_url": "https://x.atlassian.net", "deployment": "cloud"}, "email and an API"),
        ({"base_url": "https://x.example.com", "deployment": "data_center"}, "access token"),
        ({"base_url": "https://x.example.com", "deployment": "carrier-pigeon"}, "deployment"),
        ({"base_url": "not a url", "email": "a@example.com", "api_token": "t"}, "not a web"),
    ],
)
def test_missing_or_bad_values_are_config_errors(jira, values, words):
    with pytest.raises(JiraConfigError, match=words):
        jira.client(**values)
    result = jira.check_connection(**values)
    assert result.ok is False
    assert result.code == "bad_url"


def test_connection_ok_names_the_user(jira, emu, jira_user):
    result = jira.check_connection(
        base_url=emu.base_url, email=jira_user["email"], api_token=jira_user["api_token"]
    )
    assert result.ok is True
    assert result.code == "ok"
    assert result.message == (f"Connected to {emu.base_url} as {jira_user['display_name']}.")
    assert result.user["account_id"] == jira_user["account_id"]
    assert result.user["email"] == jira_user["email"]


def test_connection_bad_credentials_cloud_and_pat(jira, emu, jira_user):
    cloud = jira.check_connection(
        base_url=emu.base_url, email=jira_user["email"], api_token="wrong"
    )
    assert (cloud.ok, cloud.code) == (False, "bad_credentials")
    assert cloud.message == "Jira rejected the credentials: check the email and API token."
    dc = jira.check_connection(base_url=emu.base_url, deployment="data_center", pat="wrong")
    assert dc.code == "bad_credentials"
    assert "personal access token" in dc.message


def test_connection_no_permission(emu, client):
    emu.faults.queue(status=403, count=1)
    result = connection_test(client)
    assert (result.ok, result.code) == (False, "no_permission")
    assert "Jira administrator" in result.message


def test_connection_rate_limited(emu, client):
    emu.faults.queue(status=429, retry_after=90, count=1)
    result = connection_test(client)
    assert (result.ok, result.code) == (False, "rate_limited")
    assert result.message == "Jira is limiting requests right now: try again in 90 seconds."


def test_connection_to_a_path_that_is_not_jira_is_a_bad_url(emu, jira_user):
    client = JiraClient(
        emu.base_url + "/wiki", JiraCloudAuth(jira_user["email"], jira_user["api_token"])
    )
    result = connection_test(client)
    assert (result.ok, result.code) == (False, "bad_url")
    assert "does not look like a Jira site" in result.message


class _HtmlSite(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>Welcome</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_connection_to_an_ordinary_website_is_a_bad_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        result = get_provider("jira").check_connection(
            base_url=url, email="a@example.com", api_token="t"
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (result.ok, result.code) == (False, "bad_url")
    assert result.message.startswith(f"{url} does not look like a Jira site")


def test_connection_unreachable(jira):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = jira.check_connection(
        base_url=f"http://127.0.0.1:{port}",
        email="a@example.com",
        api_token="t",
        max_retries=0,
    )
    assert (result.ok, result.code) == (False, "unreachable")
    assert result.message == (
        f"Jira could not be reached at http://127.0.0.1:{port}: "
        "check the address and that the site is up."
    )


def test_connection_server_error(emu, jira_user):
    client = JiraClient(
        emu.base_url, JiraCloudAuth(jira_user["email"], jira_user["api_token"]), max_retries=0
    )
    emu.faults.queue(status=503, count=1)
    result = connection_test(client)
    assert result.code == "unreachable"
    assert "HTTP 503" in result.message


def test_rich_text_helpers_follow_the_client_version(jira, client, dc_client):
    assert jira.rich_text_from_html(client, "<p>x</p>")["type"] == "doc"
    assert jira.rich_text_from_html(dc_client, "<p><b>x</b></p>") == "*x*"
    assert jira.rich_text_to_html("*x*") == "<p><strong>x</strong></p>"
    assert jira.rich_text_to_html(None) == ""
