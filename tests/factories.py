"""Builders for test data, in one place. Each calls the real services."""

from __future__ import annotations

import itertools

from accounts.models import Account, Role, Workspace
from accounts.services import account_create, membership_set, user_create, workspace_create
from records.models import Record
from records.services import record_create

_seq = itertools.count(1)


def make_user(
    username: str | None = None, *, email: str | None = None, password: str = "pw-Secret-123"
):
    n = next(_seq)
    username = username or f"user{n}"
    return user_create(
        username=username,
        email=email or f"{username}@example.com",
        password=password,
        first_name=username.capitalize(),
    )


def make_account(*, owner=None, name: str | None = None) -> Account:
    owner = owner or make_user()
    return account_create(name=name or f"Account {next(_seq)}", owner=owner)


def add_member(account: Account, user=None, role: str = Role.CONTRIBUTOR):
    user = user or make_user()
    membership_set(account=account, user=user, role=role)
    return user


def make_workspace(
    *, account: Account | None = None, prefix: str | None = None, name: str | None = None
) -> Workspace:
    account = account or make_account()
    n = next(_seq)
    return workspace_create(account=account, name=name or f"Product {n}", prefix=prefix or f"P{n}")


def make_record(workspace: Workspace, kind: str, name: str | None = None, **fields) -> Record:
    return record_create(
        workspace=workspace, kind=kind, name=name or f"{kind} {next(_seq)}", **fields
    )
