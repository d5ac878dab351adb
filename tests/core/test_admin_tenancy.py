"""The admin holds the tenant line: a staff user who administers one account, with every model
permission, walks every registered ModelAdmin through its real list, add and change views.
Nothing of another account may be listed, opened, offered in a chooser, or accepted on save."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import Role
from accounts.services import api_key_create
from integrations.models import FieldMapping, RecordMapping, RelationshipMapping, ValueMapping
from integrations.services.integrations import integration_create
from integrations.services.record_mappings import mappings_apply_defaults
from records.models import Record, Tag
from records.services import record_create, record_link_create
from sync.models import (
    BulkSendJob,
    ImportCandidate,
    InboundEvent,
    IssueLinkMirror,
    JiraLink,
    OutboxEntry,
    SyncLogEntry,
)
from tests.factories import add_member, make_account, make_user, make_workspace
from tests.integrations.conftest import DEMO_CONFIGURATION

pytestmark = pytest.mark.django_db

SITE = admin.site

# Where each model's account is, written out here so the test does not trust the code under
# test. A registered model missing from this table must be for superusers only.
ACCOUNT_PATHS = {
    "accounts.Account": "pk",
    "accounts.Membership": "account",
    "accounts.Workspace": "account",
    "accounts.ApiKey": "user__memberships__account",
    "auth.User": "memberships__account",
    "records.Record": "workspace__account",
    "records.RecordLink": "workspace__account",
    "records.Tag": "workspace__account",
    "integrations.Integration": "account",
    "integrations.RecordMapping": "integration__account",
    "integrations.LinkedTo": "record_mapping__integration__account",
    "integrations.FieldMapping": "record_mapping__integration__account",
    "integrations.ValueMapping": "field_mapping__record_mapping__integration__account",
    "integrations.RelationshipMapping": "integration__account",
    **{
        f"sync.{name}": "integration__account"
        for name in (
            "InboundEvent",
            "JiraLink",
            "IssueLinkMirror",
            "OutboxEntry",
            "ImportCandidate",
            "SyncLogEntry",
            "BulkSendJob",
        )
    },
}
# Shown to staff users of an account; any other registered admin is for superusers only.
STAFF_ADMINS = set(ACCOUNT_PATHS) - {"auth.User"}


def build_tenant(prefix: str) -> dict:
    """An account with a row of every model the admin shows."""
    owner = make_user(f"{prefix.lower()}-owner")
    account = make_account(owner=owner, name=f"{prefix} Corp")
    member = add_member(account, make_user(f"{prefix.lower()}-member"))
    workspace = make_workspace(account=account, prefix=prefix)
    initiative = record_create(workspace=workspace, kind="initiative", name="Initiative")
    release = record_create(workspace=workspace, kind="release", name="Release")
    epic = record_create(workspace=workspace, kind="epic", name="Epic", initiative=initiative)
    feature = record_create(
        workspace=workspace,
        kind="feature",
        name="Feature",
        epic=epic,
        release=release,
        assignee=member,
        created_by=owner,
        tags=["secret"],
    )
    record_create(workspace=workspace, kind="requirement", name="Req", feature=feature)
    link = record_link_create(source=feature, target=epic, link_type="relates_to", created_by=owner)
    integration = integration_create(
        account=account, workspace=workspace, name=f"{prefix} Jira", created_by=owner
    )
    integration.configuration = DEMO_CONFIGURATION
    integration.save()
    mappings_apply_defaults(integration=integration)
    record_mapping = RecordMapping.objects.filter(integration=integration).first()
    field_mapping = FieldMapping.objects.filter(record_mapping__integration=integration).first()
    if not ValueMapping.objects.filter(field_mapping=field_mapping).exists():
        ValueMapping.objects.create(
            field_mapping=field_mapping, local_value="a", jira_value_name="A"
        )
    if not RelationshipMapping.objects.filter(integration=integration).exists():
        RelationshipMapping.objects.create(
            integration=integration,
            record_kind=record_mapping.record_kind,
            link_type="relates_to",
            jira_link_type_id="10003",
        )
    event = InboundEvent.objects.create(
        integration=integration, delivery_id=f"{prefix}-1", event_type="jira:issue_updated", body={}
    )
    outbox = OutboxEntry.objects.create(
        integration=integration, action="create", record=feature, created_by=owner
    )
    JiraLink.objects.create(
        integration=integration, record=feature, jira_kind="issue", jira_id="1", jira_key="D-1"
    )
    IssueLinkMirror.objects.create(integration=integration, record_link=link, jira_link_id="9")
    ImportCandidate.objects.create(
        integration=integration,
        jira_id="2",
        jira_key="D-2",
        summary="s",
        record_kind="feature",
        record=feature,
        decided_by=owner,
    )
    SyncLogEntry.objects.create(
        integration=integration,
        level="info",
        action="x",
        message="m",
        record=feature,
        outbox_entry=outbox,
        inbound_event=event,
    )
    BulkSendJob.objects.create(integration=integration, created_by=owner)
    api_key_create(user=owner, name=f"{prefix} key")
    Tag.objects.get(workspace=workspace, name="secret")
    return {"account": account, "owner": owner, "member": member}


def rows_of(model, account):
    """The rows of ``model`` that belong to ``account``."""
    path = ACCOUNT_PATHS.get(model._meta.label)
    if path is None:
        return model.objects.none()
    return model.objects.filter(**{f"{path}__in": [account.pk]}).distinct()


@pytest.fixture
def walk():
    theirs = build_tenant("VIC")
    mine = build_tenant("MIN")
    staff = make_user("staffer")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(*Permission.objects.all())
    add_member(mine["account"], staff, role=Role.ADMIN)
    client = Client(raise_request_exception=False)  # a 500 is reported with the rest
    client.force_login(staff)
    return client, mine, theirs


def _post_data(form) -> dict:
    """What a browser would post for the form as rendered (the row's current values)."""
    data: dict = {}
    for name, bf in form.fields.items():
        bound = form[name]
        value = bound.value()
        widget = bf.widget.widget if isinstance(bf.widget, RelatedFieldWidgetWrapper) else bf.widget
        if isinstance(widget, forms.MultiWidget):
            parts = widget.decompress(value)
            for i, (sub, part) in enumerate(zip(widget.widgets, parts, strict=True)):
                data[f"{name}_{i}"] = sub.format_value(part) or ""
        elif isinstance(widget, forms.CheckboxInput):
            if value:
                data[name] = "on"
        elif isinstance(bf, forms.ModelMultipleChoiceField):
            data[name] = [str(v.pk if hasattr(v, "pk") else v) for v in (value or [])]
        elif value is None:
            data[name] = ""
        elif isinstance(value, datetime.date | datetime.datetime):
            data[name] = widget.format_value(value)
        else:
            data[name] = str(value)
    return data


def _relational_fields(form):
    return {
        name: field
        for name, field in form.fields.items()
        if isinstance(field, forms.ModelChoiceField)
    }


def test_every_model_admin_keeps_a_staff_user_inside_their_account(walk):
    client, mine, theirs = walk
    problems: list[str] = []
    covered = []
    for model in list(SITE._registry):
        label = model._meta.label
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        listing = client.get(base)
        foreign = list(rows_of(model, theirs["account"]))
        own = list(rows_of(model, mine["account"]))
        if label not in STAFF_ADMINS:
            # Not account-scoped: superusers only.
            if listing.status_code != 403 or client.get(f"{base}add/").status_code != 403:
                problems.append(f"{label}: an unscoped admin is open to a non-superuser")
            continue
        if listing.status_code != 200:
            problems.append(f"{label}: the list answers {listing.status_code}")
            continue
        covered.append(label)
        assert foreign, f"the fixture has no {label} of the other account"
        assert own, f"the fixture has no {label} of the staff user's account"
        html = listing.content.decode()
        for row in foreign:
            if f"{base}{row.pk}/change/" in html:
                problems.append(f"{label}: the list shows the other account's #{row.pk}")
            if client.get(f"{base}{row.pk}/change/").status_code == 200:
                problems.append(f"{label}: the other account's #{row.pk} opens")

        # The change page of one of the user's own rows, then the add page (posted with that
        # row's values, so every other field is valid and a refusal is the forged field's).
        own_values = None
        for kind, url in (("change", f"{base}{own[0].pk}/change/"), ("add", f"{base}add/")):
            page = client.get(url)
            if page.status_code != 200 or "adminform" not in page.context:
                continue
            form = page.context["adminform"].form
            for name, field in _relational_fields(form).items():
                related = field.queryset.model
                offered = set(field.queryset.values_list("pk", flat=True))
                leaked = offered & {o.pk for o in rows_of(related, theirs["account"])}
                if leaked:
                    problems.append(f"{label} {kind}: '{name}' offers the other account's {leaked}")
            if 'name="_save"' not in page.content.decode():
                continue  # read-only
            if kind == "change":
                own_values = _post_data(form)
                # A control: the form as rendered saves, so a refusal below means something.
                saved = client.post(url, own_values)
                if saved.status_code != 302:
                    errors = saved.context["adminform"].form.errors if saved.context else ""
                    problems.append(f"{label} change: the unchanged form does not save {errors}")
                    continue
            data = own_values if own_values is not None else _post_data(form)
            before = model.objects.count()
            for name, field in _relational_fields(form).items():
                related = field.queryset.model
                target = rows_of(related, theirs["account"]).first()
                if target is None:
                    continue
                forged = dict(data)
                forged[name] = (
                    [str(target.pk)]
                    if isinstance(field, forms.ModelMultipleChoiceField)
                    else str(target.pk)
                )
                response = client.post(url, forged)
                foreign = f"the other account's {related.__name__} #{target.pk} in '{name}'"
                if response.status_code >= 500:
                    problems.append(f"{label} {kind}: {foreign} answers {response.status_code}")
                elif response.status_code == 302:
                    problems.append(f"{label} {kind}: accepted {foreign}")
                elif name not in response.context["adminform"].form.errors:
                    problems.append(f"{label} {kind}: refused {foreign}, but not for that field")
            if kind == "add" and model.objects.count() != before:
                problems.append(f"{label} add: a row was created with a foreign reference")
    assert not problems, "\n".join(problems)
    assert {"records.Record", "integrations.FieldMapping", "integrations.Integration"} <= set(
        covered
    )


def _superuser_client(username):
    superuser = make_user(username)
    superuser.is_staff = superuser.is_superuser = True
    superuser.save()
    client = Client()
    client.force_login(superuser)
    return client


def test_a_record_is_not_added_through_the_admin(walk):
    """Reference numbers are allocated by the records service, so the admin does not add."""
    client, _, _ = walk
    assert client.get("/admin/records/record/add/").status_code == 403
    root = _superuser_client("root")
    assert root.get("/admin/records/record/add/").status_code == 403
    assert root.get("/admin/records/record/").status_code == 200


def test_a_superuser_adds_a_new_member_but_no_one_names_a_non_member_elsewhere(walk):
    _, mine, _ = walk
    newcomer = make_user("newcomer")
    root = _superuser_client("root3")
    added = root.post(
        "/admin/accounts/membership/add/",
        {"account": mine["account"].pk, "user": newcomer.pk, "role": Role.VIEWER},
    )
    assert added.status_code == 302
    assert newcomer.memberships.filter(account=mine["account"]).exists()
    # A user of no shared account cannot be named as an assignee, even by a superuser.
    stranger = make_user("stranger")
    record = rows_of(Record, mine["account"]).filter(kind="feature").first()
    url = f"/admin/records/record/{record.pk}/change/"
    data = _post_data(root.get(url).context["adminform"].form)
    data["assignee"] = str(stranger.pk)
    refused = root.post(url, data)
    assert refused.status_code == 200
    assert "is not a member of this row&#x27;s account" in refused.content.decode()
    record.refresh_from_db()
    assert record.assignee_id != stranger.pk


def test_a_save_that_ties_two_accounts_is_refused_even_for_a_superuser(walk):
    _, mine, theirs = walk
    root = _superuser_client("root2")
    field_mapping = rows_of(FieldMapping, mine["account"]).first()
    foreign_mapping = rows_of(RecordMapping, theirs["account"]).first()
    page = root.get(f"/admin/integrations/fieldmapping/{field_mapping.pk}/change/")
    data = _post_data(page.context["adminform"].form)
    data["record_mapping"] = str(foreign_mapping.pk)
    response = root.post(f"/admin/integrations/fieldmapping/{field_mapping.pk}/change/", data)
    assert response.status_code == 200
    assert "must belong to one account" in response.content.decode()
    field_mapping.refresh_from_db()
    assert field_mapping.record_mapping.integration.account_id == mine["account"].pk
