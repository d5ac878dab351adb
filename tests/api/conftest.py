"""Clients for the API tests: each authenticates with a real API key (Bearer)."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import api_key_create
from tests.factories import add_member, make_account, make_user, make_workspace


def bearer_client(user) -> APIClient:
    _, raw = api_key_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def owner_api(owner):
    return bearer_client(owner)


@pytest.fixture
def contributor_api(contributor):
    return bearer_client(contributor)


@pytest.fixture
def viewer_api(viewer):
    return bearer_client(viewer)


@pytest.fixture
def admin_user(account):
    return add_member(account, role=Role.ADMIN)


@pytest.fixture
def admin_api(admin_user):
    return bearer_client(admin_user)


@pytest.fixture
def other_owner(db):
    return make_user("mallory")


@pytest.fixture
def other_account(other_owner):
    return make_account(owner=other_owner, name="Other Corp")


@pytest.fixture
def other_workspace(other_account):
    return make_workspace(account=other_account, prefix="OTH", name="Other product")


@pytest.fixture
def other_api(other_owner, other_workspace):
    """The owner of another account: everything of ``account`` must be invisible to them."""
    return bearer_client(other_owner)
