"""Who may do what, in one place: the pages, the API and the admin all ask here.

- **Tenancy.** Everything belongs to an account; a user sees only the accounts they are a
  member of. Anything else does not exist for them: a 404, never a 403 that would confirm it.
- **Roles.** Every member may read (``Action.READ``). Changing records and acting on the
  sync (``Action.EDIT``) needs an owner, admin or contributor; integrations, workspaces and
  members (``Action.ADMINISTER``) need an owner or admin.

A refusal is Django's ``PermissionDenied`` carrying the reason; pages render it as a 403 page
and the API's exception handler as a 403 JSON error with the same words.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from .models import Membership, Role


class Action(StrEnum):
    READ = "read"
    EDIT = "edit"
    ADMINISTER = "administer"


ROLES_ALLOWED: dict[Action, frozenset[str]] = {
    Action.READ: frozenset(Role.values),
    Action.EDIT: frozenset({Role.OWNER, Role.ADMIN, Role.CONTRIBUTOR}),
    Action.ADMINISTER: frozenset({Role.OWNER, Role.ADMIN}),
}

REFUSALS: dict[Action, str] = {
    Action.READ: "You are not a member of this account.",
    Action.EDIT: (
        "Viewers can read but not change records. Ask an account admin for the contributor role."
    ),
    Action.ADMINISTER: "Only an account owner or admin can do this.",
}


def role_allows(role: str | None, action: Action) -> bool:
    """Whether a member with ``role`` (None: not a member) may do ``action``."""
    return role is not None and role in ROLES_ALLOWED[Action(action)]


def require(role: str | None, action: Action, *, refusal: str | None = None) -> None:
    """Refuse (403 with the reason) unless ``role`` allows ``action``. ``refusal`` words the
    reason for the page at hand; the decision is always this module's."""
    if not role_allows(role, action):
        raise PermissionDenied(refusal or REFUSALS[Action(action)])


def roles_allowed(action: Action) -> list[str]:
    """The roles that may do ``action``, for filters such as the admin's scoping."""
    return sorted(ROLES_ALLOWED[Action(action)])


def member_account_ids(user: AbstractBaseUser | None) -> QuerySet:
    """The ids of the user's accounts, as a subquery: filter with ``account_id__in=``.
    (An IN over a small subquery the planner hashes, not a join through memberships.)"""
    if user is None or not user.is_authenticated:
        return Membership.objects.none().values("account_id")
    return Membership.objects.filter(user=user).values("account_id")


def account_roles(user: AbstractBaseUser | None) -> dict[int, str]:
    """account id -> the user's role there, in one query."""
    if user is None or not user.is_authenticated:
        return {}
    return dict(Membership.objects.filter(user=user).values_list("account_id", "role"))


def role_in_account(*, user: AbstractBaseUser | None, account_id: int) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(user=user, account_id=account_id)
        .values_list("role", flat=True)
        .first()
    )


def require_in_account(
    *, user: AbstractBaseUser | None, account_id: int, action: Action, refusal: str | None = None
) -> None:
    require(role_in_account(user=user, account_id=account_id), action, refusal=refusal)
