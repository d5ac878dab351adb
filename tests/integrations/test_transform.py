"""integrations.transform: field values between records and Jira, both ways, on real rows."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest

from accounts.models import Role
from integrations.models import Direction, FieldMapping, Integration, RecordMapping, ValueMapping
from integrations.transform import (
    JiraValue,
    TimeTracking,
    changed_field_ids_from_changelog,
    default_status_value_map,
    format_estimate,
    jira_to_record_changes,
    parse_estimate,
    record_to_jira_fields,
    value_map_from_jira,
    value_map_to_jira,
)
from records.kinds import RecordKind
from tests.factories import add_member, make_account, make_record, make_user
from tests.fixtures import JIRA_WEBHOOKS as WEBHOOKS

IN_PROGRESS = {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}}
TO_DO = {"id": "10000", "name": "To Do", "statusCategory": {"key": "new"}}
DONE = {"id": "10001", "name": "Done", "statusCategory": {"key": "done"}}


# --------------------------------------------------------------------------- fixtures


def add_field_mapping(
    record_mapping: RecordMapping,
    local_field: str,
    jira_field_id: str,
    direction: str = Direction.BOTH,
    values: list[tuple[int, str, str, str]] = (),
) -> FieldMapping:
    """values: (position, local value, Jira id, Jira name), created in the order given."""
    field_mapping = FieldMapping.objects.create(
        record_mapping=record_mapping,
        position=record_mapping.field_mappings.count(),
        local_field=local_field,
        jira_field_id=jira_field_id,
        jira_field_name=jira_field_id.capitalize(),
        direction=direction,
    )
    for position, local_value, jira_id, jira_name in values:
        ValueMapping.objects.create(
            field_mapping=field_mapping,
            position=position,
            local_value=local_value,
            jira_value_id=jira_id,
            jira_value_name=jira_name,
        )
    return field_mapping


def loaded(record_mapping: RecordMapping) -> list[FieldMapping]:
    """The mappings as the sync engine loads them: fresh, with value maps prefetched."""
    return list(
        FieldMapping.objects.filter(record_mapping=record_mapping)
        .select_related("record_mapping")
        .prefetch_related("value_mappings")
    )


@pytest.fixture
def integration(workspace, owner):
    return Integration.objects.create(
        account=workspace.account,
        workspace=workspace,
        name="Jira",
        base_url="https://example.atlassian.net",
        project_key="APP",
        created_by=owner,
    )


@pytest.fixture
def feature_mapping(integration):
    record_mapping = RecordMapping.objects.create(
        integration=integration,
        position=0,
        record_kind=RecordKind.FEATURE,
        issue_types=[{"id": "10001", "name": "Story"}],
        default_issue_type_id="10001",
    )
    add_field_mapping(record_mapping, "name", "summary")
    add_field_mapping(record_mapping, "description", "description")
    # Two local statuses on one Jira status; positions deliberately not in creation order.
    add_field_mapping(
        record_mapping,
        "status",
        "status",
        values=[
            (1, "in_review", "3", "In Progress"),
            (0, "in_development", "3", "In Progress"),
            (2, "not_started", "10000", "To Do"),
            (3, "shipped", "10001", "Done"),
        ],
    )
    add_field_mapping(record_mapping, "assignee", "assignee")
    add_field_mapping(
        record_mapping,
        "tags",
        "labels",
        values=[
            (0, "mobile", "", "ios-app"),
            (1, "iphone", "", "ios-app"),
            (2, "iphone", "", "iphone"),
        ],
    )
    add_field_mapping(record_mapping, "due_date", "duedate")
    add_field_mapping(record_mapping, "start_date", "customfield_10015", Direction.TO_JIRA_ONCE)
    add_field_mapping(record_mapping, "estimate_minutes", "timetracking")
    add_field_mapping(record_mapping, "story_points", "customfield_10016", Direction.FROM_JIRA)
    return record_mapping


@pytest.fixture
def release_mapping(integration):
    record_mapping = RecordMapping.objects.create(
        integration=integration,
        position=1,
        record_kind=RecordKind.RELEASE,
        target=RecordMapping.Target.VERSION,
    )
    add_field_mapping(record_mapping, "name", "name")
    add_field_mapping(record_mapping, "description", "description")
    add_field_mapping(record_mapping, "start_date", "startDate")
    add_field_mapping(record_mapping, "release_date", "releaseDate")
    add_field_mapping(record_mapping, "status", "released")
    return record_mapping


@pytest.fixture
def alice(account):
    user = make_user("alice", email="Alice@Example.com")
    user.first_name, user.last_name = "Alice", "Smith"
    user.save()
    return add_member(account, user, role=Role.CONTRIBUTOR)


@pytest.fixture
def robin(account):
    user = make_user("robin", email="robin@example.com")
    user.first_name, user.last_name = "Robin", "Diddams"
    user.save()
    return add_member(account, user, role=Role.CONTRIBUTOR)


@pytest.fixture
def outsider(db):
    """Someone in another account: never a match, whatever Jira says."""
    user = make_user("carol", email="carol@example.com")
    user.first_name, user.last_name = "Carol", "Jones"
    user.save()
    make_account(owner=user)
    return user


class JiraDirectory:
    """What the sync engine's resolver asks Jira (/user/search): users by email or name."""

    def __init__(self, *users: dict):
        self.users = users
        self.queries: list[str] = []

    def __call__(self, query: str):
        self.queries.append(query)
        wanted = query.casefold()
        for user in self.users:
            if wanted in (user.get("emailAddress", "").casefold(), user["displayName"].casefold()):
                return user
        return None


