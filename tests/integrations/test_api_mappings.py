"""The mapping's four ordered child resources share one shape (integrations.api.mappings):
each case fills in where its collection is and how it is reordered; the same test then
checks listing, reordering, the roles and tenant isolation, and deleting, for all four."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from accounts.models import Role
from integrations.services.record_mappings import mappings_apply_defaults
from tests.factories import add_member, make_account, make_user

from .test_api import client_for


@dataclass
class Case:
    name: str
    collection: Callable[[str, dict], str]  # base, ids -> collection URL
    reorder: Callable[[str, dict], str]
    detail: Callable[[str, int], str]
    reorder_extra: dict
    deleted_status: int


def _ids(integration):
    feature = integration.record_mappings.get(record_kind="feature")
    status = feature.field_mappings.get(local_field="status")
    return {"rm": feature.pk, "fm": status.pk}


CASES = [
    Case(
        "record mappings",
        lambda b, i: f"{b}/record-mappings/",
        lambda b, i: f"{b}/record-mappings/reorder/",
        lambda b, pk: f"{b}/record-mappings/{pk}/",
        {},
        200,
    ),
    Case(
        "field mappings",
        lambda b, i: f"{b}/field-mappings/?record_mapping={i['rm']}",
        lambda b, i: f"{b}/record-mappings/{i['rm']}/field-mappings/reorder/",
        lambda b, pk: f"{b}/field-mappings/{pk}/",
        {},
        204,
    ),
    Case(
        "value mappings",
        lambda b, i: f"{b}/field-mappings/{i['fm']}/value-mappings/",
        lambda b, i: f"{b}/field-mappings/{i['fm']}/value-mappings/reorder/",
        lambda b, pk: f"{b}/value-mappings/{pk}/",
        {},
        204,
    ),
    Case(
        "relationship mappings",
        lambda b, i: f"{b}/relationship-mappings/?record_kind=feature",
        lambda b, i: f"{b}/relationship-mappings/reorder/",
        lambda b, pk: f"{b}/relationship-mappings/{pk}/",
        {"record_kind": "feature"},
        204,
    ),
]


@pytest.fixture
def mapped(integration):
    # The recommended defaults map every record link type, so each resource has rows to order.
    mappings_apply_defaults(integration=integration)
    return integration


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_one_ordered_shape(case, mapped, owner, account):
    base = f"/api/v1/integrations/{mapped.pk}"
    ids = _ids(mapped)
    api = client_for(owner)

    def listed():
        response = api.get(case.collection(base, ids))
        assert response.status_code == 200
        return [item["id"] for item in response.json()]

    before = listed()
    assert len(before) >= 2, before
    reversed_ids = list(reversed(before))

    # Viewers read but change nothing; another account's user finds nothing.
    viewer = client_for(add_member(account, role=Role.VIEWER))
    assert viewer.get(case.collection(base, ids)).status_code == 200
    body = {"ids": reversed_ids, **case.reorder_extra}
    assert viewer.post(case.reorder(base, ids), body, format="json").status_code == 403
    assert viewer.delete(case.detail(base, before[0])).status_code == 403
    stranger = make_user()
    make_account(owner=stranger)
    outsider = client_for(stranger)
    assert outsider.get(case.collection(base, ids)).status_code == 404
    assert outsider.post(case.reorder(base, ids), body, format="json").status_code == 404
    assert listed() == before

    # Reorder: the list comes back in the new order.
    assert api.post(case.reorder(base, ids), body, format="json").status_code == 200
    ids = _ids(mapped)  # a row keeps its id; so do its children
    assert listed() == reversed_ids

    # An id missing from the new order is refused, naming the field.
    bad = api.post(case.reorder(base, ids), {**body, "ids": reversed_ids[:1]}, format="json")
    assert bad.status_code == 400
    assert "ids" in bad.json()["error"]["fields"]

    # Delete one; it is gone from the list and its URL.
    last = reversed_ids[-1]
    assert api.delete(case.detail(base, last)).status_code == case.deleted_status
    assert last not in listed()
    assert api.delete(case.detail(base, last)).status_code in (400, 404)
