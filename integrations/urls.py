from django.urls import path

from .views import lists, mappings, wizard

_I = "integrations/<int:integration_id>/"
_K = _I + "mappings/<str:kind>/"

urlpatterns = [
    path("settings/integrations/", lists.account_integrations, name="integrations_account"),
    path(
        "workspaces/<int:workspace_id>/integrations/",
        lists.workspace_integrations,
        name="integrations_workspace",
    ),
    path("integrations/new/", wizard.integration_new, name="integration_new"),
    path(_I, lists.integration_open, name="integration_open"),
    path(_I + "disable/", lists.integration_disable_view, name="integration_disable"),
    path(_I + "delete/", lists.integration_delete_view, name="integration_delete"),
    # 1-3
    path(_I + "name/", wizard.integration_name, name="integration_name"),
    path(_I + "connect/", wizard.integration_connect, name="integration_connect"),
    path(_I + "connect/test/", wizard.integration_connect_test, name="integration_connect_test"),
    path(_I + "project/", wizard.integration_project, name="integration_project"),
    path(
        _I + "project/search/",
        wizard.integration_project_search,
        name="integration_project_search",
    ),
    # 4. Mappings
    path(_I + "mappings/", mappings.integration_mappings, name="integration_mappings"),
    path(_I + "mappings/rows/add/", mappings.mapping_row_add, name="mapping_row_add"),
    path(_I + "mappings/rows/reorder/", mappings.mapping_rows_reorder, name="mapping_rows_reorder"),
    path(
        _I + "mappings/rows/<int:rm_id>/update/",
        mappings.mapping_row_update,
        name="mapping_row_update",
    ),
    path(
        _I + "mappings/rows/<int:rm_id>/remove/",
        mappings.mapping_row_remove,
        name="mapping_row_remove",
    ),
    path(
        _I + "mappings/rows/<int:rm_id>/move/", mappings.mapping_row_move, name="mapping_row_move"
    ),
    path(
        _I + "mappings/rows/<int:rm_id>/linked-to/",
        mappings.linked_to_add_view,
        name="mapping_linked_to_add",
    ),
    path(
        _I + "mappings/rows/<int:rm_id>/linked-to/<str:parent_kind>/remove/",
        mappings.linked_to_remove_view,
        name="mapping_linked_to_remove",
    ),
    path(_I + "mappings/defaults/", mappings.mappings_defaults, name="mappings_defaults"),
    path(_I + "mappings/reload/", mappings.mappings_reload, name="mappings_reload"),
    path(_I + "mappings/save/", mappings.mappings_save, name="mappings_save"),
    path(_K + "fields/", mappings.field_mappings_page, name="integration_fields"),
    path(_K + "fields/add/", mappings.field_mapping_add_view, name="field_mapping_add"),
    path(
        _K + "fields/<int:fm_id>/direction/",
        mappings.field_mapping_direction,
        name="field_mapping_direction",
    ),
    path(
        _K + "fields/<int:fm_id>/update/",
        mappings.field_mapping_update_view,
        name="field_mapping_update",
    ),
    path(
        _K + "fields/<int:fm_id>/remove/",
        mappings.field_mapping_remove_view,
        name="field_mapping_remove",
    ),
    path(_K + "fields/<int:fm_id>/move/", mappings.field_mapping_move, name="field_mapping_move"),
    path(
        _K + "fields/<int:fm_id>/values/", mappings.value_mappings_page, name="integration_values"
    ),
    path(
        _K + "fields/<int:fm_id>/values/add/",
        mappings.value_mapping_add_view,
        name="value_mapping_add",
    ),
    path(
        _K + "fields/<int:fm_id>/values/<int:vm_id>/remove/",
        mappings.value_mapping_remove_view,
        name="value_mapping_remove",
    ),
    path(
        _K + "fields/<int:fm_id>/values/<int:vm_id>/move/",
        mappings.value_mapping_move,
        name="value_mapping_move",
    ),
    path(_K + "record-links/", mappings.record_links_modal, name="record_links_modal"),
    path(_K + "record-links/save/", mappings.record_links_save, name="record_links_save"),
    # 5. Enable
    path(_I + "enable/", wizard.integration_enable, name="integration_enable"),
    path(
        _I + "enable/sync-options/",
        wizard.integration_sync_options,
        name="integration_sync_options",
    ),
    path(
        _I + "enable/secret/", wizard.integration_webhook_secret, name="integration_webhook_secret"
    ),
    path(
        _I + "enable/send-all/<int:job_id>/",
        wizard.integration_bulk_progress,
        name="integration_bulk_progress",
    ),
]