NOBODY = JiraDirectory()


def from_jira(fields, record_mapping, workspace, **kwargs):
    return jira_to_record_changes(fields, loaded(record_mapping), workspace=workspace, **kwargs)


# --------------------------------------------------------------------------- value maps


def test_value_maps_first_matching_pair_wins_both_ways(feature_mapping):
    status = next(m for m in loaded(feature_mapping) if m.local_field == "status")
    # To Jira: each local status finds its own pair.
    assert value_map_to_jira(status, "in_review") == JiraValue("3", "In Progress")
    assert value_map_to_jira(status, "IN_DEVELOPMENT") == JiraValue("3", "In Progress")
    assert value_map_to_jira(status, "at_risk") is None
    # From Jira: two local statuses share "In Progress"; the first by position wins, by id...
    assert value_map_from_jira(status, IN_PROGRESS) == "in_development"
    assert value_map_from_jira(status, "3") == "in_development"
    # ... and by name, case-insensitively, when Jira sends no id we know.
    assert value_map_from_jira(status, {"id": "999", "name": "in progress"}) == "in_development"
    assert value_map_from_jira(status, {"id": "999", "name": "Nope"}) is None

    tags = next(m for m in loaded(feature_mapping) if m.local_field == "tags")
    assert value_map_from_jira(tags, "ios-app") == "mobile"
    assert value_map_to_jira(tags, "iphone") == JiraValue("", "ios-app")


def test_value_map_from_jira_matches_ids_before_names(feature_mapping):
    field_mapping = add_field_mapping(
        feature_mapping,
        "status",
        "customfield_20000",
        values=[(0, "shipped", "", "Closed"), (1, "will_not_implement", "6", "Won't do")],
    )
    field_mapping = FieldMapping.objects.get(pk=field_mapping.pk)
    assert value_map_from_jira(field_mapping, {"id": "6", "name": "Closed"}) == (
        "will_not_implement"
    )
    assert value_map_from_jira(field_mapping, {"id": "7", "name": "CLOSED"}) == "shipped"
    assert value_map_from_jira(field_mapping, None) is None
    assert value_map_from_jira(field_mapping, ["garbage"]) is None


def test_default_status_value_map_by_name_then_category():
    jira_statuses = [
        TO_DO,
        IN_PROGRESS,
        {"id": "4", "name": "In Review", "statusCategory": {"key": "indeterminate"}},
        DONE,
        {"id": "6", "name": "Closed", "statusCategory": {"key": "done"}},
        "garbage",
        {"id": "9", "name": "No category"},
    ]
    pairs = default_status_value_map(RecordKind.FEATURE, jira_statuses)
    assert pairs == [
        ("not_started", "10000", "To Do"),
        ("under_consideration", "10000", "To Do"),
        ("ready_to_develop", "10000", "To Do"),
        ("in_development", "3", "In Progress"),
        ("in_review", "4", "In Review"),
        ("ready_to_ship", "3", "In Progress"),
        ("shipped", "10001", "Done"),
        ("will_not_implement", "10001", "Done"),
        # Unpaired Jira statuses come last, so they never win going to Jira.
        ("shipped", "6", "Closed"),
    ]
    assert default_status_value_map(RecordKind.FEATURE, None) == []


