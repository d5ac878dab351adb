from django.urls import path

from .webhooks.jira import jira_webhook

urlpatterns = [
    path("webhooks/jira/<str:token>/", jira_webhook, name="jira-webhook"),
]
