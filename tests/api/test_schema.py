"""The OpenAPI schema documents every endpoint and its errors, and validates cleanly."""

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.services import api_key_create
from tests.factories import make_account, make_user

OWN_URLCONF = "tests.api.urls"


def _api_routes(urlconf=None) -> set[str]:
    """Every /api/v1/ route, as the schema spells it (``/api/v1/features/{id}/``)."""
    routes: set[str] = set()

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                if route.startswith("api/v1/") and "format" not in route:
                    routes.add(
                        "/"
                        + route.replace("(?P<pk>[^/.]+)", "{id}")
                        .replace("^", "")
                        .replace("$", "")
                        .replace("\\.", ".")
                    )

    walk(get_resolver(urlconf).url_patterns, "")
    return routes


def _signed_in() -> APIClient:
    """The schema and the docs are for signed-in users only."""
    client = APIClient()
    client.force_login(make_user())
    return client


def test_the_projects_schema_renders_with_these_endpoints(db):
    response = _signed_in().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert _api_routes(OWN_URLCONF) <= set(response.json()["paths"])


@pytest.mark.urls(OWN_URLCONF)
def test_schema_lists_every_endpoint_with_its_errors(db):
    response = _signed_in().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    routes = _api_routes()
    assert "/api/v1/features/{id}/" in routes
    assert routes <= set(schema["paths"])
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code in ("401", "403", "429"):
                error_ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
                assert error_ref == "#/components/schemas/Error", (path, method)
            if "{id}" in path:
                assert "404" in responses, (path, method)
            if method in ("post", "put", "patch"):
                assert "400" in responses, (path, method)
    assert set(schema["components"]["schemas"]["ErrorBody"]["properties"]) == {
        "code",
        "message",
        "fields",
    }
    assert "ApiKey" in schema["components"]["securitySchemes"]


def test_docs_page_renders_from_the_projects_own_static_files(db):
    response = _signed_in().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<script>" not in html  # the set-up script is a file too (Content-Security-Policy)


def test_schema_and_docs_need_sign_in(db):
    assert APIClient().get("/api/schema/").status_code == 401
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 302
    assert docs["Location"].startswith("/accounts/login/")
    _, raw = api_key_create(user=make_account().memberships.get().user, name="docs")
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert bearer.get("/api/schema/", {"format": "json"}).status_code == 200


def test_the_whole_projects_schema_validates_without_warnings(db, tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/record-links/" in text
    assert "/api/v1/integrations/{id}/record-mappings/reorder/" in text