# --------------------------------------------------------------------------- to Jira


def test_record_to_jira_fields_every_kind_v3(workspace, feature_mapping, alice):
    record = make_record(
        workspace,
        RecordKind.FEATURE,
        name="Checkout\nflow",
        description="<p>Pay <strong>fast</strong></p>",
        status="in_review",
        assignee=alice,
        tags=["Tech debt", "mobile"],
        start_date=datetime.date(2024, 3, 1),
        due_date=datetime.date(2024, 4, 30),
        estimate_minutes=600,
        story_points=Decimal("3.5"),
    )
    directory = JiraDirectory(
        {"accountId": "5b10ac", "displayName": "Alice Smith", "emailAddress": "alice@example.com"}
    )
    result = record_to_jira_fields(
        record, loaded(feature_mapping), on_create=True, api_version=3, user_resolver=directory
    )
    fields = result.fields
    assert fields["summary"] == "Checkout flow"
    assert fields["description"]["type"] == "doc"
    assert "fast" in json.dumps(fields["description"])
    assert "status" not in fields
    assert result.status == JiraValue("3", "In Progress")
    assert fields["assignee"] == {"accountId": "5b10ac"}
    assert directory.queries == [alice.email]
    assert fields["labels"] == ["ios-app", "Tech_debt"]
    assert fields["duedate"] == "2024-04-30"
    assert fields["customfield_10015"] == "2024-03-01"
    assert fields["timetracking"] == {"originalEstimate": "1d 2h"}
    assert "customfield_10016" not in fields  # from Jira only
    assert result.warnings == [
        "Jira labels cannot contain spaces: tag 'Tech debt' was sent as 'Tech_debt'."
    ]


def test_to_jira_once_is_sent_on_create_only(workspace, feature_mapping):
    record = make_record(workspace, RecordKind.FEATURE, start_date=datetime.date(2024, 3, 1))
    mappings = loaded(feature_mapping)
    created = record_to_jira_fields(record, mappings, on_create=True, user_resolver=NOBODY)
    updated = record_to_jira_fields(record, mappings, on_create=False, user_resolver=NOBODY)
    assert created.fields["customfield_10015"] == "2024-03-01"
    assert "customfield_10015" not in updated.fields
    assert updated.fields["summary"] == record.name


def test_record_to_jira_fields_v2_wiki_numbers_and_clearing(workspace, feature_mapping):
    add_field_mapping(feature_mapping, "story_points", "customfield_10026", Direction.TO_JIRA)
    add_field_mapping(feature_mapping, "estimate_minutes", "timeoriginalestimate")
    record = make_record(
        workspace,
        RecordKind.FEATURE,
        description="<p>Pay <strong>fast</strong></p>",
        estimate_minutes=90,
        story_points=Decimal("5.0"),
    )
    record.name = "x" * 300  # longer than Jira takes (an older record, or a direct write)
    result = record_to_jira_fields(
        record, loaded(feature_mapping), on_create=False, api_version=2, user_resolver=NOBODY
    )
    assert isinstance(result.fields["description"], str)
    assert "*fast*" in result.fields["description"]
    assert len(result.fields["summary"]) == 255
    assert result.fields["customfield_10026"] == 5.0
    assert result.fields["timeoriginalestimate"] == 5400
    # Nothing set here clears it in Jira.
    assert result.fields["assignee"] is None
    assert result.fields["duedate"] is None
    assert result.fields["labels"] == []
    assert result.status == JiraValue("10000", "To Do")  # not_started
    assert any("255" in w for w in result.warnings)


def test_status_without_a_value_pair_is_a_warning(workspace, feature_mapping):
    record = make_record(workspace, RecordKind.FEATURE, status="ready_to_ship")
    result = record_to_jira_fields(
        record, loaded(feature_mapping), on_create=False, user_resolver=NOBODY
    )
    assert result.status is None
    assert any("Ready to ship" in w and "status was not sent" in w for w in result.warnings)


