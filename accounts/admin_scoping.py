"""Admin base class that keeps staff users inside their accounts.

Superusers see everything (they run the installation); any other staff user sees only rows
of accounts where they are an owner or admin.
"""

from django.contrib import admin

from .models import Account, Workspace
from .policy import Action, roles_allowed


class AccountScopedAdmin(admin.ModelAdmin):
    # Lookup path from the model to its Account, e.g. "workspace__account".
    account_path: str = "account"

    def _administered_accounts(self, request):
        return Account.objects.filter(
            memberships__user=request.user, memberships__role__in=roles_allowed(Action.ADMINISTER)
        )

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.account_path}__in": self._administered_accounts(request)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if request.user.is_superuser or formfield is None:
            return formfield
        model = db_field.related_model
        accounts = self._administered_accounts(request)
        if model is Account:
            formfield.queryset = accounts
        elif model is Workspace:
            formfield.queryset = Workspace.objects.filter(account__in=accounts)
        elif hasattr(model, "workspace"):
            formfield.queryset = model.objects.filter(workspace__account__in=accounts)
        return formfield
