"""SSRF: a Jira site address cannot reach internal addresses.

Link-local and cloud-metadata addresses are refused always; loopback and private ranges unless
``JIRA_ALLOWED_NETWORKS`` allows them; the sandbox URL always. The address a name resolves to
is checked at every new connection (DNS rebinding), redirects included. Host names here
resolve through the client's resolver hook, so nothing is ever sent to a refused address."""

from __future__ import annotations

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from integrations.providers.jira.client import (
    AddressPolicy,
    JiraBearerAuth,
    JiraClient,
    JiraCloudAuth,
)
from integrations.providers.jira.errors import JiraBadResponse, JiraConfigError
from integrations.providers.registry import get_provider

EVERYTHING = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


class FakeDns:
    """``socket.getaddrinfo``'s signature over a table; a name can be re-pointed (rebinding)."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = dict(table)
        self.lookups: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.lookups.append(host)
        try:
            address = self.table[host]
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name") from None
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]


class _Counting(BaseHTTPRequestHandler):
    redirect_to = ""

    def do_GET(self):
        self.server.hits += 1
        if self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"<html>not jira</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def web_server():
    """A real HTTP server on loopback that counts what reaches it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    server.hits = 0
    server.redirect_to = ""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _client(url, policy, **options):
    return JiraClient(url, JiraBearerAuth("pat"), address_policy=policy, max_retries=0, **options)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.0.1:8080",
        "http://[fd00:ec2::254]",
        "http://[fe80::1]",
        "http://[::ffff:169.254.169.254]",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://METADATA.google.internal.",
        "http://100.100.100.200",
        "http://0.0.0.0:8080",
    ],
)
def test_link_local_and_metadata_addresses_are_refused_whatever_the_setting(url):
    with pytest.raises(JiraConfigError) as caught:
        _client(url, AddressPolicy(allowed_networks=EVERYTHING))
    assert "never a Jira site" in caught.value.user_message


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "0.0.0.0"],  # noqa: S104
)
def test_a_name_resolving_to_a_metadata_address_is_refused_before_connecting(address):
    dns = FakeDns({"jira.example.test": address})
    client = _client("https://jira.example.test", AddressPolicy(EVERYTHING, resolver=dns))
    with pytest.raises(JiraConfigError) as caught:
        client.myself()
    assert "link-local, metadata or reserved address" in caught.value.user_message
    assert dns.lookups == ["jira.example.test"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9", "http://10.1.2.3", "http://192.168.0.10", "http://[::1]:80"]
)
def test_loopback_and_private_literals_are_refused_unless_allowed(url):
    with pytest.raises(JiraConfigError) as caught:
        _client(url, AddressPolicy())
    assert "APP_JIRA_ALLOWED_NETWORKS" in caught.value.user_message
    _client(url, AddressPolicy(allowed_networks=EVERYTHING)).close()


def test_a_name_resolving_to_loopback_is_refused_and_nothing_is_sent(web_server):
    dns = FakeDns({"jira.corp.test": "127.0.0.1"})
    client = _client(f"http://jira.corp.test:{web_server.server_port}", AddressPolicy(resolver=dns))
    with pytest.raises(JiraConfigError):
        client.myself()
    assert web_server.hits == 0

    # The same name, with the network allowed: the connection is made.
    allowed = _client(
        f"http://jira.corp.test:{web_server.server_port}", AddressPolicy(LOOPBACK, resolver=dns)
    )
    with pytest.raises(JiraBadResponse):  # it reached the server, which is not Jira
        allowed.myself()
    assert web_server.hits == 1


def test_the_resolved_address_is_checked_at_every_new_connection(emu, jira_user):
    """DNS rebinding: the name pointed at an allowed address, then at the metadata service."""
    port = emu.base_url.rsplit(":", 1)[1]
    dns = FakeDns({"jira.rebind.test": "127.0.0.1"})
    client = JiraClient(
        f"http://jira.rebind.test:{port}",
        JiraCloudAuth(jira_user["email"], jira_user["api_token"]),
        address_policy=AddressPolicy(LOOPBACK, resolver=dns),
        max_retries=0,
    )
    assert client.myself()["emailAddress"] == jira_user["email"]

    dns.table["jira.rebind.test"] = "169.254.169.254"
    client.session.close()  # the next call opens a new connection, as after a keep-alive ends
    with pytest.raises(JiraConfigError):
        client.myself()
    assert dns.lookups == ["jira.rebind.test", "jira.rebind.test"]


@pytest.mark.parametrize(
    ("target", "dns"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", {}),
        ("http://internal.test/admin", {"internal.test": "10.0.0.7"}),
    ],
)
def test_a_redirect_is_not_followed_to_a_refused_address(web_server, target, dns):
    web_server.redirect_to = target
    fake = FakeDns({"jira.example.test": "127.0.0.1", **dns})
    client = _client(
        f"http://jira.example.test:{web_server.server_port}", AddressPolicy(LOOPBACK, resolver=fake)
    )
    with pytest.raises(JiraConfigError):
        client.myself()
    assert web_server.hits == 1  # the redirect itself came from the allowed site


def test_the_sandbox_url_is_always_allowed(emu, jira_user, web_server):
    with override_settings(JIRA_ALLOWED_NETWORKS=[], JIRA_SANDBOX_URL=emu.base_url):
        policy = AddressPolicy.from_settings()
        sandbox = JiraClient(
            emu.base_url,
            JiraCloudAuth(jira_user["email"], jira_user["api_token"]),
            address_policy=policy,
        )
        assert sandbox.myself()["emailAddress"] == jira_user["email"]
        # Another port of the same loopback host is not the sandbox.
        with pytest.raises(JiraConfigError):
            JiraClient(f"http://127.0.0.1:{web_server.server_port}", None, address_policy=policy)


def test_test_connection_says_the_same_for_a_closed_port_and_a_web_server(web_server):
    """For refused hosts, no port scanning: nothing is sent, and the answers are equal."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with override_settings(JIRA_ALLOWED_NETWORKS=[], JIRA_SANDBOX_URL=""):
        answers = {
            (result.ok, result.code, result.message)
            for result in (
                get_provider("jira").check_connection(
                    base_url=f"http://127.0.0.1:{port}", email="a@example.com", api_token="t"
                )
                for port in (closed, web_server.server_port)
            )
        }
    assert len(answers) == 1
    ok, _code, message = answers.pop()
    assert not ok
    assert "loopback or private address" in message
    assert web_server.hits == 0


@pytest.mark.django_db
def test_saving_a_metadata_or_unallowed_private_url_is_refused(integration):
    from core.exceptions import ApplicationError
    from integrations.services.integrations import integration_set_connection

    def save(url):
        return integration_set_connection(integration=integration, base_url=url)

    for url in ("http://169.254.169.254", "http://metadata.google.internal", "[fd00:ec2::254]"):
        with pytest.raises(ApplicationError) as caught:
            save(url)
        assert caught.value.fields == {"base_url": [caught.value.message]}
    with override_settings(JIRA_ALLOWED_NETWORKS=[]), pytest.raises(ApplicationError):
        save("http://10.0.0.5")
    with override_settings(JIRA_ALLOWED_NETWORKS=["10.0.0.0/8"]):
        save("http://10.0.0.5")
    integration.refresh_from_db()
    assert integration.base_url == "http://10.0.0.5"