def test_status_mapped_to_a_choice_field_is_an_option(workspace, feature_mapping):
    add_field_mapping(
        feature_mapping,
        "status",
        "customfield_30000",
        Direction.TO_JIRA,
        values=[(0, "in_review", "", "Review"), (1, "in_development", "501", "Build")],
    )
    record = make_record(workspace, RecordKind.FEATURE, status="in_review")
    mappings = loaded(feature_mapping)
    result = record_to_jira_fields(record, mappings, on_create=False, user_resolver=NOBODY)
    assert result.fields["customfield_30000"] == {"value": "Review"}
    assert result.status == JiraValue("3", "In Progress")
    record.status = "in_development"
    result = record_to_jira_fields(record, mappings, on_create=False, user_resolver=NOBODY)
    assert result.fields["customfield_30000"] == {"id": "501"}


def test_user_to_jira_by_email_then_display_name_then_warning(workspace, feature_mapping, alice):
    record = make_record(workspace, RecordKind.FEATURE, assignee=alice)
    mappings = loaded(feature_mapping)

    # Data Center: no email match, found by display name, identified by username.
    by_name = JiraDirectory({"name": "asmith", "key": "JIRAUSER1", "displayName": "alice smith"})
    result = record_to_jira_fields(record, mappings, on_create=False, user_resolver=by_name)
    assert result.fields["assignee"] == {"name": "asmith"}
    assert by_name.queries == [alice.email, "Alice Smith"]

    # A fuzzy answer for the name (Jira's search matches prefixes) is not accepted.
    def fuzzy(query):
        return {"accountId": "x", "displayName": "Alice Smithers"} if "Smith" in query else None

    result = record_to_jira_fields(record, mappings, on_create=False, user_resolver=fuzzy)
    assert "assignee" not in result.fields
    assert any("No Jira user matches Alice Smith" in w for w in result.warnings)

    result = record_to_jira_fields(record, mappings, on_create=False, user_resolver=NOBODY)
    assert "assignee" not in result.fields
    assert any("assignee was not sent" in w for w in result.warnings)

    # A resolver answer without any id is Jira's garbage, not an exception.
    result = record_to_jira_fields(
        record, mappings, on_create=False, user_resolver=lambda q: {"displayName": "Alice Smith"}
    )
    assert "assignee" not in result.fields
    assert any("accountId" in w for w in result.warnings)


def test_release_to_jira_version_payload(workspace, release_mapping):
    release = make_record(
        workspace,
        RecordKind.RELEASE,
        name="2024.1",
        description="<p>Spring <b>release</b></p><p>Second &amp; last</p>",
        start_date=datetime.date(2024, 3, 1),
        release_date=datetime.date(2024, 3, 31),
        status="released",
    )
    result = record_to_jira_fields(
        release, loaded(release_mapping), on_create=True, user_resolver=NOBODY
    )
    assert result.fields == {
        "name": "2024.1",
        "description": "Spring release\nSecond & last",
        "startDate": "2024-03-01",
        "releaseDate": "2024-03-31",
        "released": True,
    }
    assert result.status is None
    assert result.warnings == []

    for status, released in (("cancelled", False), ("in_progress", False), ("planned", False)):
        release.status = status
        payload = record_to_jira_fields(
            release, loaded(release_mapping), on_create=False, user_resolver=NOBODY
        )
        assert payload.fields["released"] is released


# --------------------------------------------------------------------------- from Jira


def test_jira_to_record_changes_every_kind(workspace, feature_mapping, alice, robin):
    add_field_mapping(feature_mapping, "start_date", "customfield_10017", Direction.FROM_JIRA)
    fields = {
        "summary": "  Checkout\r\nflow ",
        "description": {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "paragraph",
                    "content": [
                        {"type": "text", "text": "Pay "},
                        {"type": "text", "text": "fast", "marks": [{"type": "strong"}]},
                    ],
                }
            ],
        },
        "status": IN_PROGRESS,
        "assignee": {
            "accountId": "5b10ac",
            "emailAddress": "ALICE@example.com",
            "displayName": "Someone Else",
        },
        "labels": ["ios-app", "signal", "Signal"],
        "duedate": "2024-04-30",
        "customfield_10015": "2024-01-01",  # to Jira once: never read back
        "customfield_10017": "2024-03-01",
        "timetracking": {"originalEstimate": "1d 2h", "originalEstimateSeconds": 36000},
        "customfield_10016": 5.0,
    }
    result = from_jira(fields, feature_mapping, workspace, api_version=3)
    changes = result.changes
    assert changes["name"] == "Checkout flow"
    assert "<strong>fast</strong>" in changes["description"]
    assert changes["status"] == "in_development"  # first pair of two on "In Progress"
    assert changes["assignee"] == alice  # by email, case-insensitively, before the name
    assert changes["tags"] == ["mobile", "signal"]
    assert changes["due_date"] == datetime.date(2024, 4, 30)
    assert changes["start_date"] == datetime.date(2024, 3, 1)
    assert changes["estimate_minutes"] == 600
    assert changes["story_points"] == Decimal("5.0")
    assert result.warnings == []


