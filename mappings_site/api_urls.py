"""/api/v1/: each app contributes its routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("records.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("sync.api.urls")),
]
