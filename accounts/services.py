from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import ApplicationError, NotFoundError

from .models import Account, ApiKey, Membership, Role, Workspace, prefix_validator

API_KEY_PREFIX = "rjs_"


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def account_create(*, name: str, owner: AbstractBaseUser) -> Account:
    account = Account.objects.create(name=name)
    Membership.objects.create(account=account, user=owner, role=Role.OWNER)
    return account


def membership_set(*, account: Account, user: AbstractBaseUser, role: str) -> Membership:
    if role not in Role.values:
        raise ApplicationError(
            f"'{role}' is not a role. Use one of: {', '.join(Role.values)}.", field="role"
        )
    membership, _ = Membership.objects.update_or_create(
        account=account, user=user, defaults={"role": role}
    )
    return membership


def workspace_create(
    *, account: Account, name: str, prefix: str, description: str = ""
) -> Workspace:
    prefix = (prefix or "").strip().upper()
    name = (name or "").strip()
    if not name:
        raise ApplicationError("A workspace needs a name.", field="name")
    try:
        prefix_validator(prefix)
    except Exception as exc:  # django ValidationError: reword with the field
        raise ApplicationError(str(exc.messages[0]), field="prefix") from exc
    if Workspace.objects.filter(account=account, prefix=prefix).exists():
        raise ApplicationError(
            f"The prefix {prefix} is already used by another workspace in this account.",
            field="prefix",
        )
    try:
        with transaction.atomic():
            return Workspace.objects.create(
                account=account, name=name, prefix=prefix, description=description
            )
    except IntegrityError as exc:
        raise ApplicationError(
            f"The prefix {prefix} is already used by another workspace in this account.",
            field="prefix",
        ) from exc


def workspace_update(
    *, workspace: Workspace, name: str | None = None, description: str | None = None
) -> Workspace:
    """The prefix is fixed once records carry it: references must not change under people."""
    if name is not None:
        if not name.strip():
            raise ApplicationError("A workspace needs a name.", field="name")
        workspace.name = name.strip()
    if description is not None:
        workspace.description = description
    workspace.save()
    return workspace


def api_key_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiKey, str]:
    """Create a key; returns it with the raw secret, which is never retrievable again."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the key a name, e.g. where it will be used.", field="name")
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        user=user,
        name=name[:100],
        prefix=raw[: len(API_KEY_PREFIX) + 6],
        key_hash=hash_api_key(raw),
    )
    return key, raw


def api_key_revoke(*, user: AbstractBaseUser, key_id: int) -> ApiKey:
    key = ApiKey.objects.filter(user=user, id=key_id).first()
    if key is None:
        raise NotFoundError("No such API key.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def user_create(
    *, username: str, email: str, password: str, first_name: str = "", last_name: str = ""
):
    user_model = get_user_model()
    return user_model.objects.create_user(
        username=username,
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
    )
