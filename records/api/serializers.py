"""Record and record link representations. One serializer class per record type, built from
the type's allowed parents (records.kinds), so each type documents exactly its own fields."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from accounts.api.serializers import workspaces_of
from accounts.api.tenancy import users_sharing_an_account
from core.api import ScopedPrimaryKeyField, ServiceModelSerializer
from records.extensions import record_api_fields
from records.kinds import LinkType, RecordKind, kind_label, parent_kinds_of
from records.models import Record, RecordLink
from records.workflows import statuses_for


def records_of(user):
    if user is None:
        return Record.objects.none()
    return Record.objects.filter(workspace__in=workspaces_of(user))


def record_url(record: Record, request) -> str:
    return reverse(f"{record.kind}-detail", kwargs={"pk": record.pk}, request=request)


class RecordSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Record
        fields = ["id", "reference", "name"]
        read_only_fields = fields


class TagListField(serializers.ListField):
    """Tags as a list of names; missing tags are created in the record's workspace."""

    child = serializers.CharField(max_length=100)

    def get_attribute(self, instance):
        return [tag.name for tag in instance.tags.all()]  # prefetched by the selector


def _parent_field(kind: str) -> ScopedPrimaryKeyField:
    return ScopedPrimaryKeyField(
        scope=records_of,
        label_text=kind_label(kind),
        required=False,
        allow_null=True,
        help_text=f"Id of the parent {kind}, in the same workspace; null for none.",
    )


def _parent_summary(kind: str) -> RecordSummarySerializer:
    return RecordSummarySerializer(source=kind, read_only=True, allow_null=True)


COMMON_FIELDS = [
    "id",
    "url",
    "reference",
    "kind",
    "workspace",
    "name",
    "description",
    "status",
    "status_label",
    "assignee",
    "assignee_name",
    "assignee_email",
    "tags",
    "start_date",
    "due_date",
    "estimate_minutes",
    "story_points",
]
TRAILING_FIELDS = ["created_by", "created_at", "updated_at"]


class RecordSerializer(ServiceModelSerializer):
    """Any record, whatever its type (read-only use: /records/)."""

    url = serializers.SerializerMethodField()
    workspace = ScopedPrimaryKeyField(
        scope=workspaces_of,
        label_text="Workspace",
        help_text="Id of a workspace of your accounts. Fixed after creation.",
    )
    description = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Rich text as HTML; anything but formatting is removed.",
    )
    status = serializers.CharField(
        required=False, max_length=40, help_text="Workflow status key; the first one by default."
    )
    status_label = serializers.CharField(read_only=True)
    assignee = ScopedPrimaryKeyField(
        scope=users_sharing_an_account,
        label_text="User",
        required=False,
        allow_null=True,
        help_text="User id of a member of the workspace's account; null for nobody.",
    )
    assignee_name = serializers.SerializerMethodField()
    assignee_email = serializers.SerializerMethodField()
    tags = TagListField(required=False, help_text="Tag names; missing tags are created.")
    estimate_minutes = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2_147_483_647
    )
    story_points = serializers.DecimalField(
        max_digits=6, decimal_places=1, required=False, allow_null=True, min_value=0
    )
    initiative = _parent_field(RecordKind.INITIATIVE)
    release = _parent_field(RecordKind.RELEASE)
    epic = _parent_field(RecordKind.EPIC)
    feature = _parent_field(RecordKind.FEATURE)
    initiative_summary = _parent_summary("initiative")
    release_summary = _parent_summary("release")
    epic_summary = _parent_summary("epic")
    feature_summary = _parent_summary("feature")

    class Meta:
        model = Record
        fields = [
            *COMMON_FIELDS,
            "release_date",
            "initiative",
            "initiative_summary",
            "release",
            "release_summary",
            "epic",
            "epic_summary",
            "feature",
            "feature_summary",
            *TRAILING_FIELDS,
        ]
        read_only_fields = ["reference", "kind", "created_by", "created_at", "updated_at"]
        # Uniqueness is the service's to check, with a message that says what to do.
        validators = []

    def get_fields(self):
        # Fields the apps above contribute (records.extensions), before the timestamps.
        fields = super().get_fields()
        names = list(fields)
        at = names.index("created_by")
        extra = record_api_fields()
        return {
            **{n: fields[n] for n in names[:at]},
            **extra,
            **{n: fields[n] for n in names[at:]},
        }

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj: Record) -> str:
        return record_url(obj, self.context.get("request"))

    def get_assignee_name(self, obj: Record) -> str | None:
        if obj.assignee is None:
            return None
        return obj.assignee.get_full_name() or obj.assignee.get_username()

    def get_assignee_email(self, obj: Record) -> str | None:
        return obj.assignee.email if obj.assignee else None

    def validate_workspace(self, workspace):
        if self.instance is not None and workspace.pk != self.instance.workspace_id:
            raise serializers.ValidationError("A record cannot move to another workspace.")
        return workspace


def _record_serializer_for(kind: str) -> type[RecordSerializer]:
    """The serializer of one record type: its own parents, a release date for releases."""
    fields = list(COMMON_FIELDS)
    if kind == RecordKind.RELEASE:
        fields.append("release_date")
    for parent in parent_kinds_of(kind):
        fields += [str(parent), f"{parent}_summary"]
    fields += TRAILING_FIELDS
    statuses = ", ".join(s.key for s in statuses_for(kind))
    meta = type("Meta", (RecordSerializer.Meta,), {"fields": fields})
    attrs = {
        "Meta": meta,
        "__doc__": f"A {kind_label(kind).lower()}. Statuses: {statuses}.",
    }
    if kind == RecordKind.REQUIREMENT:
        # A requirement cannot exist without its feature.
        attrs["feature"] = ScopedPrimaryKeyField(
            scope=records_of,
            label_text="Feature",
            help_text="Id of the feature the requirement belongs to (required).",
        )
    return type(f"{kind_label(kind)}Serializer", (RecordSerializer,), attrs)


RECORD_SERIALIZERS: dict[str, type[RecordSerializer]] = {
    kind: _record_serializer_for(kind) for kind in RecordKind.values
}


class RecordLinkSerializer(ServiceModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="recordlink-detail")
    source = ScopedPrimaryKeyField(
        scope=records_of, label_text="Record", help_text="Id of the record the link reads from."
    )
    target = ScopedPrimaryKeyField(
        scope=records_of,
        label_text="Record",
        help_text="Id of the linked record, in the same workspace.",
    )
    source_summary = RecordSummarySerializer(source="source", read_only=True)
    target_summary = RecordSummarySerializer(source="target", read_only=True)
    link_type = serializers.ChoiceField(
        choices=LinkType.choices,
        error_messages={
            "invalid_choice": '"{input}" is not a link type. Use one of: '
            + ", ".join(LinkType.values)
            + "."
        },
        help_text="Reads 'source <outward name> target', e.g. A blocks B.",
    )
    outward_name = serializers.CharField(read_only=True)
    inward_name = serializers.CharField(read_only=True)

    class Meta:
        model = RecordLink
        fields = [
            "id",
            "url",
            "workspace",
            "source",
            "source_summary",
            "target",
            "target_summary",
            "link_type",
            "outward_name",
            "inward_name",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["workspace", "created_by", "created_at"]
        # Uniqueness is the service's to check, with a message that says what to do.
        validators = []
