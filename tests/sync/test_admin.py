"""The sync admin: scoped to the staff user's accounts, read-only, webhook bodies shown."""

import pytest
from django.test import Client

from accounts.models import Role
from sync.models import InboundEvent
from tests.factories import add_member, make_account, make_user, make_workspace

from .conftest import make_enabled_integration

pytestmark = pytest.mark.django_db


def staff_admin_of(account):
    user = make_user()
    user.is_staff = True
    user.save()
    add_member(account, user, role=Role.ADMIN)
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="sync"))
    client = Client()
    client.force_login(user)
    return client


def event_for(integration, delivery_id, summary):
    return InboundEvent.objects.create(
        integration=integration,
        delivery_id=delivery_id,
        event_type="jira:issue_updated",
        body={"issue": {"key": "DEMO-1", "fields": {"summary": summary}}},
        headers={"X-Atlassian-Webhook-Identifier": delivery_id, "Authorization": "Basic c2VjcmV0"},
    )


def test_staff_see_their_accounts_events_only_read_only_with_the_body(workspace, emulator):
    mine = make_enabled_integration(workspace, emulator)
    other_ws = make_workspace(account=make_account(), prefix="OTH")
    theirs = make_enabled_integration(other_ws, emulator, name="Theirs")
    own_event = event_for(mine, "mine-1", "Our summary")
    their_event = event_for(theirs, "theirs-1", "Their summary")
    client = staff_admin_of(workspace.account)

    listing = client.get("/admin/sync/inboundevent/").content.decode()
    assert f"/admin/sync/inboundevent/{own_event.pk}/" in listing
    assert f"/admin/sync/inboundevent/{their_event.pk}/" not in listing
    assert client.get(f"/admin/sync/inboundevent/{their_event.pk}/change/").status_code == 302

    detail = client.get(f"/admin/sync/inboundevent/{own_event.pk}/change/")
    html = detail.content.decode()
    assert detail.status_code == 200
    assert "Our summary" in html
    assert "mine-1" in html
    assert "c2VjcmV0" not in html  # a header that is not Jira's delivery metadata is hidden
    assert 'name="_save"' not in html  # read-only
    assert client.get("/admin/sync/inboundevent/add/").status_code == 403


@pytest.mark.parametrize(
    "model",
    [
        "jiralink",
        "issuelinkmirror",
        "outboxentry",
        "importcandidate",
        "synclogentry",
        "bulksendjob",
    ],
)
def test_every_sync_model_has_an_admin_list(workspace, emulator, model):
    make_enabled_integration(workspace, emulator)
    client = staff_admin_of(workspace.account)
    assert client.get(f"/admin/sync/{model}/").status_code == 200
