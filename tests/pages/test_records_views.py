import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from records.models import Record, RecordLink
from records.selectors import (
    BOARD_FEATURES_PER_RELEASE as CAP,
)
from records.selectors import (
    BOARD_RELEASES_PER_PAGE as RELEASES_PER_PAGE,
)
from records.selectors import (
    LINK_TARGET_SUGGESTIONS,
    RECORD_CHILDREN_SHOWN,
)
from records.services import record_link_create
from tests.factories import add_member, make_account, make_record, make_workspace


@pytest.fixture
def member_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def roadmap(workspace, owner):
    release = make_record(workspace, "release", "Spring", release_date="2026-04-01")
    late = make_record(workspace, "release", "Autumn", release_date="2026-10-01")
    initiative = make_record(workspace, "initiative", "Grow")
    epic = make_record(workspace, "epic", "Checkout", release=release, initiative=initiative)
    feature = make_record(
        workspace, "feature", "Pay by card", release=release, epic=epic, tags=["payments"]
    )
    loose = make_record(workspace, "feature", "Dark mode", tags=["ux"])
    requirement = make_record(workspace, "requirement", "PCI scope", feature=feature)
    return {
        "release": release,
        "late": late,
        "initiative": initiative,
        "epic": epic,
        "feature": feature,
        "loose": loose,
        "requirement": requirement,
    }


@pytest.fixture
def other_workspace():
    return make_workspace(account=make_account(name="Rival"), prefix="RIV")


# --- Access ----------------------------------------------------------------------------------


