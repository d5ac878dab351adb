from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.views import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Signed-in users only (anonymous visitors are sent to the login page). The split view
    # serves Swagger UI's set-up script as a file, so the Content-Security-Policy needs no
    # inline script.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("api/v1/", include("mappings_site.api_urls")),
    path("", include("sync.urls")),
    path("", include("accounts.urls")),
    path("", include("records.urls")),
    path("", include("integrations.urls")),
]
