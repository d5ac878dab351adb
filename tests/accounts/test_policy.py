"""One policy for pages and API: every role x action, asked through a page and through the
API, gets the same answer (accounts.policy decides both)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import policy
from accounts.models import Role
from accounts.policy import Action
from integrations.services.integrations import integration_create
from tests.factories import add_member, make_account, make_record, make_user, make_workspace

ROLES = [Role.OWNER, Role.ADMIN, Role.CONTRIBUTOR, Role.VIEWER]
ALLOWED = {
    Action.READ: {Role.OWNER, Role.ADMIN, Role.CONTRIBUTOR, Role.VIEWER},
    Action.EDIT: {Role.OWNER, Role.ADMIN, Role.CONTRIBUTOR},
    Action.ADMINISTER: {Role.OWNER, Role.ADMIN},
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", [*ROLES, None])
def test_role_allows(role, action):
    assert policy.role_allows(role, action) is (role in ALLOWED[action])
    if role in ALLOWED[action]:
        policy.require(role, action)
    else:
        with pytest.raises(policy.PermissionDenied, match=r"\w"):
            policy.require(role, action)


@pytest.fixture
def scene(db):
    account = make_account()
    workspace = make_workspace(account=account)
    feature = make_record(workspace, "feature", "Checkout")
    integration = integration_create(account=account, workspace=workspace, name="Jira")
    users = {role: add_member(account, role=role) for role in ROLES if role != Role.OWNER}
    users[Role.OWNER] = account.memberships.get(role=Role.OWNER).user
    users[None] = add_member(make_account(), make_user())  # a member of another account only
    return feature, integration, users


def _page(user, action, feature, integration) -> int:
    client = Client()
    client.force_login(user)
    if action == Action.READ:
        return client.get(reverse("record_detail", args=[feature.pk])).status_code
    if action == Action.EDIT:
        # An empty link form: refused (403) or told what is missing (400), never saved.
        return client.post(reverse("record_link_add", args=[feature.pk]), {}).status_code
    return client.post(
        reverse("integration_sync_options", args=[integration.pk]), {"auto_import": "1"}
    ).status_code


def _api(user, action, feature, integration) -> int:
    client = APIClient()
    client.force_authenticate(user)
    if action == Action.READ:
        return client.get(f"/api/v1/features/{feature.pk}/").status_code
    if action == Action.EDIT:
        return client.patch(
            f"/api/v1/features/{feature.pk}/", {"name": "Renamed"}, format="json"
        ).status_code
    return client.patch(
        f"/api/v1/integrations/{integration.pk}/", {"name": "Renamed"}, format="json"
    ).status_code


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", [*ROLES, None], ids=lambda r: r or "outsider")
def test_pages_and_api_give_the_same_answer(scene, role, action):
    feature, integration, users = scene
    user = users[role]
    page, api = _page(user, action, feature, integration), _api(user, action, feature, integration)
    if role is None:  # another account's object does not exist for them
        assert (page, api) == (404, 404)
    elif role in ALLOWED[action]:
        assert page not in (403, 404), page
        assert api not in (403, 404), api
    else:
        assert (page, api) == (403, 403)