def test_every_page_requires_login(client, workspace, roadmap):
    urls = [
        reverse("home"),
        reverse("workspace_detail", args=[workspace.pk]),
        reverse("record_detail", args=[roadmap["feature"].pk]),
        reverse("record_new", args=[workspace.pk, "feature"]),
        reverse("record_edit", args=[roadmap["feature"].pk]),
        reverse("api_keys"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login")), url


def test_home_lands_on_the_first_workspace(member_client, workspace):
    response = member_client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("workspace_detail", args=[workspace.pk])


def test_home_without_workspace_lists_none_and_says_what_to_do(client, db):
    user = add_member(make_account())
    client.force_login(user)
    response = client.get(reverse("home"), follow=True)
    assert response.status_code == 200
    assert b"No workspace yet" in response.content


def test_another_accounts_workspace_and_records_are_404(member_client, other_workspace):
    record = make_record(other_workspace, "feature", "Secret plan")
    assert (
        member_client.get(reverse("workspace_detail", args=[other_workspace.pk])).status_code == 404
    )
    assert member_client.get(reverse("record_detail", args=[record.pk])).status_code == 404
    assert member_client.get(reverse("record_edit", args=[record.pk])).status_code == 404
    response = member_client.post(
        reverse("record_new", args=[other_workspace.pk, "feature"]), {"name": "x"}
    )
    assert response.status_code == 404
    response = member_client.post(reverse("record_delete", args=[record.pk]))
    assert response.status_code == 404
    assert Record.objects.filter(pk=record.pk).exists()


def test_viewer_sees_pages_without_edit_buttons(viewer_client, workspace, roadmap):
    page = viewer_client.get(reverse("workspace_detail", args=[workspace.pk]))
    assert page.status_code == 200
    assert b"Pay by card" in page.content
    assert b"New feature" not in page.content
    detail = viewer_client.get(reverse("record_detail", args=[roadmap["feature"].pk]))
    assert detail.status_code == 200
    assert reverse("record_edit", args=[roadmap["feature"].pk]).encode() not in detail.content
    assert b"Add link" not in detail.content


def test_viewer_gets_403_on_every_post(viewer_client, workspace, roadmap):
    feature = roadmap["feature"]
    posts = [
        (
            reverse("record_new", args=[workspace.pk, "feature"]),
            {"name": "Nope", "status": "not_started"},
        ),
        (reverse("record_edit", args=[feature.pk]), {"name": "Renamed", "status": "not_started"}),
        (reverse("record_delete", args=[feature.pk]), {}),
        (reverse("record_link_add", args=[feature.pk]), {"link": "blocks", "target": "APP-2"}),
    ]
    for url, data in posts:
        assert viewer_client.post(url, data).status_code == 403, url
    feature.refresh_from_db()
    assert feature.name == "Pay by card"
    assert not Record.objects.filter(name="Nope").exists()
    assert not RecordLink.objects.exists()


def test_csrf_is_enforced_on_forms(client, owner, workspace):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    response = csrf_client.post(
        reverse("record_new", args=[workspace.pk, "feature"]),
        {"name": "No token", "status": "not_started"},
    )
    assert response.status_code == 403
    assert not Record.objects.filter(name="No token").exists()


# --- Workspace page ----------------------------------------------------------------------------


def test_workspace_page_groups_releases_by_date_then_unscheduled_then_initiatives(
    member_client, workspace, roadmap
):
    response = member_client.get(reverse("workspace_detail", args=[workspace.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    order = [
        html.index(s)
        for s in ("Spring", "Pay by card", "Autumn", "Unscheduled", "Dark mode", "Grow")
    ]
    assert order == sorted(order)
    assert "PCI scope" not in html  # requirements show on their feature's page
    counts = {kind: n for kind, _, n in response.context["counts"]}
    assert counts == {"initiative": 1, "release": 2, "epic": 1, "feature": 2, "requirement": 1}
    assert 'class="badge badge-todo"' in html


def test_workspace_page_filters_by_tag_status_and_text(member_client, workspace, roadmap):
    url = reverse("workspace_detail", args=[workspace.pk])
    html = member_client.get(url, {"tag": "ux"}).content.decode()
    assert "Dark mode" in html
    assert "Pay by card" not in html
    html = member_client.get(url, {"q": "card"}).content.decode()
    assert "Pay by card" in html
    assert "Dark mode" not in html
    html = member_client.get(url, {"status": "done"}).content.decode()
    assert "Pay by card" not in html
    assert "No release, epic or feature matches these filters." in html


def _workspace_page_queries(client, workspace, n_features):
    """Query count of the workspace page, with most features in one release (beyond the cap)."""
    release = make_record(workspace, "release", "R")
    epic = make_record(workspace, "epic", "E", release=release)
    initiative = make_record(workspace, "initiative", "I")
    for i in range(n_features):
        make_record(
            workspace,
            "feature",
            f"F{i}",
            release=release if i % 6 else None,
            epic=epic if i % 3 else None,
            initiative=initiative if i % 5 else None,
            tags=[f"t{i % 4}"],
            assignee=workspace.account.memberships.first().user,
        )
    url = reverse("workspace_detail", args=[workspace.pk])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    shown = response.content.decode().count('class="row"') - 1  # the initiative's row
    unscheduled = (n_features + 5) // 6  # i % 6 == 0
    assert shown == min(n_features - unscheduled, CAP) + min(unscheduled, CAP)
    return len(ctx.captured_queries)


def test_workspace_page_query_count_does_not_grow_with_features(client, owner, account):
    client.force_login(owner)
    small = make_workspace(account=account, prefix="SMALL")
    large = make_workspace(account=account, prefix="LARGE")
    assert _workspace_page_queries(client, small, 5) == _workspace_page_queries(client, large, 60)


def test_filtered_workspace_page_query_count_does_not_grow(client, owner, account):
    client.force_login(owner)
    counts = []
    for prefix, n in (("FEW", 3), ("MANY", 40)):
        ws = make_workspace(account=account, prefix=prefix)
        release = make_record(ws, "release", "R")
        for i in range(n):
            make_record(ws, "feature", f"Card {i}", release=release, tags=["pay"])
        url = reverse("workspace_detail", args=[ws.pk])
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, {"q": "card", "tag": "pay", "status": "todo"})
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


@pytest.fixture
def crowded_release(workspace):
    """A release with more features than the board shows, the last one findable."""
    release = make_record(workspace, "release", "Big", release_date="2026-05-01")
    features = [
        make_record(workspace, "feature", f"Item {i:02d}", release=release) for i in range(CAP + 5)
    ]
    from records.services import record_update

    record_update(record=features[-1], name="Needle", tags=["rare"], status="shipped")
    return release, features


def test_board_caps_features_per_release_and_links_to_the_full_list(
    member_client, workspace, crowded_release
):
    release, features = crowded_release
    url = reverse("workspace_detail", args=[workspace.pk])
    html = member_client.get(url).content.decode()
    shown = [f for f in features if f">{f.reference}<" in html]
    assert shown == features[:CAP]  # the first by number
    assert "Needle" not in html
    assert f"{CAP + 5} features" in html
    assert f'href="?release={release.pk}">Show all {CAP + 5} features</a>' in html

    full = member_client.get(url, {"release": release.pk})
    assert full.status_code == 200
    page = full.content.decode()
    assert all(f">{f.reference}<" in page for f in features)
    assert "All releases" in page
    assert "initiatives-heading" not in page


def test_full_release_list_pages_features_a_hundred_at_a_time(member_client, workspace):
    from records.models import Record as R

    release = make_record(workspace, "release", "Huge")
    first = make_record(workspace, "feature", "First", release=release)
    R.objects.bulk_create(
        R(
            workspace=workspace,
            kind="feature",
            number=first.number + i,
            reference=f"{workspace.prefix}-{first.number + i}",
            name=f"Bulk {i}",
            status="not_started",
            release=release,
        )
        for i in range(1, 105)
    )
    url = reverse("workspace_detail", args=[workspace.pk])
    page1 = member_client.get(url, {"release": release.pk})
    assert page1.context["page_obj"].paginator.count == 105
    assert len(page1.context["groups"][0].loose_features) == 100
    assert "Page 1 of 2" in page1.content.decode()
    assert f"release={release.pk}&amp;page=2" in page1.content.decode()
    page2 = member_client.get(url, {"release": release.pk, "page": 2})
    names = [f.name for f in page2.context["groups"][0].loose_features]
    assert names == [f"Bulk {i}" for i in range(100, 105)]
    # Nonsense page numbers fall back to a real page rather than failing.
    assert member_client.get(url, {"release": release.pk, "page": "x"}).status_code == 200
    assert member_client.get(url, {"release": release.pk, "page": "999"}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [{"q": "needle"}, {"tag": "RARE"}, {"status": "done"}],
    ids=["text", "tag", "status"],
)
def test_filters_run_in_sql_and_find_features_beyond_the_cap(
    member_client, workspace, crowded_release, params
):
    release, _ = crowded_release
    response = member_client.get(reverse("workspace_detail", args=[workspace.pk]), params)
    html = response.content.decode()
    assert "Needle" in html
    assert "Item 00" not in html
    (group,) = response.context["groups"]
    assert group.release == release
    assert group.feature_count == 1
    assert "Show all" not in html


def test_unscheduled_group_is_filtered_and_capped_too(member_client, workspace):
    for i in range(CAP + 2):
        make_record(workspace, "feature", f"Loose {i:02d}")
    url = reverse("workspace_detail", args=[workspace.pk])
    response = member_client.get(url)
    (group,) = response.context["groups"]
    assert group.release is None
    assert (group.shown_count, group.feature_count) == (CAP, CAP + 2)
    assert 'href="?release=none">Show all' in response.content.decode()
    full = member_client.get(url, {"release": "none"})
    assert full.context["groups"][0].shown_count == CAP + 2
    filtered = member_client.get(url, {"q": f"loose {CAP + 1}"})
    assert [f.name for f in filtered.context["groups"][0].loose_features] == [f"Loose {CAP + 1}"]


def test_release_groups_are_paginated(member_client, workspace):
    releases = [
        make_record(workspace, "release", f"Rel {i:02d}", release_date=f"2026-01-{i + 1:02d}")
        for i in range(RELEASES_PER_PAGE + 2)
    ]
    make_record(workspace, "feature", "Someday")
    url = reverse("workspace_detail", args=[workspace.pk])
    first = member_client.get(url)
    assert [g.release for g in first.context["groups"]] == releases[:RELEASES_PER_PAGE]
    assert "Someday" not in first.content.decode()  # Unscheduled comes after the last release
    assert 'href="?page=2"' in first.content.decode()
    second = member_client.get(url, {"page": 2})
    groups = second.context["groups"]
    assert [g.release for g in groups] == [*releases[RELEASES_PER_PAGE:], None]
    assert "Someday" in second.content.decode()


@pytest.mark.parametrize("value", ["abc", "99999999999999999999999", "0"])
def test_unknown_release_list_is_404(member_client, workspace, value):
    url = reverse("workspace_detail", args=[workspace.pk])
    assert member_client.get(url, {"release": value}).status_code == 404


def test_another_accounts_release_list_is_404(member_client, workspace, other_workspace):
    theirs = make_record(other_workspace, "release", "Theirs")
    url = reverse("workspace_detail", args=[workspace.pk])
    assert member_client.get(url, {"release": theirs.pk}).status_code == 404
    feature = make_record(workspace, "feature", "Not a release")
    assert member_client.get(url, {"release": feature.pk}).status_code == 404


def test_tags_are_read_for_shown_records_only(member_client, workspace, crowded_release):
    _, features = crowded_release
    url = reverse("workspace_detail", args=[workspace.pk])
    with CaptureQueriesContext(connection) as ctx:
        response = member_client.get(url)
    tag_queries = [q["sql"] for q in ctx.captured_queries if "records_record_tags" in q["sql"]]
    board_query = next(q for q in tag_queries if '"record_id" IN (' in q)
    assert str(features[-1].pk) not in board_query.split("IN (", 1)[1].split(")")[0].split(", ")
    assert "rare" in response.context["all_tags"]  # the filter still offers it


# --- Record page -------------------------------------------------------------------------------


def test_record_page_shows_fields_parents_children_and_links(
    member_client, workspace, roadmap, owner
):
    feature = roadmap["feature"]
    from records.services import record_update

    record_update(
        record=feature,
        description="<p>Take <strong>cards</strong></p><script>alert(1)</script>",
        assignee=owner,
        estimate_minutes=630,
    )
    record_link_create(source=roadmap["loose"], target=feature, link_type="blocks")
    html = member_client.get(reverse("record_detail", args=[feature.pk])).content.decode()
    assert "<strong>cards</strong>" in html
    assert "<script>alert(1)" not in html
    assert "APP-1" in html
    assert reverse("record_detail", args=[roadmap["release"].pk]) in html
    assert reverse("record_detail", args=[roadmap["epic"].pk]) in html
    assert "PCI scope" in html  # its requirement, under Requirements
    assert "Requirements" in html
    assert "Is blocked by" in html
    assert "1d 2h 30m" in html
    assert "payments" in html


def test_every_kind_has_a_record_page_and_a_create_form(member_client, workspace, roadmap):
    for record in roadmap.values():
        assert member_client.get(reverse("record_detail", args=[record.pk])).status_code == 200
        assert member_client.get(reverse("record_edit", args=[record.pk])).status_code == 200
    for kind in ("initiative", "release", "epic", "feature", "requirement"):
        response = member_client.get(reverse("record_new", args=[workspace.pk, kind]))
        assert response.status_code == 200, kind


# --- Create, edit, delete --------------------------------------------------------------------


def test_create_a_feature_under_a_release(member_client, workspace, roadmap, owner):
    response = member_client.post(
        reverse("record_new", args=[workspace.pk, "feature"]),
        {
            "name": "Apple Pay",
            "status": "ready_to_develop",
            "description": "<p>Wallet</p>",
            "release": roadmap["release"].pk,
            "epic": roadmap["epic"].pk,
            "assignee": owner.pk,
            "tags": "payments, ios",
            "estimate": "1d 4h",
        },
    )
    record = Record.objects.get(name="Apple Pay")
    assert response.status_code == 302
    assert response.url == reverse("record_detail", args=[record.pk])
    assert record.release == roadmap["release"]
    assert record.epic == roadmap["epic"]
    assert record.estimate_minutes == 12 * 60
    assert record.created_by == owner
    assert sorted(t.name for t in record.tags.all()) == ["ios", "payments"]


def test_parent_choices_are_limited_to_the_workspace_and_allowed_kinds(
    member_client, workspace, roadmap, other_workspace
):
    foreign = make_record(other_workspace, "release", "Foreign")
    form = member_client.get(reverse("record_new", args=[workspace.pk, "epic"])).context["form"]
    assert set(form.fields) >= {"initiative", "release"}
    assert "epic" not in form.fields
    assert "feature" not in form.fields
    assert foreign not in form.fields["release"].queryset
    assert set(form.fields["release"].queryset) == {roadmap["release"], roadmap["late"]}
    response = member_client.post(
        reverse("record_new", args=[workspace.pk, "epic"]),
        {"name": "Sneaky", "status": "not_started", "release": foreign.pk},
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.context["form"].errors["release"][0]


def test_requirement_requires_its_feature(member_client, workspace, roadmap):
    url = reverse("record_new", args=[workspace.pk, "requirement"])
    response = member_client.post(url, {"name": "Orphan", "status": "not_started"})
    assert response.status_code == 400
    assert "feature" in response.context["form"].errors
    assert not Record.objects.filter(name="Orphan").exists()


def test_form_errors_appear_next_to_the_field_and_keep_the_input(member_client, workspace, roadmap):
    response = member_client.post(
        reverse("record_new", args=[workspace.pk, "feature"]),
        {
            "name": "Keep me",
            "status": "not_started",
            "description": "<p>Typed text</p>",
            "tags": "alpha, beta",
            "start_date": "2026-05-10",
            "due_date": "2026-05-01",
            "estimate": "3h",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    # The service's refusal is on due_date, inside that field's block.
    form = response.context["form"]
    assert form.errors["due_date"] == ["The due date cannot be before the start date."]
    due_block = html[html.index('for="id_due_date"') :]
    due_block = due_block[: due_block.index("</div>")]
    assert "The due date cannot be before the start date." in due_block
    assert 'value="Keep me"' in html
    assert "&lt;p&gt;Typed text&lt;/p&gt;" in html
    assert 'value="alpha, beta"' in html
    assert 'value="2026-05-10"' in html
    assert 'value="3h"' in html
    assert not Record.objects.filter(name="Keep me").exists()


def test_bad_estimate_says_how_to_write_one(member_client, workspace):
    response = member_client.post(
        reverse("record_new", args=[workspace.pk, "feature"]),
        {"name": "X", "status": "not_started", "estimate": "a while"},
    )
    assert response.status_code == 400
    assert "is not an estimate" in response.context["form"].errors["estimate"][0]


def test_edit_changes_the_record(member_client, roadmap):
    epic = roadmap["epic"]
    response = member_client.post(
        reverse("record_edit", args=[epic.pk]),
        {"name": "Checkout v2", "status": "in_development", "initiative": "", "release": ""},
    )
    assert response.status_code == 302
    epic.refresh_from_db()
    assert epic.name == "Checkout v2"
    assert epic.status == "in_development"
    assert epic.release is None
    assert epic.initiative is None


def test_delete_confirmation_says_requirements_go_with_the_feature(member_client, roadmap):
    feature = roadmap["feature"]
    url = reverse("record_delete", args=[feature.pk])
    page = member_client.get(url)
    assert page.status_code == 200
    assert "Its 1 requirement will be deleted with it" in page.content.decode()
    assert Record.objects.filter(pk=feature.pk).exists()
    response = member_client.post(url)
    assert response.status_code == 302
    assert not Record.objects.filter(pk__in=[feature.pk, roadmap["requirement"].pk]).exists()


def test_delete_confirmation_for_a_release_says_children_stay(member_client, roadmap):
    html = member_client.get(reverse("record_delete", args=[roadmap["release"].pk])).content
    assert b"1 epic and 1 feature will stay" in html


# --- Record links ------------------------------------------------------------------------------


def test_add_link_with_htmx_returns_the_links_partial(member_client, roadmap):
    feature, loose = roadmap["feature"], roadmap["loose"]
    response = member_client.post(
        reverse("record_link_add", args=[feature.pk]),
        {"link": "blocks:inward", "target": loose.reference.lower()},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="record-links"')
    assert "<html" not in html
    assert "Is blocked by" in html
    link = RecordLink.objects.get()
    assert (link.source, link.target, link.link_type) == (loose, feature, "blocks")


def test_add_link_without_javascript_redirects_back(member_client, roadmap):
    feature = roadmap["feature"]
    response = member_client.post(
        reverse("record_link_add", args=[feature.pk]),
        {"link": "relates_to", "target": roadmap["epic"].reference},
    )
    assert response.status_code == 302
    assert RecordLink.objects.filter(source=feature, target=roadmap["epic"]).exists()


@pytest.mark.parametrize("htmx", [True, False])
def test_link_errors_are_shown_on_the_target_field(member_client, roadmap, htmx):
    feature = roadmap["feature"]
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    url = reverse("record_link_add", args=[feature.pk])
    response = member_client.post(url, {"link": "blocks", "target": "APP-999"}, **headers)
    assert response.status_code == (200 if htmx else 400)
    assert "No record APP-999 in this workspace" in response.content.decode()
    response = member_client.post(url, {"link": "blocks", "target": feature.reference}, **headers)
    assert "A record cannot be linked to itself." in response.content.decode()
    assert 'value="APP-1"' in response.content.decode()
    assert not RecordLink.objects.exists()


def test_link_to_another_workspace_is_not_found(member_client, roadmap, other_workspace):
    make_record(other_workspace, "feature", "Theirs")
    response = member_client.post(
        reverse("record_link_add", args=[roadmap["feature"].pk]),
        {"link": "blocks", "target": "RIV-1"},
        HTTP_HX_REQUEST="true",
    )
    assert "No record RIV-1 in this workspace" in response.content.decode()
    assert not RecordLink.objects.exists()


def test_remove_link(member_client, roadmap):
    link = record_link_create(
        source=roadmap["feature"], target=roadmap["loose"], link_type="blocks"
    )
    response = member_client.post(
        reverse("record_link_remove", args=[roadmap["loose"].pk, link.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert not RecordLink.objects.exists()
    assert "No links." in response.content.decode()


def test_remove_link_of_another_record_is_404(member_client, roadmap):
    link = record_link_create(
        source=roadmap["feature"], target=roadmap["loose"], link_type="blocks"
    )
    response = member_client.post(reverse("record_link_remove", args=[roadmap["epic"].pk, link.pk]))
    assert response.status_code == 404
    assert RecordLink.objects.filter(pk=link.pk).exists()


def test_contributor_can_edit(client, account, workspace, roadmap):
    client.force_login(add_member(account, role=Role.CONTRIBUTOR))
    response = client.post(
        reverse("record_edit", args=[roadmap["loose"].pk]),
        {"name": "Dark theme", "status": "shipped"},
    )
    assert response.status_code == 302


def test_pages_load_htmx_locally_and_send_the_csrf_token_with_htmx(member_client, workspace):
    html = member_client.get(reverse("workspace_detail", args=[workspace.pk])).content.decode()
    token = member_client.cookies["csrftoken"].value
    assert token
    assert '<body hx-headers=\'{"X-CSRFToken": "' in html
    assert 'src="/static/django_htmx/htmx' in html
    assert "https://" not in html.split("<body")[0]  # no CDN, no external font


def test_plain_text_description_keeps_paragraphs_and_is_escaped(member_client, workspace):
    member_client.post(
        reverse("record_new", args=[workspace.pk, "feature"]),
        {
            "name": "Plain",
            "status": "not_started",
            "description": "First line\nsecond line & more\n\nNew paragraph 1 < 2",
        },
    )
    assert Record.objects.get(name="Plain").description == (
        "<p>First line<br>second line &amp; more</p><p>New paragraph 1 &lt; 2</p>"
    )


# --- Bounded record page and link search ------------------------------------------------------


def test_record_page_caps_children_and_shows_all_on_request(member_client, workspace):
    release = make_record(workspace, "release", "Packed")
    features = [
        make_record(workspace, "feature", f"Child {i:02d}", release=release)
        for i in range(RECORD_CHILDREN_SHOWN + 3)
    ]
    url = reverse("record_detail", args=[release.pk])
    with CaptureQueriesContext(connection) as ctx:
        html = member_client.get(url).content.decode()
    capped_queries = len(ctx.captured_queries)
    assert [f for f in features if f">{f.reference}<" in html] == features[:RECORD_CHILDREN_SHOWN]
    assert f'href="?children=feature#children-feature">Show all {len(features)} features' in html
    full = member_client.get(url, {"children": "feature"}).content.decode()
    assert all(f">{f.reference}<" in full for f in features)
    # Fewer children: the same number of queries.
    small = make_record(workspace, "release", "Sparse")
    make_record(workspace, "feature", "Only", release=small)
    with CaptureQueriesContext(connection) as ctx:
        member_client.get(reverse("record_detail", args=[small.pk]))
    assert len(ctx.captured_queries) == capped_queries


def test_link_form_no_longer_lists_every_record(member_client, workspace, roadmap):
    html = member_client.get(reverse("record_detail", args=[roadmap["feature"].pk])).content
    html = html.decode()
    datalist = html[html.index('<datalist id="link-target-options">') :]
    datalist = datalist[: datalist.index("</datalist>")]
    assert "<option" not in datalist
    search = reverse("record_link_targets", args=[roadmap["feature"].pk])
    assert f'hx-get="{search}"' in html
    assert 'hx-target="#link-target-options"' in html


def test_link_search_matches_reference_or_name_and_is_limited(member_client, workspace, roadmap):
    feature = roadmap["feature"]
    for i in range(LINK_TARGET_SUGGESTIONS + 5):
        make_record(workspace, "feature", f"Search hit {i}")
    url = reverse("record_link_targets", args=[feature.pk])
    response = member_client.get(url, {"target": "search hit"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<option") == LINK_TARGET_SUGGESTIONS
    assert "<html" not in html
    # An exact reference comes first, whatever its case; the record itself is never offered.
    dark = roadmap["loose"]
    options = member_client.get(url, {"target": dark.reference.lower()}).content.decode()
    assert options.lstrip().startswith(f'<option value="{dark.reference}">Dark mode</option>')
    itself = member_client.get(url, {"target": feature.reference}).content.decode()
    assert f'value="{feature.reference}"' not in itself
    assert member_client.get(url, {"target": "  "}).content.decode().strip() == ""


def test_link_search_is_scoped_to_the_users_workspaces(member_client, roadmap, other_workspace):
    theirs = make_record(other_workspace, "feature", "Secret roadmap")
    response = member_client.get(reverse("record_link_targets", args=[theirs.pk]), {"target": "S"})
    assert response.status_code == 404
    ours = reverse("record_link_targets", args=[roadmap["feature"].pk])
    html = member_client.get(ours, {"target": "secret"}).content.decode()
    assert "Secret roadmap" not in html
    html = member_client.get(ours, {"target": "RIV-1"}).content.decode()
    assert "RIV-1" not in html


def test_link_search_requires_login(client, roadmap):
    response = client.get(reverse("record_link_targets", args=[roadmap["feature"].pk]))
    assert response.status_code == 302
