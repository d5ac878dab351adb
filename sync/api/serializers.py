"""Representations of the sync for the REST API: the log, import candidates, updates
awaiting approval, a record's Jira links, bulk send jobs, and the commands' inputs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import ServiceSerializer

from ..models import BulkSendJob, ImportCandidate, JiraCheck, OutboxEntry, SyncLogEntry
from ..selectors import retryable_target
from ..services.linking import OVERWRITE_CHOICES
from ..services.preview import PLAN_ACTIONS


class SyncLogEntrySerializer(serializers.ModelSerializer):
    record_reference = serializers.SerializerMethodField()
    retryable = serializers.SerializerMethodField(
        help_text="True while POST .../retry/ would send the failed update or event again."
    )

    class Meta:
        model = SyncLogEntry
        fields = [
            "id",
            "level",
            "created_at",
            "record",
            "record_reference",
            "jira_key",
            "action",
            "message",
            "outbox_entry",
            "inbound_event",
            "retryable",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_record_reference(self, obj: SyncLogEntry) -> str | None:
        return obj.record.reference if obj.record_id and obj.record else None

    def get_retryable(self, obj: SyncLogEntry) -> bool:
        return retryable_target(obj) is not None


class ImportCandidateSerializer(serializers.ModelSerializer):
    record_reference = serializers.SerializerMethodField()

    class Meta:
        model = ImportCandidate
        fields = [
            "id",
            "jira_id",
            "jira_key",
            "summary",
            "record_kind",
            "status",
            "record",
            "record_reference",
            "created_at",
            "decided_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_record_reference(self, obj: ImportCandidate) -> str | None:
        return obj.record.reference if obj.record_id and obj.record else None


class OutboxEntrySerializer(serializers.ModelSerializer):
    """An outgoing change (an "Integration update")."""

    record_reference = serializers.SerializerMethodField()
    fields_changed = serializers.SerializerMethodField(
        help_text="Field names changed here; empty means everything mapped is sent."
    )

    class Meta:
        model = OutboxEntry
        fields = [
            "id",
            "action",
            "status",
            "record",
            "record_reference",
            "record_link",
            "fields_changed",
            "attempts",
            "last_error",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_record_reference(self, obj: OutboxEntry) -> str | None:
        return obj.record.reference if obj.record_id and obj.record else None

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_fields_changed(self, obj: OutboxEntry) -> list[str]:
        fields = (obj.payload or {}).get("fields") or []
        return [str(f) for f in fields] if isinstance(fields, list) else []


class JiraLinkStatusSerializer(serializers.Serializer):
    """A record in one integration: its Jira issue (or version), last sync and last error."""

    integration = serializers.IntegerField(source="integration.pk")
    integration_name = serializers.CharField(source="integration.name")
    state = serializers.ChoiceField(
        choices=["failed", "awaiting_approval", "queued", "linked", "not_linked"]
    )
    jira_kind = serializers.SerializerMethodField()
    jira_key = serializers.CharField(help_text="Empty for a Jira version.")
    jira_url = serializers.CharField()
    last_synced_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(help_text="In words; empty when the last sync went well.")
    awaiting_approval = serializers.SerializerMethodField()
    queued = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_jira_kind(self, obj) -> str | None:
        return obj.link.jira_kind if obj.link else None

    def get_awaiting_approval(self, obj) -> bool:
        return obj.awaiting_approval is not None

    def get_queued(self, obj) -> bool:
        return obj.waiting is not None


class BulkSendJobSerializer(serializers.ModelSerializer):
    done = serializers.IntegerField(read_only=True)
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = BulkSendJob
        fields = [
            "id",
            "integration",
            "status",
            "total",
            "sent",
            "failed",
            "skipped",
            "done",
            "percent",
            "summary",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class JiraCheckSerializer(serializers.ModelSerializer):
    running = serializers.SerializerMethodField()

    class Meta:
        model = JiraCheck
        fields = [
            "integration",
            "running",
            "requested_at",
            "running_since",
            "watermark",
            "last_full_at",
            "last_started_at",
            "last_finished_at",
            "last_full",
            "last_result",
            "last_summary",
            "last_checked",
            "last_drifted",
            "last_jira_calls",
        ]
        read_only_fields = fields

    def get_running(self, obj: JiraCheck) -> bool:
        return obj.running_since is not None


# -- inputs ------------------------------------------------------------------------------------


class CheckJiraInSerializer(serializers.Serializer):
    full = serializers.BooleanField(
        default=True,
        help_text="A full check (the default) reads every issue of the project and also finds "
        "issues deleted in Jira; false reads only those updated since the last check.",
    )


class SendToJiraInSerializer(ServiceSerializer):
    integration = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Id of an enabled integration of the record's workspace; may be left out "
        "when the workspace has exactly one.",
    )


class LinkJiraIssueInSerializer(ServiceSerializer):
    integration = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Id of an enabled integration of the record's workspace; may be left out "
        "when the workspace has exactly one.",
    )
    key_or_url = serializers.CharField(
        max_length=500, help_text="An issue key (DEMO-12) or its address (…/browse/DEMO-12)."
    )
    overwrite = serializers.ChoiceField(
        choices=list(OVERWRITE_CHOICES),
        default="here",
        help_text="Which side overwrites the other for the first sync: 'here' sends our "
        "values to Jira, 'jira' takes Jira's values here.",
    )


# -- answers -----------------------------------------------------------------------------------


class RetryResultSerializer(serializers.Serializer):
    retried = serializers.ChoiceField(choices=["outbox_entry", "inbound_event"])
    id = serializers.IntegerField()
    status = serializers.CharField()


class CountResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class AcceptedRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()


class AcceptAllResultSerializer(serializers.Serializer):
    accepted = AcceptedRecordSerializer(many=True)
    errors = serializers.ListField(child=serializers.CharField())


class AcceptResultSerializer(serializers.Serializer):
    candidate = ImportCandidateSerializer()
    record = AcceptedRecordSerializer()


# -- the dry-run preview (sync.services.preview) -------------------------------------------------


class PreviewChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The Jira field id (summary, fixVersions, …).")
    name = serializers.CharField(help_text="The field's name in Jira.")
    old = serializers.CharField(
        allow_null=True, help_text="Its value in Jira now, in words; null for something new."
    )
    new = serializers.CharField(help_text="The value the send would write, in words.")


class PreviewItemSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(PLAN_ACTIONS))
    record = serializers.CharField(help_text="The record's reference (a link's inward end).")
    record_id = serializers.IntegerField(allow_null=True)
    jira = serializers.CharField(help_text="The issue key or version id; empty when new.")
    title = serializers.CharField()
    other_record = serializers.CharField(help_text="An issue link's outward end.")
    issue_type = serializers.CharField(help_text="The Jira issue type of an issue to create.")
    changes = PreviewChangeSerializer(many=True)
    reason = serializers.CharField(help_text="Why it would be refused or skipped.")


# One count per kind of plan item (sync.services.preview.PLAN_ACTIONS), named as the items are.
PreviewCountsSerializer = type(
    "PreviewCountsSerializer",
    (serializers.Serializer,),
    {action: serializers.IntegerField() for action in PLAN_ACTIONS},
)


class PreviewSerializer(serializers.Serializer):
    counts = PreviewCountsSerializer()
    already_in_jira = serializers.IntegerField(
        help_text="Records already linked to Jira, which Send all leaves alone."
    )
    count = serializers.IntegerField(help_text="Items in the whole plan.")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = PreviewItemSerializer(many=True)
