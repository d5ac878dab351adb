"""The OpenAPI schema documents every endpoint and its errors, and validates cleanly."""

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

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


def test_the_projects_schema_renders_with_these_endpoints(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert _api_routes(OWN_URLCONF) <= set(response.json()["paths"])


@pytest.mark.urls(OWN_URLCONF)
def test_schema_lists_every_endpoint_with_its_errors(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    routes = _api_routes()
    assert "/api/v1/features/{id}/" in routes
    assert routes <= set(schema["paths"])
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code in ("401", "403"):
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


def test_docs_page_renders(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_the_whole_projects_schema_validates_without_warnings(db, tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/record-links/" in text
    assert "/api/v1/integrations/{id}/record-mappings/reorder/" in text
