from django.urls import path

from . import views

_I = "integrations/<int:pk>/"
_R = "records/<int:pk>/"

urlpatterns = [
    path(_I + "sync-log/", views.SyncLogListView.as_view(), name="sync-log-list"),
    path(
        _I + "sync-log/<int:entry_id>/retry/",
        views.SyncLogRetryView.as_view(),
        name="sync-log-retry",
    ),
    path(
        _I + "import-candidates/",
        views.ImportCandidateListView.as_view(),
        name="import-candidate-list",
    ),
    path(
        _I + "import-candidates/accept-all/",
        views.ImportCandidatesAcceptAllView.as_view(),
        name="import-candidates-accept-all",
    ),
    path(
        _I + "import-candidates/reject-all/",
        views.ImportCandidatesRejectAllView.as_view(),
        name="import-candidates-reject-all",
    ),
    path(
        _I + "import-candidates/<int:candidate_id>/accept/",
        views.ImportCandidateAcceptView.as_view(),
        name="import-candidate-accept",
    ),
    path(
        _I + "import-candidates/<int:candidate_id>/reject/",
        views.ImportCandidateRejectView.as_view(),
        name="import-candidate-reject",
    ),
    path(_I + "updates/", views.UpdateListView.as_view(), name="update-list"),
    path(
        _I + "updates/approve-all/",
        views.UpdatesApproveAllView.as_view(),
        name="updates-approve-all",
    ),
    path(
        _I + "updates/discard-all/",
        views.UpdatesDiscardAllView.as_view(),
        name="updates-discard-all",
    ),
    path(
        _I + "updates/<int:entry_id>/approve/",
        views.UpdateApproveView.as_view(),
        name="update-approve",
    ),
    path(
        _I + "updates/<int:entry_id>/discard/",
        views.UpdateDiscardView.as_view(),
        name="update-discard",
    ),
    path(_I + "send-all/", views.SendAllView.as_view(), name="integration-send-all"),
    # The webhook registered in Jira by the product (integrations' webhook/ gives URL + secret).
    path(_I + "jira-webhook/", views.JiraWebhookView.as_view(), name="integration-jira-webhook"),
    path(
        _I + "jira-webhook/register/",
        views.JiraWebhookRegisterView.as_view(),
        name="integration-jira-webhook-register",
    ),
    path(
        _I + "jira-webhook/check/",
        views.JiraWebhookCheckView.as_view(),
        name="integration-jira-webhook-check",
    ),
    path(_I + "preview/", views.IntegrationPreviewView.as_view(), name="integration-preview"),
    path(_R + "preview/", views.RecordPreviewView.as_view(), name="record-preview"),
    path("bulk-send-jobs/<int:pk>/", views.BulkSendJobView.as_view(), name="bulk-send-job"),
    path(_R + "jira-links/", views.RecordJiraLinksView.as_view(), name="record-jira-links"),
    path(_R + "send-to-jira/", views.SendToJiraView.as_view(), name="record-send-to-jira"),
    path(_R + "link-jira-issue/", views.LinkJiraIssueView.as_view(), name="record-link-jira-issue"),
]
