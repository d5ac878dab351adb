"""Admin base class that keeps staff users inside their accounts.

Superusers see everything (they run the installation); any other staff user sees only rows
of accounts where they are an owner or admin, and can only point a row at objects of those
accounts: every foreign-key and many-to-many chooser (raw-id fields included, since the
choices are also what a save is validated against) is cut to them. On save, every object a
row points at must belong to one and the same account, and a user it names must be a member
there, whoever saves (superusers too).

Each admin says where its model's account is (``account_path``); that one attribute scopes
its list and every chooser that offers its model elsewhere. A ModelAdmin that is not
account-scoped (Django's users and groups, django-axes' lockouts) is for superusers only
(``restrict_unscoped_admins``, run when the apps are ready).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models

from .models import Account
from .policy import Action, roles_allowed

# A user belongs to the accounts they are a member of.
USER_ACCOUNT_PATH = "memberships__account"


def account_path_for(site: admin.AdminSite, model: type[models.Model]) -> str | None:
    """Lookup path from ``model`` to its Account, from the model's admin; None if unknown."""
    if model is get_user_model():
        return USER_ACCOUNT_PATH
    return getattr(site._registry.get(model), "account_path", None)


def account_ids_of(obj: models.Model, path: str) -> set[int]:
    """The id(s) of the account(s) ``obj`` belongs to, following ``path``."""
    if path == "pk":
        return {obj.pk}
    *steps, last = path.split("__")
    objs = [obj]
    for step in steps:
        nxt = []
        for o in objs:
            value = getattr(o, step)
            if isinstance(value, models.Manager):
                nxt.extend(value.all())
            elif value is not None:
                nxt.append(value)
        objs = nxt
    return {getattr(o, f"{last}_id") for o in objs}


class OneAccountForm(forms.ModelForm):
    """Refuses a save that would tie a row to objects of two accounts, or name a user who is
    not a member of the row's account."""

    admin_site: admin.AdminSite = admin.site
    # False where the row itself makes the user a member (Membership).
    users_must_be_members: bool = True

    def clean(self):
        cleaned = super().clean()
        model = self._meta.model
        user_model = get_user_model()
        own_path = account_path_for(self.admin_site, model)
        accounts: dict[int, str] = {}  # account id -> a field that points there
        if self.instance.pk and own_path:
            for account_id in account_ids_of(self.instance, own_path):
                accounts.setdefault(account_id, "this row")
        users: dict[str, list] = {}
        for name, value in cleaned.items():
            field = self.fields.get(name)
            if not isinstance(field, forms.ModelChoiceField) or not value:
                continue
            related = field.queryset.model
            values = list(value) if isinstance(value, models.QuerySet | list) else [value]
            if related is user_model:
                users[name] = values
                continue
            path = account_path_for(self.admin_site, related)
            if path is None:
                continue
            for v in values:
                for account_id in account_ids_of(v, path):
                    accounts.setdefault(account_id, name)
        if len(accounts) > 1:
            raise forms.ValidationError(
                "Everything this row points at must belong to one account; "
                f"{', '.join(sorted(set(accounts.values())))} belong to different accounts."
            )
        if accounts and self.users_must_be_members:
            (account_id,) = accounts
            for name, values in users.items():
                for user in values:
                    if not user.memberships.filter(account_id=account_id).exists():
                        self.add_error(name, f"{user} is not a member of this row's account.")
        return cleaned


class AccountScopedAdmin(admin.ModelAdmin):
    # Lookup path from the model to its Account, e.g. "workspace__account".
    account_path: str = "account"
    form = OneAccountForm
    users_must_be_members = True

    def _administered_accounts(self, request):
        return Account.objects.filter(
            memberships__user=request.user, memberships__role__in=roles_allowed(Action.ADMINISTER)
        )

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.account_path}__in": self._administered_accounts(request)})

    def scoped_choices(self, request, model: type[models.Model]) -> models.QuerySet | None:
        """The rows of ``model`` this user may point at (None: Django's default, all)."""
        if request.user.is_superuser:
            return None
        path = account_path_for(self.admin_site, model)
        if path is None:  # a model no admin places in an account: offer nothing
            return model._default_manager.none()
        accounts = self._administered_accounts(request)
        related_admin = self.admin_site._registry.get(model)
        ordering = related_admin.get_ordering(request) if related_admin else ()
        qs = model._default_manager.filter(**{f"{path}__in": accounts})
        if model is get_user_model():
            qs = qs.distinct()  # a user with two memberships there would be offered twice
        return qs.order_by(*ordering) if ordering else qs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            queryset = self.scoped_choices(request, db_field.related_model)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            queryset = self.scoped_choices(request, db_field.related_model)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(
            form.__name__,
            (form,),
            {"admin_site": self.admin_site, "users_must_be_members": self.users_must_be_members},
        )


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """For a ModelAdmin with no account scope: staff users who are not superusers get nothing."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request, *args) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


def restrict_unscoped_admins(site: admin.AdminSite = admin.site) -> None:
    """Make every registered ModelAdmin that is not account-scoped superuser-only."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, AccountScopedAdmin | SuperuserOnlyAdmin):
            continue
        if getattr(model_admin, "scoped_to_own_user", False):
            continue
        restricted = type(
            f"SuperuserOnly{type(model_admin).__name__}",
            (SuperuserOnlyAdmin, type(model_admin)),
            {},
        )
        site.unregister(model)
        site.register(model, restricted)
