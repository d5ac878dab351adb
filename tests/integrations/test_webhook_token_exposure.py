"""The webhook token in the webhook URL is a credential: owners and admins see it, in the API
and on the Enable page; viewers and contributors do not."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role
from tests.factories import add_member

pytestmark = pytest.mark.django_db


def _api(user):
    client = APIClient()
    client.force_login(user)
    return client


def _pages(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CONTRIBUTOR])
def test_non_admins_never_see_the_webhook_token(integration, account, role):
    member = add_member(account, role=role)
    detail = _api(member).get(f"/api/v1/integrations/{integration.pk}/")
    listing = _api(member).get("/api/v1/integrations/")
    page = _pages(member).get(reverse("integration_enable", args=[integration.pk]))
    assert detail.status_code == 200
    assert detail.json()["webhook_path"] is None
    assert page.status_code == 200
    for body in (detail.content, listing.content, page.content):
        assert integration.webhook_token.encode() not in body


def test_admins_see_the_webhook_path(integration, owner, account):
    admin = add_member(account, role=Role.ADMIN)
    for user in (owner, admin):
        body = _api(user).get(f"/api/v1/integrations/{integration.pk}/").json()
        assert body["webhook_path"] == f"/webhooks/jira/{integration.webhook_token}/"
        page = _pages(user).get(reverse("integration_enable", args=[integration.pk]))
        assert f"/webhooks/jira/{integration.webhook_token}/" in page.content.decode()