def test_wiki_description_is_sanitised_html(workspace, feature_mapping):
    result = from_jira(
        {"description": "Pay *fast*\n\n<script>alert(1)</script>"},
        feature_mapping,
        workspace,
        api_version=2,
        changed_field_ids=["description"],
    )
    html = result.changes["description"]
    assert "<strong>fast</strong>" in html
    assert "<script>" not in html
    assert from_jira(
        {"description": None}, feature_mapping, workspace, changed_field_ids=["description"]
    ).changes == {"description": ""}


def test_status_by_category_when_no_pair_matches(workspace, feature_mapping):
    def status_of(jira_status):
        return from_jira(
            {"status": jira_status}, feature_mapping, workspace, changed_field_ids=["status"]
        )

    qa = {"id": "77", "name": "QA", "statusCategory": {"key": "indeterminate"}}
    assert status_of(qa).changes == {"status": "in_development"}
    backlog = {"id": "78", "name": "Backlog", "statusCategory": {"key": "new"}}
    assert status_of(backlog).changes == {"status": "not_started"}
    closed = {"id": "6", "name": "Closed", "statusCategory": {"key": "done"}}
    assert status_of(closed).changes == {"status": "shipped"}

    unknown = status_of({"id": "79", "name": "Limbo", "statusCategory": {"key": "undefined"}})
    assert unknown.changes == {}
    assert any("'Limbo'" in w for w in unknown.warnings)


def test_status_pair_naming_a_status_this_kind_lacks_falls_back(workspace, feature_mapping):
    add_field_mapping(
        feature_mapping, "status", "customfield_1", values=[(0, "on_track", "3", "In Progress")]
    )
    for field_mapping in FieldMapping.objects.filter(record_mapping=feature_mapping):
        if field_mapping.jira_field_id == "status":
            field_mapping.delete()
    result = from_jira(
        {"customfield_1": IN_PROGRESS}, feature_mapping, workspace, changed_field_ids=None
    )
    assert result.changes["status"] == "in_development"
    assert any("'on_track', which is not a feature status" in w for w in result.warnings)


def test_user_from_jira_email_then_display_name_then_warning(
    workspace, feature_mapping, alice, robin, outsider
):
    def assignee_of(jira_user):
        return from_jira(
            {"assignee": jira_user}, feature_mapping, workspace, changed_field_ids=["assignee"]
        )

    assert assignee_of({"emailAddress": "alice@EXAMPLE.com"}).changes == {"assignee": alice}
    # Jira Cloud usually hides emails: the display name decides.
    assert assignee_of({"accountId": "1", "displayName": " robin  DIDDAMS"}).changes == {
        "assignee": robin
    }
    # An email that matches nobody here falls back to the name.
    assert assignee_of(
        {"emailAddress": "robin@elsewhere.org", "displayName": "Robin Diddams"}
    ).changes == {"assignee": robin}
    assert assignee_of(None).changes == {"assignee": None}

    # Someone from another account is never matched, by email or by name; never created.
    for jira_user in ({"emailAddress": "carol@example.com"}, {"displayName": "Carol Jones"}):
        result = assignee_of(jira_user)
        assert result.changes == {}
        assert any("assignee was not changed" in w for w in result.warnings)

    # Two members with one name: ambiguous, so no change.
    twin = add_member(workspace.account, make_user("robin2", email="r2@example.com"))
    twin.first_name, twin.last_name = "Robin", "Diddams"
    twin.save()
    result = assignee_of({"displayName": "Robin Diddams"})
    assert result.changes == {}
    assert any("Several members" in w for w in result.warnings)


def test_labels_from_jira_through_value_maps(workspace, feature_mapping):
    result = from_jira(
        {"labels": ["iphone", "ios-app", "x" * 120, 42, {"name": "opt"}]},
        feature_mapping,
        workspace,
        changed_field_ids=["labels"],
    )
    # "ios-app" -> mobile (first pair); "iphone" -> iphone (its own pair, third).
    assert result.changes["tags"] == ["iphone", "mobile", "x" * 100, "42", "opt"]
    assert any("cut" in w for w in result.warnings)
    assert from_jira(
        {"labels": None}, feature_mapping, workspace, changed_field_ids=["labels"]
    ).changes == {"tags": []}


