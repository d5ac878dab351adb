"""The API of this test package alone (accounts + records), so its schema checks are not
disturbed by other apps' endpoints."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("records.api.urls")),
]
