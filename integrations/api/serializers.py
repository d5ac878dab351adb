"""Input and output shapes of the integration API. Output never carries a secret: only
``api_token_set`` / ``personal_access_token_set``. Writes go through integrations.services."""

from __future__ import annotations

from rest_framework import serializers

from accounts.policy import Action, account_roles, member_account_ids, role_allows
from accounts.selectors import account_list_for_user, workspace_list_for_user
from core.api import ScopedPrimaryKeyField, ServiceSerializer
from records.kinds import LinkType, RecordKind

from .. import extensions
from ..models import Direction, Integration, RecordMapping, RelationshipMapping
from ..selectors import effective_connection, effective_project


def _accounts(user):
    return account_list_for_user(user=user)


def _workspaces(user):
    return workspace_list_for_user(user=user)


def _templates(user):
    return Integration.objects.filter(is_template=True, account_id__in=member_account_ids(user))


class ConnectionOutSerializer(serializers.Serializer):
    deployment = serializers.CharField()
    base_url = serializers.CharField()
    email = serializers.CharField()
    api_token_set = serializers.BooleanField()
    personal_access_token_set = serializers.BooleanField()
    inherited = serializers.BooleanField()


class ProjectOutSerializer(serializers.Serializer):
    id = serializers.CharField()
    key = serializers.CharField()
    name = serializers.CharField()
    inherited = serializers.BooleanField()


class IntegrationSerializer(ServiceSerializer):
    """Create: ``name`` and either ``workspace`` (optionally ``template``) or ``account`` with
    ``is_template``. Update: settings, wizard step, connection (secrets write-only; a blank
    one keeps the stored secret) and project."""

    id = serializers.IntegerField(read_only=True)
    account = ScopedPrimaryKeyField(scope=_accounts, label_text="Account", required=False)
    workspace = ScopedPrimaryKeyField(
        scope=_workspaces, label_text="Workspace", required=False, allow_null=True
    )
    is_template = serializers.BooleanField(required=False, default=False)
    template = ScopedPrimaryKeyField(
        scope=_templates, label_text="Template", required=False, allow_null=True
    )
    name = serializers.CharField(max_length=200)
    provider = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    last_completed_step = serializers.IntegerField(required=False)
    auto_import = serializers.BooleanField(required=False)
    require_approval = serializers.BooleanField(required=False)
    # Connection (write).
    deployment = serializers.ChoiceField(
        choices=Integration.Deployment.choices, required=False, write_only=True
    )
    base_url = serializers.CharField(required=False, write_only=True, allow_blank=True)
    email = serializers.CharField(required=False, write_only=True, allow_blank=True)
    api_token = serializers.CharField(
        required=False, write_only=True, allow_blank=True, style={"input_type": "password"}
    )
    personal_access_token = serializers.CharField(
        required=False, write_only=True, allow_blank=True, style={"input_type": "password"}
    )
    # Project (write).
    project_key = serializers.CharField(required=False, write_only=True, max_length=40)
    project_id = serializers.CharField(required=False, write_only=True, allow_blank=True)
    project_name = serializers.CharField(required=False, write_only=True, allow_blank=True)
    # Read.
    connection = serializers.SerializerMethodField()
    project = serializers.SerializerMethodField()
    overridden_parts = serializers.ListField(child=serializers.CharField(), read_only=True)
    inherited_parts = serializers.SerializerMethodField()
    configuration_fetched_at = serializers.SerializerMethodField()
    webhook_path = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_connection(self, obj) -> ConnectionOutSerializer:
        return ConnectionOutSerializer(effective_connection(obj).__dict__).data

    def get_project(self, obj) -> ProjectOutSerializer:
        return ProjectOutSerializer(effective_project(obj).__dict__).data

    def get_inherited_parts(self, obj) -> list[str]:
        return [p for p in Integration.Part.values if obj.inherits(p)]

    def get_configuration_fetched_at(self, obj) -> str | None:
        from ..selectors import configuration_source

        fetched = configuration_source(obj).configuration_fetched_at
        return fetched.isoformat() if fetched else None

    def get_webhook_path(self, obj) -> str | None:
        # The token in the path is a credential (anyone holding it can post as Jira, signed
        # or not where no secret is set): owners and admins only, like the webhook secret.
        request = self.context.get("request")
        roles = self.context.get("_account_roles")
        if roles is None:
            roles = self.context["_account_roles"] = account_roles(getattr(request, "user", None))
        if not role_allows(roles.get(obj.account_id), Action.ADMINISTER):
            return None
        return extensions.webhook_path(obj)

    def validate(self, attrs):
        if self.instance is not None:
            for frozen in ("account", "workspace", "is_template", "template"):
                if frozen in attrs and attrs[frozen] != getattr(self.instance, frozen):
                    raise serializers.ValidationError(
                        {frozen: ["This cannot be changed after creation."]}
                    )
        return attrs