def test_estimates_round_trip_and_working_time(workspace, feature_mapping):
    for minutes, text in ((600, "1d 2h"), (90, "1h 30m"), (2400, "5d"), (0, "0m")):
        assert format_estimate(minutes) == text
        assert parse_estimate(text) == minutes
    assert parse_estimate("1w 2d 3h 4m") == 2400 + 960 + 180 + 4
    assert parse_estimate("1.5h") == 90
    short_days = TimeTracking(hours_per_day=7.5, days_per_week=4)
    assert parse_estimate("1w 1d", short_days) == 4 * 450 + 450
    assert format_estimate(500, short_days) == "1d 50m"
    with pytest.raises(ValueError, match="not a duration"):
        parse_estimate("soon")

    def estimate_of(value, **kwargs):
        return from_jira(
            {"timetracking": value},
            feature_mapping,
            workspace,
            changed_field_ids=["timeoriginalestimate"],  # how a changelog names it
            **kwargs,
        )

    assert estimate_of({"originalEstimate": "1d 2h"}).changes == {"estimate_minutes": 600}
    assert estimate_of({"originalEstimate": "1d"}, time_tracking=short_days).changes == {
        "estimate_minutes": 450
    }
    assert estimate_of({}).changes == {"estimate_minutes": None}
    bad = estimate_of({"originalEstimate": "a while"})
    assert bad.changes == {}
    assert any("a while" in w for w in bad.warnings)
    # The numeric field in seconds; the issue's timeoriginalestimate backs up timetracking.
    add_field_mapping(feature_mapping, "estimate_minutes", "timeoriginalestimate")
    only_seconds = from_jira({"timeoriginalestimate": "7200"}, feature_mapping, workspace)
    assert only_seconds.changes["estimate_minutes"] == 120


def test_dates_and_numbers_from_jira(workspace, feature_mapping):
    result = from_jira(
        {"duedate": "2020-08-04T00:00:00.000+0000", "customfield_10016": "2.25"},
        feature_mapping,
        workspace,
        changed_field_ids=["duedate", "customfield_10016"],
    )
    assert result.changes == {
        "due_date": datetime.date(2020, 8, 4),
        "story_points": Decimal("2.2"),
    }
    result = from_jira(
        {"duedate": "04/08/2020", "customfield_10016": True},
        feature_mapping,
        workspace,
        changed_field_ids=["duedate", "customfield_10016"],
    )
    assert result.changes == {}
    assert len(result.warnings) == 2
    assert from_jira(
        {"duedate": None}, feature_mapping, workspace, changed_field_ids=["duedate"]
    ).changes == {"due_date": None}


def test_garbage_from_jira_gives_warnings_not_exceptions(workspace, feature_mapping, alice):
    garbage = {
        "summary": 42,
        "description": ["not", "adf"],
        "status": "weird",
        "assignee": "alice",
        "labels": "a,b",
        "duedate": 20200804,
        "timetracking": "lots",
        "customfield_10016": {"value": 3},
    }
    result = from_jira(garbage, feature_mapping, workspace)
    assert result.changes == {}
    assert len(result.warnings) == 8

    missing = from_jira({}, feature_mapping, workspace)
    assert missing.changes == {}
    assert any("no 'summary' field" in w for w in missing.warnings)

    for nonsense in (None, "issue", [1, 2], 7):
        answer = from_jira(nonsense, feature_mapping, workspace)
        assert answer.changes == {}
        assert answer.warnings

    for broken in ({"type": "doc", "content": "oops"}, {"x": 1}):
        broken_adf = from_jira(
            {"description": broken},
            feature_mapping,
            workspace,
            changed_field_ids=["description"],
        )
        assert broken_adf.changes == {}
        assert any("not an ADF document" in w for w in broken_adf.warnings)


