from django.urls import include, path

from . import views
from .webhooks.jira import jira_webhook

_R = "records/<int:record_id>/jira/"
_I = "integrations/<int:integration_id>/"

# Pages, named "sync:<name>" (the webhook keeps its un-namespaced name, used by the wizard).
page_patterns = [
    path(_R, views.record_jira_panel, name="record_jira_panel"),
    path(_R + "<int:integration_id>/send/", views.record_send, name="record_send"),
    path(_R + "<int:integration_id>/link/", views.record_link, name="record_link"),
    path(_R + "<int:integration_id>/retry/", views.record_retry, name="record_retry"),
    path(_R + "<int:integration_id>/preview/", views.record_preview, name="record_preview"),
    path(_I + "preview/", views.integration_preview, name="integration_preview"),
    path(_I + "sync-log/", views.sync_log_page, name="sync_log"),
    path(_I + "sync-log/<int:entry_id>/retry/", views.sync_log_retry, name="sync_log_retry"),
    path(_I + "webhook/", views.webhook_panel, name="webhook_panel"),
    path(_I + "webhook/register/", views.webhook_register_view, name="webhook_register"),
    path(_I + "webhook/check/", views.webhook_check_view, name="webhook_check"),
    path(_I + "updates/", views.updates_page, name="updates"),
    path(
        _I + "updates/approve-all/",
        views.updates_decide_all,
        {"decision": "approve"},
        name="updates_approve_all",
    ),
    path(
        _I + "updates/discard-all/",
        views.updates_decide_all,
        {"decision": "discard"},
        name="updates_discard_all",
    ),
    path(
        _I + "updates/<int:entry_id>/approve/",
        views.update_decide,
        {"decision": "approve"},
        name="update_approve",
    ),
    path(
        _I + "updates/<int:entry_id>/discard/",
        views.update_decide,
        {"decision": "discard"},
        name="update_discard",
    ),
    path(
        _I + "import-candidates/accept-all/",
        views.candidates_decide_all,
        {"decision": "accept"},
        name="candidates_accept_all",
    ),
    path(
        _I + "import-candidates/reject-all/",
        views.candidates_decide_all,
        {"decision": "reject"},
        name="candidates_reject_all",
    ),
    path(
        _I + "import-candidates/<int:candidate_id>/accept/",
        views.candidate_decide,
        {"decision": "accept"},
        name="candidate_accept",
    ),
    path(
        _I + "import-candidates/<int:candidate_id>/reject/",
        views.candidate_decide,
        {"decision": "reject"},
        name="candidate_reject",
    ),
]

urlpatterns = [
    path("webhooks/jira/<str:token>/", jira_webhook, name="jira-webhook"),
    path("", include((page_patterns, "sync"))),
]
