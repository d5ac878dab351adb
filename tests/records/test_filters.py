"""The board and the API filter records by one definition each (records.selectors): the same
query gives the same records on both."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.api.conftest import bearer_client
from tests.factories import make_record, make_workspace

NAMES = [
    "Onboarding",
    "Checkout",
    "Lookup",
    "Avatars",
    "Wishlist",
    "Reviews",
    "Payments",
    "Invoices",
    "Coupons",
    "Shipping",
    "Returns",
]


@pytest.fixture
def features(account):
    workspace = make_workspace(account=account, prefix="APP")
    records = [make_record(workspace, "feature", name) for name in NAMES]
    records[1].tags.create(workspace=workspace, name="UX")
    return workspace, records


def _board(client, workspace, params) -> set[str]:
    html = client.get(reverse("workspace_detail", args=[workspace.pk]), params).content.decode()
    return {name for name in NAMES if name in html}


def _api(owner, workspace, params) -> set[str]:
    body = bearer_client(owner).get("/api/v1/features/", {**params, "page_size": 100}).json()
    return {r["name"] for r in body["results"] if r["workspace"] == workspace.pk}


@pytest.mark.parametrize("where", ["board", "api"])
def test_text_is_the_name_any_case_or_the_exact_reference_any_case(
    client, owner, features, where
):
    workspace, records = features
    first = records[0].reference
    assert any(r.reference.startswith(first) and r != records[0] for r in records)
    client.force_login(owner)

    def found(params):
        return _board(client, workspace, params) if where == "board" else _api(
            owner, workspace, params
        )

    # "APP-1" finds APP-1, not APP-10 and APP-11 (whose references merely start with it).
    assert found({"q": first.lower()}) == {"Onboarding"}
    assert found({"q": "CHECK"}) == {"Checkout"}
    assert found({"tag": "ux"}) == {"Checkout"}
    assert found({"tag": "Ux", "q": "out"}) == {"Checkout"}


def test_the_api_filters_by_the_boards_status_categories(owner, features):
    workspace, _ = features
    assert _api(owner, workspace, {"category": "todo"}) == set(NAMES)
    assert _api(owner, workspace, {"category": "done"}) == set()
    response = bearer_client(owner).get("/api/v1/features/", {"category": "later"})
    assert response.status_code == 400
