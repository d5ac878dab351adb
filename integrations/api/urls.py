from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

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
    path(
        _I + "record-mappings/", views.RecordMappingListView.as_view(), name="record-mapping-list"
    ),
    path(
        _I + "record-mappings/reorder/",
        views.RecordMappingReorderView.as_view(),
        name="record-mapping-reorder",
    ),
    path(_RM, views.RecordMappingDetailView.as_view(), name="record-mapping-detail"),
    path(_RM + "move/", views.RecordMappingMoveView.as_view(), name="record-mapping-move"),
    path(_RM + "linked-to/", views.LinkedToView.as_view(), name="record-mapping-linked-to"),
    path(
        _RM + "linked-to/<str:parent_kind>/",
        views.LinkedToDetailView.as_view(),
        name="record-mapping-linked-to-detail",
    ),
    path(
        _RM + "default-field-mappings/",
        views.RecordMappingDefaultFieldsView.as_view(),
        name="record-mapping-default-fields",
    ),
    path(
        _RM + "field-mappings/reorder/",
        views.FieldMappingReorderView.as_view(),
        name="field-mapping-reorder",
    ),
    path(_I + "field-mappings/", views.FieldMappingListView.as_view(), name="field-mapping-list"),
    path(
        _I + "field-mappings/<int:fm_id>/",
        views.FieldMappingDetailView.as_view(),
        name="field-mapping-detail",
    ),
    path(
        _I + "field-mappings/<int:fm_id>/value-mappings/",
        views.ValueMappingListView.as_view(),
        name="value-mapping-list",
    ),
    path(
        _I + "field-mappings/<int:fm_id>/value-mappings/reorder/",
        views.ValueMappingReorderView.as_view(),
        name="value-mapping-reorder",
    ),
    path(
        _I + "value-mappings/<int:vm_id>/",
        views.ValueMappingDetailView.as_view(),
        name="value-mapping-detail",
    ),
    path(
        _I + "relationship-mappings/",
        views.RelationshipMappingListView.as_view(),
        name="relationship-mapping-list",
    ),
    path(
        _I + "relationship-mappings/reorder/",
        views.RelationshipMappingReorderView.as_view(),
        name="relationship-mapping-reorder",
    ),
    path(
        _I + "relationship-mappings/<int:rel_id>/",
        views.RelationshipMappingDetailView.as_view(),
        name="relationship-mapping-detail",
    ),
]
