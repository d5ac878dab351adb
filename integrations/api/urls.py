from django.urls import path
from rest_framework.routers import SimpleRouter

from . import mappings, views
from .mappings import ordered_child_routes

router = SimpleRouter()
router.register("integrations", views.IntegrationViewSet, basename="integration")

_I = "integrations/<int:pk>/"
_RM = _I + "record-mappings/<int:rm_id>/"

urlpatterns = [
    *router.urls,
    path(
        _I + "test-connection/",
        views.TestConnectionView.as_view(),
        name="integration-test-connection",
    ),
    path(
        _I + "reload-configuration/",
        views.ReloadConfigurationView.as_view(),
        name="integration-reload-configuration",
    ),
    path(
        _I + "configuration/", views.ConfigurationView.as_view(), name="integration-configuration"
    ),
    path(_I + "projects/", views.ProjectsView.as_view(), name="integration-projects"),
    path(
        _I + "apply-defaults/", views.ApplyDefaultsView.as_view(), name="integration-apply-defaults"
    ),
    path(_I + "enable/", views.EnableView.as_view(), name="integration-enable"),
    path(_I + "disable/", views.DisableView.as_view(), name="integration-disable"),
    path(
        _I + "rotate-webhook-token/",
        views.RotateWebhookTokenView.as_view(),
        name="integration-rotate-webhook-token",
    ),
    path(_I + "webhook/", views.WebhookView.as_view(), name="integration-webhook"),
    path(
        _I + "reset-to-template/",
        views.ResetToTemplateView.as_view(),
        name="integration-reset-to-template",
    ),
    path(_I + "warnings/", views.WarningsView.as_view(), name="integration-warnings"),
    path(_I + "validate/", views.ValidateView.as_view(), name="integration-validate"),
    path(_I + "export/", views.ExportView.as_view(), name="integration-export"),
    path(_I + "import/", views.ImportView.as_view(), name="integration-import"),
    # The mapping's ordered child resources, one shape (integrations.api.mappings).
    *ordered_child_routes(
        mappings.RecordMappingViewSet,
        name="record-mapping",
        collection=_I + "record-mappings/",
        detail=_RM,
        extra=(
            (_RM + "move/", "post", "move", "record-mapping-move"),
            (_RM + "linked-to/", "post", "linked_to_add", "record-mapping-linked-to"),
            (
                _RM + "linked-to/<str:parent_kind>/",
                "delete",
                "linked_to_remove",
                "record-mapping-linked-to-detail",
            ),
            (
                _RM + "default-field-mappings/",
                "post",
                "default_field_mappings",
                "record-mapping-default-fields",
            ),
        ),
    ),
    *ordered_child_routes(
        mappings.FieldMappingViewSet,
        name="field-mapping",
        collection=_I + "field-mappings/",
        detail=_I + "field-mappings/<int:fm_id>/",
        reorder=_RM + "field-mappings/reorder/",
    ),
    *ordered_child_routes(
        mappings.ValueMappingViewSet,
        name="value-mapping",
        collection=_I + "field-mappings/<int:fm_id>/value-mappings/",
        detail=_I + "value-mappings/<int:vm_id>/",
    ),
    *ordered_child_routes(
        mappings.RelationshipMappingViewSet,
        name="relationship-mapping",
        collection=_I + "relationship-mappings/",
        detail=_I + "relationship-mappings/<int:rel_id>/",
    ),
]
