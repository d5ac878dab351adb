"""Integrations and their mappings (SPEC.md "Integrations" and "The wizard").

An integration connects one workspace to one Jira project, or is an account-level template
that workspace integrations inherit. Inheritance is copy-on-write per *part*: a workspace
integration reads a part (connection, project, record mappings, relationship mappings) from
its template until it changes that part, which copies it and records the part in
``overridden_parts``; later template changes then stop reaching that part only.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from accounts.models import Account, Workspace
from records.kinds import LinkType, RecordKind

from . import crypto


def new_webhook_token() -> str:
    return secrets.token_urlsafe(32)


class Integration(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        ENABLED = "enabled", "Enabled"
        DISABLED = "disabled", "Disabled"

    class Step(models.IntegerChoices):
        """Wizard steps; ``last_completed_step`` holds the highest one saved."""

        NONE = 0, "Not started"
        NAME = 1, "Name"
        CONNECT = 2, "Connect"
        PROJECT = 3, "Project"
        MAPPINGS = 4, "Mappings"
        ENABLE = 5, "Enable"

    class Deployment(models.TextChoices):
        CLOUD = "cloud", "Jira Cloud"
        DATA_CENTER = "data_center", "Jira Data Center"

    class Part(models.TextChoices):
        CONNECTION = "connection", "Connection"
        PROJECT = "project", "Project"
        RECORD_MAPPINGS = "record_mappings", "Record and field mappings"
        RELATIONSHIP_MAPPINGS = "relationship_mappings", "Record link mappings"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="integrations")
    # Null for an account template; set for a workspace integration.
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="integrations"
    )
    is_template = models.BooleanField(default=False)
    template = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="derived_integrations",
        limit_choices_to={"is_template": True},
    )
    name = models.CharField(max_length=200)
    provider = models.CharField(max_length=20, default="jira")

    # Connection. Secrets are Fernet-encrypted (integrations.crypto); never returned or logged.
    deployment = models.CharField(
        max_length=20, choices=Deployment.choices, default=Deployment.CLOUD
    )
    base_url = models.URLField(blank=True)
    email = models.EmailField(blank=True)
    api_token_encrypted = models.TextField(blank=True)
    personal_access_token_encrypted = models.TextField(blank=True)

    # Project.
    project_id = models.CharField(max_length=40, blank=True)
    project_key = models.CharField(max_length=40, blank=True)
    project_name = models.CharField(max_length=255, blank=True)

    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    last_completed_step = models.PositiveSmallIntegerField(choices=Step.choices, default=Step.NONE)

    # What Reload configuration fetched (integrations.providers.jira.configuration shape).
    configuration = models.JSONField(default=dict, blank=True)
    configuration_fetched_at = models.DateTimeField(null=True, blank=True)

    # Webhook intake: the token names the integration in the URL; the secret signs bodies.
    webhook_token = models.CharField(max_length=64, unique=True, default=new_webhook_token)
    webhook_secret_encrypted = models.TextField(blank=True)

    auto_import = models.BooleanField(
        default=False, help_text="Import new Jira issues under integrated parents without asking."
    )
    require_approval = models.BooleanField(
        default=False, help_text="Hold outgoing changes in Integration updates for approval."
    )

    class ConflictPolicy(models.TextChoices):
        JIRA_WINS = "jira", "Jira's value wins"
        HERE_WINS = "here", "This side's value wins"

    # A field mapped both ways and changed on both sides since the last sync (see
    # sync.services.snapshot): which value stays. Either way the sync log shows both.
    conflict_policy = models.CharField(
        max_length=10, choices=ConflictPolicy.choices, default=ConflictPolicy.JIRA_WINS
    )
    overridden_parts = models.JSONField(default=list, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(is_template=True, workspace__isnull=True)
                    | models.Q(is_template=False, workspace__isnull=False)
                ),
                name="integration_template_xor_workspace",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    # Secrets: write-only properties keep the ciphertext out of every caller's hands.
    def set_api_token(self, value: str) -> None:
        self.api_token_encrypted = crypto.encrypt(value)

    def get_api_token(self) -> str:
        return crypto.decrypt(self.api_token_encrypted)

    def set_personal_access_token(self, value: str) -> None:
        self.personal_access_token_encrypted = crypto.encrypt(value)

    def get_personal_access_token(self) -> str:
        return crypto.decrypt(self.personal_access_token_encrypted)

    def set_webhook_secret(self, value: str) -> None:
        self.webhook_secret_encrypted = crypto.encrypt(value)

    def get_webhook_secret(self) -> str:
        return crypto.decrypt(self.webhook_secret_encrypted)

    def inherits(self, part: str) -> bool:
        return self.template_id is not None and part not in self.overridden_parts


class RecordMapping(models.Model):
    """One row of the record mappings table: a record type here -> what it becomes in Jira."""

    class Target(models.TextChoices):
        ISSUE_TYPE = "issue_type", "Jira issue type"
        VERSION = "version", "Jira versions"

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="record_mappings"
    )
    position = models.PositiveIntegerField()
    record_kind = models.CharField(max_length=20, choices=RecordKind.choices)
    target = models.CharField(max_length=20, choices=Target.choices, default=Target.ISSUE_TYPE)
    # [{"id": "10001", "name": "Story"}, ...]: a record type may map to several issue types.
    issue_types = models.JSONField(default=list, blank=True)
    # The one used for bulk sends and new records.
    default_issue_type_id = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["integration_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "record_kind"], name="unique_record_mapping_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_record_kind_display()} -> {self.target_label}"

    @property
    def target_label(self) -> str:
        if self.target == self.Target.VERSION:
            return "Jira versions"
        return ", ".join(t.get("name", t.get("id", "?")) for t in self.issue_types) or "(none)"

    @property
    def default_issue_type_name(self) -> str:
        for issue_type in self.issue_types:
            if issue_type.get("id") == self.default_issue_type_id:
                return issue_type.get("name", "")
        return ""


class LinkedTo(models.Model):
    """A row's parent relationship: its record type's parent row above it, and the Jira field
    that carries the relationship."""

    class JiraField(models.TextChoices):
        FIX_VERSIONS = "fix_versions", "Fix versions"
        PARENT = "parent", "Parent"
        EPIC_LINK = "epic_link", "Epic link"
        SUBTASK_PARENT = "subtask_parent", "Sub-task parent"

    record_mapping = models.ForeignKey(
        RecordMapping, on_delete=models.CASCADE, related_name="linked_to"
    )
    parent_kind = models.CharField(max_length=20, choices=RecordKind.choices)
    jira_field = models.CharField(max_length=20, choices=JiraField.choices)
    position = models.PositiveIntegerField(default=0)
    # True when the rule set it (parent row was above); False when a user added it by hand.
    automatic = models.BooleanField(default=False)

    class Meta:
        ordering = ["record_mapping_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record_mapping", "parent_kind"], name="unique_linked_to_parent"
            )
        ]

    def __str__(self) -> str:
        return f"Linked to {self.get_parent_kind_display()} via {self.get_jira_field_display()}"


class Direction(models.TextChoices):
    TO_JIRA = "to_jira", "To Jira"
    FROM_JIRA = "from_jira", "From Jira"
    BOTH = "both", "Both ways"
    TO_JIRA_ONCE = "to_jira_once", "To Jira once (on create)"


class FieldMapping(models.Model):
    record_mapping = models.ForeignKey(
        RecordMapping, on_delete=models.CASCADE, related_name="field_mappings"
    )
    position = models.PositiveIntegerField(default=0)
    # A key of integrations.fields.LOCAL_FIELDS (name, description, status, ...).
    local_field = models.CharField(max_length=40)
    jira_field_id = models.CharField(max_length=80)
    jira_field_name = models.CharField(max_length=255, blank=True)
    direction = models.CharField(max_length=20, choices=Direction.choices, default=Direction.BOTH)

    class Meta:
        ordering = ["record_mapping_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record_mapping", "local_field", "jira_field_id"],
                name="unique_field_mapping",
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_field} {self.direction} {self.jira_field_id}"

    @property
    def sends_to_jira(self) -> bool:
        return self.direction in (Direction.TO_JIRA, Direction.BOTH, Direction.TO_JIRA_ONCE)

    @property
    def receives_from_jira(self) -> bool:
        return self.direction in (Direction.FROM_JIRA, Direction.BOTH)


class ValueMapping(models.Model):
    """A pair of values for a status, choice-list or tag field ("In development" <-> "In
    Progress"). Ordered: in each direction the first matching pair wins."""

    field_mapping = models.ForeignKey(
        FieldMapping, on_delete=models.CASCADE, related_name="value_mappings"
    )
    position = models.PositiveIntegerField(default=0)
    local_value = models.CharField(max_length=255)
    jira_value_id = models.CharField(max_length=80, blank=True)
    jira_value_name = models.CharField(max_length=255)

    class Meta:
        ordering = ["field_mapping_id", "position", "id"]

    def __str__(self) -> str:
        return f"{self.local_value} <-> {self.jira_value_name}"


class RelationshipMapping(models.Model):
    """A record link type here <-> a Jira issue link type, for one record type. Ordered: in
    each direction the first matching pair wins (SPEC.md "Record relationships")."""

    class JiraDirection(models.TextChoices):
        OUTWARD = "outward", "Outward (this record is the link's source)"
        INWARD = "inward", "Inward (this record is the link's destination)"

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="relationship_mappings"
    )
    record_kind = models.CharField(max_length=20, choices=RecordKind.choices)
    position = models.PositiveIntegerField(default=0)
    link_type = models.CharField(max_length=20, choices=LinkType.choices)
    jira_link_type_id = models.CharField(max_length=40)
    jira_link_type_name = models.CharField(max_length=255, blank=True)
    jira_direction = models.CharField(
        max_length=10, choices=JiraDirection.choices, default=JiraDirection.OUTWARD
    )
    sync_direction = models.CharField(
        max_length=20,
        choices=[
            (Direction.BOTH, "Both ways"),
            (Direction.TO_JIRA, "To Jira"),
            (Direction.FROM_JIRA, "From Jira"),
        ],
        default=Direction.BOTH,
    )

    class Meta:
        ordering = ["integration_id", "record_kind", "position", "id"]

    def __str__(self) -> str:
        return f"{self.record_kind}: {self.link_type} <-> {self.jira_link_type_name}"
