import threading

import pytest
from django.db import connection

from core.exceptions import ApplicationError
from records.kinds import PARENT_CHILD_RELATIONSHIPS, LinkType, RecordKind
from records.models import Record
from records.services import record_create, record_link_create, record_update
from tests.factories import make_record, make_workspace

ALL_KINDS = list(RecordKind.values)


def test_references_follow_the_spec_style(workspace):
    release = make_record(workspace, "release")
    initiative = make_record(workspace, "initiative")
    epic = make_record(workspace, "epic")
    feature = make_record(workspace, "feature")
    requirement = make_record(workspace, "requirement", feature=feature)
    second_requirement = make_record(workspace, "requirement", feature=feature)
    assert release.reference == "APP-R-1"
    assert initiative.reference == "APP-I-1"
    assert epic.reference == "APP-E-1"
    assert feature.reference == "APP-1"
    assert requirement.reference == "APP-1-1"
    assert second_requirement.reference == "APP-1-2"
    assert make_record(workspace, "feature").reference == "APP-2"


@pytest.mark.parametrize(
    ("parent_kind", "child_kind"),
    [
        (p, c)
        for p in ALL_KINDS
        for c in ALL_KINDS
        if p in ("initiative", "release", "epic", "feature")
    ],
)
def test_only_the_six_relationships_are_accepted(workspace, parent_kind, child_kind):
    parent = make_record(workspace, parent_kind)
    extra = {}
    if child_kind == "requirement" and parent_kind != "feature":
        extra["feature"] = make_record(workspace, "feature")
    if (parent_kind, child_kind) in PARENT_CHILD_RELATIONSHIPS:
        child = make_record(workspace, child_kind, **{parent_kind: parent}, **extra)
        assert getattr(child, parent_kind) == parent
    else:
        with pytest.raises(ApplicationError) as excinfo:
            make_record(workspace, child_kind, **{parent_kind: parent}, **extra)
        assert excinfo.value.fields == {parent_kind: [excinfo.value.message]}
        assert "cannot have" in excinfo.value.message


def test_a_feature_can_have_release_epic_and_initiative_at_once(workspace):
    release = make_record(workspace, "release")
    epic = make_record(workspace, "epic")
    initiative = make_record(workspace, "initiative")
    feature = make_record(workspace, "feature", release=release, epic=epic, initiative=initiative)
    assert (feature.release, feature.epic, feature.initiative) == (release, epic, initiative)


def test_requirement_needs_a_feature(workspace):
    with pytest.raises(ApplicationError, match="cannot exist without its feature"):
        make_record(workspace, "requirement")


def test_parent_from_another_workspace_is_refused(workspace):
    other = make_workspace(account=workspace.account, prefix="OTH")
    release = make_record(other, "release")
    with pytest.raises(ApplicationError, match="another workspace"):
        make_record(workspace, "feature", release=release)


def test_a_parent_of_the_wrong_kind_is_refused(workspace):
    epic = make_record(workspace, "epic")
    with pytest.raises(ApplicationError, match="is a epic, not a release"):
        make_record(workspace, "feature", release=epic)


def test_description_is_sanitised(workspace):
    record = make_record(
        workspace,
        "feature",
        description='<p onclick="x()">Hi <script>alert(1)</script><b>there</b></p>',
    )
    assert record.description == "<p>Hi <b>there</b></p>"


def test_unknown_status_is_refused_with_the_options(workspace):
    with pytest.raises(ApplicationError, match="in_development"):
        make_record(workspace, "feature", status="flying")


def test_update_reports_changed_fields_and_checks_rules(workspace):
    release = make_record(workspace, "release")
    feature = make_record(workspace, "feature")
    updated = record_update(
        record=feature, name="New name", release=release, tags=["UX", "ux", "api"]
    )
    assert set(updated.changed_fields) == {"name", "release", "tags"}
    assert sorted(t.name for t in feature.tags.all()) == ["UX", "api"]
    with pytest.raises(ApplicationError):
        record_update(record=feature, epic=release)


def test_links_refuse_self_duplicates_and_other_workspaces(workspace):
    a = make_record(workspace, "feature")
    b = make_record(workspace, "epic")
    link = record_link_create(source=a, target=b, link_type=LinkType.BLOCKS)
    assert (link.outward_name, link.inward_name) == ("Blocks", "Is blocked by")
    with pytest.raises(ApplicationError, match="itself"):
        record_link_create(source=a, target=a, link_type=LinkType.RELATES_TO)
    with pytest.raises(ApplicationError, match="already"):
        record_link_create(source=a, target=b, link_type=LinkType.BLOCKS)
    record_link_create(source=a, target=b, link_type=LinkType.RELATES_TO)
    with pytest.raises(ApplicationError, match="already"):
        # Relates to reads the same both ways: the reverse is a duplicate too.
        record_link_create(source=b, target=a, link_type=LinkType.RELATES_TO)
    other = make_record(make_workspace(account=workspace.account), "feature")
    with pytest.raises(ApplicationError, match="same workspace"):
        record_link_create(source=a, target=other, link_type=LinkType.BLOCKS)


@pytest.mark.django_db(transaction=True)
def test_references_are_unique_under_concurrent_creation():
    workspace = make_workspace(prefix="CON")
    errors: list[Exception] = []

    def create_some():
        try:
            for _ in range(5):
                record_create(workspace=workspace, kind="feature", name="parallel")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create_some) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    references = list(
        Record.objects.filter(workspace=workspace).values_list("reference", flat=True)
    )
    assert len(references) == 20
    assert sorted(references, key=lambda r: int(r.split("-")[1])) == [
        f"CON-{n}" for n in range(1, 21)
    ]
