"""The sync engine's durable state: what arrived from Jira, what must go to Jira, which
record is which Jira issue, what the user must decide, and a log of everything done."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from integrations.models import Integration
from records.models import Record, RecordLink


class InboundEvent(models.Model):
    """A Jira webhook delivery, stored before it is answered so nothing is lost."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        STALE = "stale", "Stale (older than what was applied)"
        FAILED = "failed", "Failed"

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="inbound_events"
    )
    # X-Atlassian-Webhook-Identifier: the same on every retry of one delivery.
    delivery_id = models.CharField(max_length=128)
    event_type = models.CharField(max_length=64)
    jira_issue_id = models.CharField(max_length=40, blank=True, db_index=True)
    jira_timestamp = models.BigIntegerField(null=True, blank=True, help_text="Epoch ms.")
    body = models.JSONField()
    headers = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the sweep last handed it to the broker (see sync.services.sweeps).
    swept_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "delivery_id"], name="unique_inbound_delivery"
            )
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_status_recv")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.delivery_id}"


class JiraLink(models.Model):
    """A record here and the Jira issue (or version, for releases) it is in step with."""

    class JiraKind(models.TextChoices):
        ISSUE = "issue", "Issue"
        VERSION = "version", "Version"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="links")
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="jira_links")
    jira_kind = models.CharField(max_length=10, choices=JiraKind.choices)
    jira_id = models.CharField(max_length=40)
    jira_key = models.CharField(max_length=40, blank=True)  # versions have none
    jira_url = models.URLField(max_length=500, blank=True)
    # Epoch ms of the newest Jira event applied: older deliveries change nothing.
    last_event_timestamp = models.BigIntegerField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The values both sides last agreed on, per mapped local field: {field: [here, jira]},
    # normalized (see sync.services.snapshot). Empty for a link made before snapshots: its
    # first use takes the current values.
    snapshot = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "record"], name="unique_link_record"),
            models.UniqueConstraint(
                fields=["integration", "jira_kind", "jira_id"], name="unique_link_jira_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record.reference} = {self.jira_key or self.jira_id}"


class IssueLinkMirror(models.Model):
    """A record link here and the Jira issue link that mirrors it."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="issue_links"
    )
    record_link = models.ForeignKey(
        RecordLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="mirrors"
    )
    jira_link_id = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "jira_link_id"], name="unique_mirror_jira_link"
            ),
        ]

    def __str__(self) -> str:
        return f"record link {self.record_link_id} = Jira link {self.jira_link_id}"


class OutboxEntry(models.Model):
    """An intent to change Jira, written in the same transaction as the change here, then
    handed to a worker; a periodic sweep finds any whose hand-off was lost."""

    class Action(models.TextChoices):
        SEND_RECORD = "send_record", "Create or update in Jira"
        CREATE_LINK = "create_link", "Create issue link"
        DELETE_LINK = "delete_link", "Delete issue link"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        DISCARDED = "discarded", "Discarded"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="outbox")
    action = models.CharField(max_length=20, choices=Action.choices)
    record = models.ForeignKey(
        Record, null=True, blank=True, on_delete=models.CASCADE, related_name="outbox_entries"
    )
    record_link = models.ForeignKey(
        RecordLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Changed field names (empty: everything), or the Jira link id for a delete.
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # When a worker claimed it (None: not being sent); a claimed entry takes no more fields.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When a create was last attempted for its record: a later attempt first looks in Jira
    # for what that attempt may have made (sync.services.creates).
    create_attempted_at = models.DateTimeField(null=True, blank=True)
    # The "Send all" run it belongs to, if any (its progress counts these).
    job = models.ForeignKey(
        "BulkSendJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="entries"
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When the sweep last handed it to the broker (see sync.services.sweeps).
    swept_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_status_next")]

    def __str__(self) -> str:
        return f"{self.action} {self.record_id or self.record_link_id} ({self.status})"


class ImportCandidate(models.Model):
    """A Jira issue created under an integrated parent, waiting for a user to accept it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="import_candidates"
    )
    jira_id = models.CharField(max_length=40)
    jira_key = models.CharField(max_length=40)
    summary = models.CharField(max_length=255)
    record_kind = models.CharField(max_length=20)
    issue = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    record = models.ForeignKey(
        Record, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "jira_id"], name="unique_import_candidate"
            )
        ]

    def __str__(self) -> str:
        return f"{self.jira_key} {self.summary} ({self.status})"


class SyncLogEntry(models.Model):
    """What the sync did, for the user: every action as error, warning or info."""

    class Level(models.TextChoices):
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"
        INFO = "info", "Info"

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="sync_log")
    level = models.CharField(max_length=10, choices=Level.choices)
    record = models.ForeignKey(
        Record, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    jira_key = models.CharField(max_length=40, blank=True)
    action = models.CharField(max_length=40)
    message = models.TextField()
    outbox_entry = models.ForeignKey(
        OutboxEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inbound_event = models.ForeignKey(
        InboundEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["integration", "level", "created_at"], name="synclog_int_lvl")
        ]

    def __str__(self) -> str:
        return f"{self.level}: {self.message[:60]}"


class BulkSendJob(models.Model):
    """Send all existing records, from the wizard's Enable step: progress for the bar."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="bulk_send_jobs"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    total = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    summary = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"send all: {self.done}/{self.total} ({self.status})"

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.skipped

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))


class WebhookRegistration(models.Model):
    """The webhook this product registered in Jira for an integration (Enable step's
    "Register the webhook in Jira"): what was registered, so it can be checked, kept in step
    when the webhook URL, secret or project changes, and removed with the integration."""

    integration = models.OneToOneField(
        Integration, on_delete=models.CASCADE, related_name="webhook_registration"
    )
    # Jira's id of the webhook (the last segment of its "self" URL).
    jira_webhook_id = models.CharField(max_length=40)
    name = models.CharField(max_length=255)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    jql = models.CharField(max_length=500, blank=True)
    registered_at = models.DateTimeField()
    # Check webhook: when Jira was last asked, and what differed (empty: all in step).
    checked_at = models.DateTimeField(null=True, blank=True)
    check_problem = models.TextField(blank=True)
    # Why the last automatic re-registration (token rotated, project changed) failed.
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Jira webhook {self.jira_webhook_id} of integration {self.integration_id}"
