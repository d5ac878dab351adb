"""What the sync adds to every record of the records API: its Jira issue per integration.

Registered in records.extensions by ``SyncConfig.ready``; records never imports the sync."""

from __future__ import annotations

from rest_framework import serializers


class JiraIssueRefSerializer(serializers.Serializer):
    integration = serializers.IntegerField(source="integration_id")
    key = serializers.CharField(source="jira_key", help_text="Empty for a Jira version.")
    url = serializers.CharField(source="jira_url")
    last_synced_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()


def jira_field() -> JiraIssueRefSerializer:
    # The Jira issue (or version) of the record in each integration, read-only; record
    # lists prefetch the links in one query (the prefetch is registered beside this field).
    return JiraIssueRefSerializer(
        source="jira_links", many=True, read_only=True, help_text="Its Jira issue per integration."
    )
