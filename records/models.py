"""Roadmap records: one table for the five types, since they share every field, links and
sync state; the type decides which parent foreign keys may be set (see ``records.kinds``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from accounts.models import Workspace

from .kinds import LinkType, RecordKind, link_name
from .workflows import status_label


class Tag(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="unique_tag_name_ci")
        ]

    def __str__(self) -> str:
        return self.name


class Record(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=20, choices=RecordKind.choices)
    # Sequence number within (workspace, kind), or within the feature for requirements.
    number = models.PositiveIntegerField()
    reference = models.CharField(max_length=40)

    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, help_text="Sanitised HTML.")
    status = models.CharField(max_length=40)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_records",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="records")
    start_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    release_date = models.DateField(null=True, blank=True, help_text="Releases only.")
    estimate_minutes = models.PositiveIntegerField(null=True, blank=True)
    story_points = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)

    # Parents: which may be set depends on ``kind`` (records.kinds.PARENT_CHILD_RELATIONSHIPS).
    initiative = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="initiative_children",
        limit_choices_to={"kind": RecordKind.INITIATIVE},
    )
    release = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="release_children",
        limit_choices_to={"kind": RecordKind.RELEASE},
    )
    epic = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="epic_children",
        limit_choices_to={"kind": RecordKind.EPIC},
    )
    # A requirement cannot exist without its feature: deleting the feature deletes them.
    feature = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="requirements",
        limit_choices_to={"kind": RecordKind.FEATURE},
    )
    next_requirement_number = models.PositiveIntegerField(default=1)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_records",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace_id", "kind", "number", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "reference"], name="unique_record_reference"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind=RecordKind.REQUIREMENT) | models.Q(feature__isnull=False),
                name="requirement_has_feature",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "kind", "number"], name="record_ws_kind_num"),
            models.Index(fields=["workspace", "kind", "status"], name="record_ws_kind_status"),
            # The workspace page: a release's features in number order, and (with the epic
            # carried along, PostgreSQL) its counts per epic from the index alone.
            models.Index(
                fields=["release", "kind", "number"], include=["epic"], name="record_rel_kind_num"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.name}"

    @property
    def status_label(self) -> str:
        return status_label(self.kind, self.status)

    @property
    def kind_label(self) -> str:
        return RecordKind(self.kind).label


class RecordLink(models.Model):
    """A link between two records of one workspace, outside the hierarchy.

    Reads "source <link type> target" (e.g. A Blocks B); from the target's side it reads with
    the inverse name (B Is blocked by A).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="links")
    source = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="outgoing_links")
    target = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="incoming_links")
    link_type = models.CharField(max_length=20, choices=LinkType.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "link_type"], name="unique_record_link"
            ),
            models.CheckConstraint(
                condition=~models.Q(source=models.F("target")), name="record_link_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source.reference} {self.outward_name} {self.target.reference}"

    @property
    def outward_name(self) -> str:
        return link_name(self.link_type)

    @property
    def inward_name(self) -> str:
        return link_name(self.link_type, inward=True)