class RecordMappingOutSerializer(serializers.ModelSerializer):
    linked_to = serializers.SerializerMethodField()
    field_mapping_count = serializers.SerializerMethodField()

    class Meta:
        model = RecordMapping
        fields = [
            "id",
            "position",
            "record_kind",
            "target",
            "issue_types",
            "default_issue_type_id",
            "linked_to",
            "field_mapping_count",
        ]

    def get_linked_to(self, obj) -> list[dict]:
        return [
            {
                "parent_kind": link.parent_kind,
                "jira_field": link.jira_field,
                "jira_field_label": link.get_jira_field_display(),
                "automatic": link.automatic,
            }
            for link in obj.linked_to.all()
        ]

    def get_field_mapping_count(self, obj) -> int:
        return len(obj.field_mappings.all())


class RecordMappingInSerializer(ServiceSerializer):
    record_kind = serializers.ChoiceField(choices=RecordKind.choices, required=False)
    target = serializers.ChoiceField(choices=RecordMapping.Target.choices, required=False)
    issue_type_ids = serializers.ListField(child=serializers.CharField(), required=False)
    default_issue_type_id = serializers.CharField(required=False, allow_blank=True)


class IdsSerializer(ServiceSerializer):
    ids = serializers.ListField(child=serializers.IntegerField())


class RelationshipReorderSerializer(IdsSerializer):
    record_kind = serializers.ChoiceField(choices=RecordKind.choices)


class MoveSerializer(ServiceSerializer):
    direction = serializers.ChoiceField(choices=[("up", "up"), ("down", "down")])


class LinkedToInSerializer(ServiceSerializer):
    parent_kind = serializers.ChoiceField(choices=RecordKind.choices)
    jira_field = serializers.CharField(required=False, allow_blank=True)


class ValueMappingSerializer(ServiceSerializer):
    id = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    local_value = serializers.CharField(max_length=255, required=False)
    jira_value_id = serializers.CharField(max_length=80, required=False, allow_blank=True)
    jira_value_name = serializers.CharField(max_length=255, required=False, allow_blank=True)


class FieldMappingSerializer(ServiceSerializer):
    id = serializers.IntegerField(read_only=True)
    record_mapping = serializers.IntegerField(source="record_mapping_id", read_only=True)
    position = serializers.IntegerField(read_only=True)
    local_field = serializers.CharField(max_length=40, required=False)
    jira_field_id = serializers.CharField(max_length=80, required=False)
    jira_field_name = serializers.CharField(read_only=True)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)
    value_mappings = ValueMappingSerializer(many=True, read_only=True)


class RelationshipMappingSerializer(ServiceSerializer):
    id = serializers.IntegerField(read_only=True)
    record_kind = serializers.ChoiceField(choices=RecordKind.choices, required=False)
    position = serializers.IntegerField(read_only=True)
    link_type = serializers.ChoiceField(choices=LinkType.choices, required=False)
    jira_link_type_id = serializers.CharField(max_length=40, required=False)
    jira_link_type_name = serializers.CharField(read_only=True)
    jira_direction = serializers.ChoiceField(
        choices=RelationshipMapping.JiraDirection.choices, required=False
    )
    sync_direction = serializers.ChoiceField(
        choices=[
            (Direction.BOTH, "both"),
            (Direction.TO_JIRA, "to_jira"),
            (Direction.FROM_JIRA, "from_jira"),
        ],
        required=False,
    )


class ResetSerializer(ServiceSerializer):
    part = serializers.ChoiceField(choices=Integration.Part.choices)


class RotateSerializer(ServiceSerializer):
    rotate_secret = serializers.BooleanField(required=False, default=False)
