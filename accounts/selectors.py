from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import Account, Membership, Workspace


def account_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Account]:
    return Account.objects.filter(memberships__user=user).distinct()


def workspace_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Workspace]:
    """Every workspace of every account the user is a member of: the tenant boundary."""
    if not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(account__memberships__user=user).select_related("account")


def membership_get(*, user: AbstractBaseUser, account_id: int) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, account_id=account_id).first()
