"""Generic API test cases (NetBox style): each record resource fills in its kind and create
data; the tests themselves are written once."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from records.kinds import RecordKind, parent_kinds_of
from records.models import Record
from records.workflows import statuses_for
from tests.factories import make_record


def error_fields(response) -> dict:
    return response.json()["error"]["fields"]


class RecordResourceCases:
    """Subclasses set ``kind``, ``endpoint`` and ``reference_re``; requirement-like kinds
    override ``required_parents``."""

    kind: str
    endpoint: str
    reference_re: str

    # --- what a resource fills in ----------------------------------------------------------
    def required_parents(self, workspace) -> dict:
        """Parent objects a record of this kind cannot be created without."""
        return {}

    def make(self, workspace, **fields) -> Record:
        return make_record(workspace, self.kind, **{**self.required_parents(workspace), **fields})

    def create_data(self, workspace) -> dict:
        data = {
            "workspace": workspace.pk,
            "name": "Checkout revamp",
            "description": '<p>Make it <strong>fast</strong><script>alert("x")</script></p>',
            "status": statuses_for(self.kind)[1].key,
            "tags": ["Beta", "ui"],
            "start_date": "2025-01-06",
            "due_date": "2025-02-28",
            "estimate_minutes": 90,
            "story_points": "3.5",
        }
        data.update({k: v.pk for k, v in self.required_parents(workspace).items()})
        return data

    def url(self, pk=None) -> str:
        return f"/api/v1/{self.endpoint}/" + (f"{pk}/" if pk else "")

    # --- list / filters --------------------------------------------------------------------
    def test_list_shows_only_this_kind_of_my_accounts(self, owner_api, workspace, other_workspace):
        mine = [self.make(workspace), self.make(workspace)]
        self.make(other_workspace)
        other_kind = next(k for k in RecordKind.values if k not in (self.kind, "requirement"))
        make_record(workspace, other_kind)
        response = owner_api.get(self.url())
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == 2
        assert {r["id"] for r in body["results"]} == {r.pk for r in mine}
        assert all(r["kind"] == self.kind for r in body["results"])

    def test_filters(self, owner_api, workspace, owner):
        first_status, second_status = (s.key for s in statuses_for(self.kind)[:2])
        tagged = self.make(workspace, name="Alpha checkout", tags=["Mobile"], status=second_status)
        plain = self.make(workspace, name="Beta search", status=first_status)

        def ids(**params):
            response = owner_api.get(self.url(), params)
            assert response.status_code == 200, response.content
            return {r["id"] for r in response.json()["results"]}

        assert ids(status=second_status) == {tagged.pk}
        assert ids(tag="mobile") == {tagged.pk}
        assert ids(q="checkout") == {tagged.pk}
        assert ids(q=plain.reference.lower()) == {plain.pk}
        assert ids(workspace=workspace.pk) == {tagged.pk, plain.pk}
        for parent_kind in parent_kinds_of(self.kind):
            parent = make_record(workspace, parent_kind)
            child = self.make(workspace, **{parent_kind: parent})
            assert ids(**{parent_kind: parent.pk}) == {child.pk}

    def test_unknown_status_filter_is_a_400_naming_the_filter(self, owner_api, workspace):
        response = owner_api.get(self.url(), {"status": "nonsense"})
        assert response.status_code == 400
        assert "status" in error_fields(response)

    # --- detail ----------------------------------------------------------------------------
    def test_detail_shows_every_field(self, owner_api, workspace, owner):
        parents = {k: make_record(workspace, k) for k in parent_kinds_of(self.kind)}
        record = self.make(workspace, assignee=owner, tags=["b", "A"], **parents)
        body = owner_api.get(self.url(record.pk)).json()
        assert body["id"] == record.pk
        assert body["url"].endswith(self.url(record.pk))
        assert re.fullmatch(self.reference_re, body["reference"])
        assert body["kind"] == self.kind
        assert body["workspace"] == workspace.pk
        assert body["status"] == record.status
        assert body["status_label"] == record.status_label
        assert (body["assignee"], body["assignee_email"]) == (owner.pk, owner.email)
        assert body["assignee_name"] == "Owner"
        assert body["tags"] == ["A", "b"]
        for kind, parent in parents.items():
            assert body[kind] == parent.pk
            assert body[f"{kind}_summary"] == {
                "id": parent.pk,
                "reference": parent.reference,
                "name": parent.name,
            }
        not_allowed = {"initiative", "release", "epic", "feature"} - set(parents)
        assert not_allowed.isdisjoint(body)
        assert ("release_date" in body) == (self.kind == RecordKind.RELEASE)
        for name in ("created_by", "created_at", "updated_at", "description", "story_points"):
            assert name in body

    # --- create / update / delete ----------------------------------------------------------
    def test_create(self, contributor_api, contributor, workspace):
        response = contributor_api.post(self.url(), self.create_data(workspace), format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        record = Record.objects.get(pk=body["id"])
        assert record.kind == self.kind
        assert re.fullmatch(self.reference_re, body["reference"])
        assert body["created_by"] == contributor.pk
        assert body["description"].startswith("<p>Make it <strong>fast</strong>")
        assert "script" not in record.description
        assert sorted(body["tags"]) == ["Beta", "ui"]
        assert body["story_points"] == "3.5"
        assert body["status"] == statuses_for(self.kind)[1].key

    def test_create_needs_workspace_and_name(self, owner_api, workspace):
        response = owner_api.post(self.url(), {}, format="json")
        assert response.status_code == 400
        assert {"workspace", "name"} <= set(error_fields(response))

    def test_create_rejects_bad_values_by_field(self, owner_api, workspace):
        data = self.create_data(workspace)
        for field, value in (
            ("status", "flying"),
            ("start_date", "06/01/2025"),
            ("estimate_minutes", "ninety"),
            ("tags", "not-a-list"),
            ("assignee", 999999),
        ):
            response = owner_api.post(self.url(), {**data, field: value}, format="json")
            assert response.status_code == 400, (field, response.content)
            assert field in error_fields(response), (field, response.json())
            assert response.json()["error"]["message"]
        assert not Record.objects.filter(kind=self.kind).exists()

    def test_due_date_before_start_is_refused(self, owner_api, workspace):
        data = {**self.create_data(workspace), "start_date": "2025-03-01", "due_date": "2025-02-01"}
        response = owner_api.post(self.url(), data, format="json")
        assert response.status_code == 400
        assert "due_date" in error_fields(response)

    def test_put_and_patch(self, owner_api, workspace):
        record = self.make(workspace, tags=["old"])
        data = {**self.create_data(workspace), "name": "Renamed", "tags": ["new"]}
        response = owner_api.put(self.url(record.pk), data, format="json")
        assert response.status_code == 200, response.content
        assert (response.json()["name"], response.json()["tags"]) == ("Renamed", ["new"])
        response = owner_api.patch(self.url(record.pk), {"due_date": None}, format="json")
        assert response.status_code == 200, response.content
        record.refresh_from_db()
        assert (record.name, record.due_date) == ("Renamed", None)
        assert response.json()["updated_at"] >= response.json()["created_at"]

    def test_patch_with_unknown_field_says_so(self, owner_api, workspace):
        record = self.make(workspace)
        response = owner_api.patch(self.url(record.pk), {"titel": "x"}, format="json")
        assert response.status_code == 400
        assert "titel" in error_fields(response)

    def test_reference_and_workspace_cannot_be_changed(self, owner_api, workspace, account):
        from tests.factories import make_workspace

        record = self.make(workspace)
        elsewhere = make_workspace(account=account, prefix="ELSE")
        response = owner_api.patch(
            self.url(record.pk), {"workspace": elsewhere.pk, "name": "x"}, format="json"
        )
        assert response.status_code == 400
        assert "workspace" in error_fields(response)
        response = owner_api.patch(self.url(record.pk), {"reference": "HACK-1"}, format="json")
        assert response.status_code == 200
        record.refresh_from_db()
        assert record.reference != "HACK-1"

    def test_delete(self, contributor_api, workspace):
        record = self.make(workspace)
        assert contributor_api.delete(self.url(record.pk)).status_code == 204
        assert not Record.objects.filter(pk=record.pk).exists()
        assert contributor_api.get(self.url(record.pk)).status_code == 404

    def test_another_kind_is_not_found_here(self, owner_api, workspace):
        other_kind = next(k for k in RecordKind.values if k not in (self.kind, "requirement"))
        other = make_record(workspace, other_kind)
        assert owner_api.get(self.url(other.pk)).status_code == 404

    # --- roles -----------------------------------------------------------------------------
    def test_viewer_reads_but_cannot_write(self, viewer_api, workspace):
        record = self.make(workspace)
        assert viewer_api.get(self.url(record.pk)).status_code == 200
        for response in (
            viewer_api.post(self.url(), self.create_data(workspace), format="json"),
            viewer_api.patch(self.url(record.pk), {"name": "x"}, format="json"),
            viewer_api.delete(self.url(record.pk)),
        ):
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "permission_denied"
            assert "Viewers can read but not change records" in response.json()["error"]["message"]
        record.refresh_from_db()
        assert record.name != "x"

    # --- tenant isolation ------------------------------------------------------------------
    def test_another_accounts_record_is_404_everywhere(self, other_api, workspace):
        record = self.make(workspace)
        assert other_api.get(self.url(record.pk)).status_code == 404
        assert other_api.put(self.url(record.pk), {"name": "x"}, format="json").status_code == 404
        assert other_api.patch(self.url(record.pk), {"name": "x"}, format="json").status_code == 404
        assert other_api.delete(self.url(record.pk)).status_code == 404
        assert other_api.get(f"/api/v1/records/{record.pk}/").status_code == 404
        assert other_api.get(f"/api/v1/records/{record.pk}/children/").status_code == 404
        record.refresh_from_db()
        assert record.name != "x"

    def test_parents_this_kind_cannot_have_are_refused(self, owner_api, workspace):
        for parent_kind in {"initiative", "release", "epic", "feature"} - set(
            parent_kinds_of(self.kind)
        ):
            parent = make_record(workspace, parent_kind)
            data = {**self.create_data(workspace), parent_kind: parent.pk}
            response = owner_api.post(self.url(), data, format="json")
            assert response.status_code == 400, parent_kind
            assert parent_kind in error_fields(response)

    def test_another_accounts_records_are_not_listed_even_when_filtered_for(
        self, other_api, workspace
    ):
        record = self.make(workspace)
        for params in ({}, {"workspace": workspace.pk}, {"q": record.reference}):
            response = other_api.get(self.url(), params)
            assert response.status_code == 200
            assert response.json()["count"] == 0
        for parent_kind in parent_kinds_of(self.kind):
            parent = make_record(workspace, parent_kind)
            self.make(workspace, **{parent_kind: parent})
            response = other_api.get(self.url(), {parent_kind: parent.pk})
            assert (response.status_code, response.json()["count"]) == (200, 0)

    def test_cannot_create_in_another_accounts_workspace(self, other_api, workspace):
        response = other_api.post(self.url(), self.create_data(workspace), format="json")
        assert response.status_code == 400
        assert error_fields(response)["workspace"] == [
            f"Workspace {workspace.pk} not found in your account."
        ]
        assert not Record.objects.filter(kind=self.kind, workspace=workspace).exists()

    # --- performance -----------------------------------------------------------------------
    def test_list_query_count_does_not_grow_with_rows(self, owner_api, workspace, owner):
        parents = {k: make_record(workspace, k) for k in parent_kinds_of(self.kind)}
        owner_api.get(self.url())  # the key's first use records last_used_at: not per row

        def queries_for(n: int) -> int:
            while Record.objects.filter(kind=self.kind).count() < n:
                self.make(workspace, assignee=owner, tags=["x", "y"], **parents)
            with CaptureQueriesContext(connection) as ctx:
                response = owner_api.get(self.url(), {"page_size": 100})
            assert response.json()["count"] == n
            return len(ctx.captured_queries)

        few, many = queries_for(3), queries_for(30)
        assert few == many
        # key lookup, count, page, one per parent type (read, not joined), tags, Jira links
        assert many <= 5 + len(parents)


class WithParentsCases:
    """Tests of parent ids, for the kinds that have parents."""

    def test_parent_ids_of_another_account_read_as_not_found(
        self, other_api, workspace, other_workspace
    ):
        for parent_kind in parent_kinds_of(self.kind):
            foreign_parent = make_record(workspace, parent_kind)
            data = {**self.create_data(other_workspace), parent_kind: foreign_parent.pk}
            response = other_api.post(self.url(), data, format="json")
            assert response.status_code == 400
            assert error_fields(response)[parent_kind] == [
                f"{parent_kind.capitalize()} {foreign_parent.pk} not found in your account."
            ]
            # ...exactly what an id that does not exist gets
            missing = {**data, parent_kind: 987654}
            response = other_api.post(self.url(), missing, format="json")
            assert error_fields(response)[parent_kind] == [
                f"{parent_kind.capitalize()} 987654 not found in your account."
            ]
            own = self.make(other_workspace)
            response = other_api.patch(
                self.url(own.pk), {parent_kind: foreign_parent.pk}, format="json"
            )
            assert response.status_code == 400
            assert parent_kind in error_fields(response)

    def test_wrong_kind_and_other_workspace_parents_are_400s_on_the_field(
        self, owner_api, workspace, account
    ):
        from tests.factories import make_workspace

        sibling = make_workspace(account=account, prefix="SIB")
        for parent_kind in parent_kinds_of(self.kind):
            wrong_kind = next(k for k in ("initiative", "release", "epic") if k != parent_kind)
            wrong = make_record(workspace, wrong_kind)
            data = {**self.create_data(workspace), parent_kind: wrong.pk}
            response = owner_api.post(self.url(), data, format="json")
            assert response.status_code == 400
            assert "not a" in error_fields(response)[parent_kind][0]
            elsewhere = make_record(sibling, parent_kind)
            data = {**self.create_data(workspace), parent_kind: elsewhere.pk}
            response = owner_api.post(self.url(), data, format="json")
            assert response.status_code == 400
            assert "another workspace" in error_fields(response)[parent_kind][0]
