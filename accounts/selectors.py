from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import Account, Membership, Workspace
from .policy import member_account_ids


def account_list_for_user(*, user: AbstractBaseUser | None) -> QuerySet[Account]:
    return Account.objects.filter(pk__in=member_account_ids(user))


def workspace_list_for_user(*, user: AbstractBaseUser | None) -> QuerySet[Workspace]:
    """Every workspace of every account the user is a member of: the tenant boundary."""
    return Workspace.objects.filter(account_id__in=member_account_ids(user)).select_related(
        "account"
    )


def membership_get(*, user: AbstractBaseUser, account_id: int) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, account_id=account_id).first()
