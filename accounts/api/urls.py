from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import ApiKeyViewSet, MeView, WorkspaceViewSet

router = SimpleRouter()
router.register("workspaces", WorkspaceViewSet, basename="workspace")
router.register("api-keys", ApiKeyViewSet, basename="apikey")

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    *router.urls,
]
