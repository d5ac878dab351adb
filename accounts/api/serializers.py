from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from accounts.models import Account, ApiKey, Membership, Role, Workspace
from accounts.selectors import account_list_for_user, workspace_list_for_user
from core.api import ScopedPrimaryKeyField, ServiceModelSerializer


def _accounts_of(user):
    return account_list_for_user(user=user) if user else Account.objects.none()


def workspaces_of(user):
    return workspace_list_for_user(user=user) if user else Workspace.objects.none()


class WorkspaceSerializer(ServiceModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="workspace-detail")
    account = ScopedPrimaryKeyField(
        scope=_accounts_of,
        label_text="Account",
        help_text="Id of one of your accounts (see /api/v1/me/). Fixed after creation.",
    )
    account_name = serializers.CharField(source="account.name", read_only=True)
    prefix = serializers.CharField(
        max_length=10,
        help_text="Reference prefix, e.g. APP (2-10 capital letters or digits). "
        "Fixed after creation: record references carry it.",
    )
    description = serializers.CharField(required=False, allow_blank=True, default="")

    class Meta:
        model = Workspace
        fields = [
            "id",
            "url",
            "account",
            "account_name",
            "name",
            "prefix",
            "description",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness is the service's to check, with a message that says what to do.
        validators = []

    def validate(self, attrs):
        workspace = self.instance
        if workspace is not None:
            # Checked here rather than in the service: the service has no way to be asked.
            account = attrs.get("account")
            if account is not None and account.pk != workspace.account_id:
                raise serializers.ValidationError(
                    {"account": "A workspace cannot move to another account."}
                )
            prefix = attrs.get("prefix")
            if prefix is not None and prefix.strip().upper() != workspace.prefix:
                raise serializers.ValidationError(
                    {
                        "prefix": f"The prefix is fixed once the workspace exists (it is "
                        f"{workspace.prefix}): record references carry it."
                    }
                )
        return attrs


class ApiKeySerializer(ServiceModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="apikey-detail")
    name = serializers.CharField(
        max_length=100, help_text="What the key is for, e.g. 'CI pipeline'."
    )
    revoked = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "url",
            "name",
            "prefix",
            "created_at",
            "last_used_at",
            "revoked_at",
            "revoked",
        ]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]

    def get_revoked(self, obj: ApiKey) -> bool:
        return not obj.is_active


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(
        source="raw_key",
        read_only=True,
        help_text="The key itself. Shown in this response only: store it now.",
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class MembershipSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="account.id", read_only=True)
    name = serializers.CharField(source="account.name", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    can_edit_records = serializers.BooleanField(read_only=True)
    can_administer = serializers.BooleanField(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "name", "role", "can_edit_records", "can_administer"]


class MeSerializer(serializers.ModelSerializer):
    accounts = MembershipSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "accounts"]
        read_only_fields = fields
