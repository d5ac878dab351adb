"""Production headers, from the real settings module with DEBUG off (in a fresh interpreter,
since settings are read from the environment at start): HSTS over HTTPS (configurable), the
TLS proxy header trusted only when said, and a Content-Security-Policy on every answer."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client(raise_request_exception=False)  # only the headers matter here
answers = {}
for name, extra in (("proxied_https", {"HTTP_X_FORWARDED_PROTO": "https"}), ("http", {})):
    r = client.get(os.environ.get("PROBE_PATH", "/api/v1/me/"), **extra)
    answers[name] = {k: v for k, v in r.headers.items()}
print(json.dumps(answers))
"""


def production_headers(**env) -> dict:
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mappings_site.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "test-only-production-like-secret-key-0123456789",
        **env,
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_hsts_over_https_behind_the_proxy_and_never_over_plain_http():
    answers = production_headers()
    assert answers["proxied_https"]["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in answers["http"]


def test_hsts_is_configurable():
    answers = production_headers(
        DJANGO_HSTS_SECONDS="600",
        DJANGO_HSTS_INCLUDE_SUBDOMAINS="1",
        DJANGO_HSTS_PRELOAD="1",
    )
    assert (
        answers["proxied_https"]["Strict-Transport-Security"]
        == "max-age=600; includeSubDomains; preload"
    )


def test_plain_http_is_redirected_to_https_when_asked_except_the_health_check():
    answers = production_headers(DJANGO_SECURE_SSL_REDIRECT="1")
    assert answers["http"]["Location"] == "https://testserver/api/v1/me/"
    assert "Location" not in answers["proxied_https"]
    health = production_headers(DJANGO_SECURE_SSL_REDIRECT="1", PROBE_PATH="/health/")
    assert "Location" not in health["http"]


def test_the_forwarded_proto_header_is_ignored_when_not_behind_a_tls_proxy():
    answers = production_headers(DJANGO_BEHIND_TLS_PROXY="0")
    assert "Strict-Transport-Security" not in answers["proxied_https"]


@pytest.mark.parametrize("mode", ["enforce", "report-only"])
def test_a_content_security_policy_allows_this_origin_only(mode):
    headers = production_headers(APP_CSP=mode)["http"]
    name = {
        "enforce": "Content-Security-Policy",
        "report-only": "Content-Security-Policy-Report-Only",
    }[mode]
    directives = (part.strip().partition(" ") for part in headers[name].split(";"))
    policy = {directive: value for directive, _, value in directives}
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in headers[name]