def test_unknown_local_field_is_a_warning(workspace, feature_mapping):
    add_field_mapping(feature_mapping, "colour", "customfield_9")
    add_field_mapping(feature_mapping, "release_date", "customfield_8")  # releases only
    record = make_record(workspace, RecordKind.FEATURE)
    to_jira = record_to_jira_fields(
        record, loaded(feature_mapping), on_create=True, user_resolver=NOBODY
    )
    assert "customfield_9" not in to_jira.fields
    assert "customfield_8" not in to_jira.fields
    assert any("'colour' is not a field here" in w for w in to_jira.warnings)
    assert any("Release date does not exist on a feature" in w for w in to_jira.warnings)
    back = from_jira(
        {"customfield_9": "red", "customfield_8": "2024-01-01"},
        feature_mapping,
        workspace,
        changed_field_ids=["customfield_9", "customfield_8"],
    )
    assert back.changes == {}
    assert len(back.warnings) == 2


def test_version_from_jira(workspace, release_mapping):
    payload = json.loads(
        (WEBHOOKS / "atlassian_doc_via_miaplatform_version_created.json").read_text()
    )
    result = from_jira(payload["version"], release_mapping, workspace)
    assert result.changes == {
        "name": "v1",
        "description": "<p>This is the description</p>",
        "start_date": datetime.date(2024, 11, 26),
        "release_date": datetime.date(2024, 11, 30),
    }  # unreleased, and no record said to be done: status untouched
    assert result.warnings == []

    released = from_jira({**payload["version"], "released": True}, release_mapping, workspace)
    assert released.changes["status"] == "released"

    release = make_record(workspace, RecordKind.RELEASE, status="released")
    reopened = from_jira(payload["version"], release_mapping, workspace, record=release)
    assert reopened.changes["status"] == "in_progress"

    odd = from_jira({"released": "yes"}, release_mapping, workspace, changed_field_ids=["released"])
    assert odd.changes == {}
    assert odd.warnings


# --------------------------------------------------------------------------- webhooks


EXPECTED_FROM_WEBHOOK = {
    "pinpt_issue_updated_assignee.json": {"assignee": "robin"},
    "pinpt_issue_updated_description.json": {
        "description": "<p>This story is for tracking developer signup enrollment for the SDK</p>"
    },
    "pinpt_issue_updated_duedate.json": {"due_date": datetime.date(2020, 8, 4)},
    "pinpt_issue_updated_issuetype.json": {},
    "pinpt_issue_updated_labels.json": {"tags": ["signal"]},
    # Moved to another project: "Work Required" (category new) arrives by category.
    "pinpt_issue_updated_moved_project_key.json": {"status": "not_started"},
    # "Closed" (category done) with no pair: the first done status.
    "pinpt_issue_updated_resolution_status.json": {"status": "shipped"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED_FROM_WEBHOOK))
def test_real_webhook_fields_limited_to_its_changelog(name, workspace, feature_mapping, robin):
    payload = json.loads((WEBHOOKS / name).read_text())
    changed = changed_field_ids_from_changelog(payload["changelog"])
    assert changed
    result = jira_to_record_changes(
        payload["issue"]["fields"],
        loaded(feature_mapping),
        workspace=workspace,
        api_version=2,
        changed_field_ids=changed,
    )
    expected = dict(EXPECTED_FROM_WEBHOOK[name])
    if expected.get("assignee") == "robin":
        expected["assignee"] = robin
    assert result.changes == expected
    assert result.warnings == []


def test_changelog_field_ids_tolerate_garbage():
    assert changed_field_ids_from_changelog(None) == set()
    assert changed_field_ids_from_changelog({"items": "x"}) == set()
    assert changed_field_ids_from_changelog(
        {"items": [{"field": "Key"}, {"fieldId": "status", "field": "status"}, 3, {}]}
    ) == {"Key", "status"}


@pytest.mark.parametrize(
    ("resolution", "expected"),
    [
        ({"id": "10000", "name": "Done"}, "shipped"),
        ({"id": "10001", "name": "Won't Do"}, "will_not_implement"),
        ({"id": "10002", "name": "Declined"}, "will_not_implement"),
        ({"id": "10003", "name": "Duplicate"}, "will_not_implement"),
        ({"id": "10004", "name": "Cannot Reproduce"}, "will_not_implement"),
        (None, "shipped"),
    ],
)
def test_a_done_status_reads_its_resolution(resolution, expected):
    """Jira Cloud's shapes: a done-category status with the resolution beside it."""
    from integrations.transform import _status_from_jira

    class _NoPairs:
        class value_mappings:  # the related manager's shape
            @staticmethod
            def all():
                return []

    status = {"id": "10002", "name": "Done", "statusCategory": {"id": 3, "key": "done"}}
    assert _status_from_jira(_NoPairs, status, "feature", [], resolution=resolution) == expected
