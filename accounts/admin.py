from django.contrib import admin

from .admin_scoping import AccountScopedAdmin
from .models import Account, ApiKey, Membership, Workspace


@admin.register(Account)
class AccountAdmin(AccountScopedAdmin):
    account_path = "pk"
    list_display = ("name", "created_at")
    search_fields = ("name",)

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk__in=self._administered_accounts(request))


@admin.register(Membership)
class MembershipAdmin(AccountScopedAdmin):
    users_must_be_members = False  # this row is what makes its user a member
    list_display = ("user", "account", "role", "created_at")
    list_filter = ("role",)
    raw_id_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(AccountScopedAdmin):
    list_display = ("name", "prefix", "account", "created_at")
    search_fields = ("name", "prefix")
    readonly_fields = (
        "next_release_number",
        "next_initiative_number",
        "next_epic_number",
        "next_feature_number",
    )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are shown by name and prefix only; the hash is not even displayed. A staff user
    sees only their own keys, and a key's user cannot be changed (that would hand it to
    someone else)."""

    scoped_to_own_user = True  # see accounts.admin_scoping.restrict_unscoped_admins
    list_display = ("name", "prefix", "user", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    readonly_fields = ("user", "prefix", "created_at", "last_used_at")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(user=request.user)

    def has_add_permission(self, request):
        return False  # created in the UI or API, where the raw key is shown once
