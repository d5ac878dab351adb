"""The Linked-to rules, value and relationship first-match rules, as pure functions."""

from integrations import rules
from integrations.rules import Link, Row, ValuePair

from .conftest import DEMO_CONFIGURATION, issue_type

STORY = issue_type("10001", "Story")
EPIC = issue_type("10000", "Epic", 1)
INITIATIVE = issue_type("10005", "Initiative", 2)
SUBTASK = issue_type("10004", "Sub-task", -1, True)


def row(kind, it=None, links=()):
    if it is None:
        return Row(kind=kind, target=rules.VERSION, linked_to=tuple(links))
    return Row(kind, rules.ISSUE_TYPE, (it,), it["id"], tuple(links))


def test_release_row_then_feature_row_links_automatically():
    links = rules.auto_linked_to([row("release")], row("feature", STORY))
    assert links == [Link("release", "fix_versions")]


def test_feature_row_first_gets_no_link_to_a_later_release():
    assert rules.auto_linked_to([], row("feature", STORY)) == []
    # the release row added after has no parent types, so nothing links back
    assert rules.auto_linked_to([row("feature", STORY)], row("release")) == []
    # by hand it is allowed
    rows = [row("feature", STORY), row("release")]
    check = rules.check_new_linked_to([rows[1], rows[0]], 1, Link("release", "fix_versions"))
    assert check.ok


def test_auto_fill_never_creates_a_second_parent():
    above = [row("initiative", INITIATIVE), row("epic", EPIC)]
    links = rules.auto_linked_to(above, row("feature", STORY))
    # story can be under the epic (level 1) but not the initiative (level 2): one parent only
    assert links == [Link("epic", "parent")]


def test_data_center_uses_epic_link_for_epics():
    links = rules.auto_linked_to([row("epic", EPIC)], row("feature", STORY), rules.DATA_CENTER)
    assert links == [Link("epic", "epic_link")]


def test_requirement_uses_subtask_parent():
    links = rules.auto_linked_to([row("feature", STORY)], row("requirement", SUBTASK))
    assert links == [Link("feature", "subtask_parent")]


def test_impossible_pairings_are_refused_with_reasons():
    rows = [row("release"), row("epic", EPIC), row("feature", STORY), row("requirement", SUBTASK)]
    not_a_relationship = rules.check_new_linked_to(rows, 3, Link("epic", "parent"))
    assert not not_a_relationship.ok
    assert "six parent-child" in not_a_relationship.message
    assert not_a_relationship.field == "parent_kind"

    fix_versions_to_issue_type = rules.check_new_linked_to(rows, 2, Link("epic", "fix_versions"))
    assert not fix_versions_to_issue_type.ok
    assert "versions" in fix_versions_to_issue_type.message

    subtask_parent_on_story = rules.check_new_linked_to(rows, 2, Link("epic", "subtask_parent"))
    assert not subtask_parent_on_story.ok
    assert "not a sub-task" in subtask_parent_on_story.message

    rows2 = [row("initiative", INITIATIVE), row("feature", STORY)]
    bad_level = rules.check_new_linked_to(rows2, 1, Link("initiative", "parent"))
    assert not bad_level.ok
    assert "one level above" in bad_level.message

    below = [row("feature", STORY), row("epic", EPIC)]
    check = rules.check_new_linked_to(below, 0, Link("epic", "parent"))
    assert check.ok  # below is allowed by hand, in place; linked_to_problems warns


def test_linked_to_a_row_below_is_allowed_with_a_warning_about_order():
    rows = [row("epic", EPIC), row("feature", STORY), row("release")]
    assert rules.check_new_linked_to(rows, 1, Link("release", "fix_versions")).ok
    rows[1] = row("feature", STORY, [Link("release", "fix_versions")])
    [below] = [p for p in rules.linked_to_problems(rows) if p.code == "linked_to_below"]
    assert below.severity == "warning"
    assert "move the Releases row above row 2" in below.message


def test_conflict_keeps_the_first_and_warns():
    feature = row("feature", STORY, [Link("epic", "parent"), Link("initiative", "parent")])
    rows = [row("initiative", issue_type("1", "Theme", 1)), row("epic", EPIC), feature]
    problems = rules.linked_to_problems(rows)
    conflicts = [p for p in problems if p.code == "parent_conflict"]
    assert len(conflicts) == 1
    assert conflicts[0].row == 2
    assert "Epic link is used" in conflicts[0].message
    assert rules.effective_parent_link(feature) == Link("epic", "parent")


def test_missing_link_warning_says_what_it_costs():
    rows = [row("release"), row("feature", STORY)]
    problems = rules.linked_to_problems(rows)
    assert [p.message for p in problems] == [
        "Features have no Linked to releases: features sent to Jira will not be put in their "
        "release's Fix versions, and features created in Jira will not be imported under their "
        "release."
    ]


def test_link_pointing_below_is_a_warning_about_order_not_dropped():
    rows = [row("feature", STORY, [Link("release", "fix_versions")]), row("release")]
    problems = rules.linked_to_problems(rows)
    assert [(p.code, p.severity) for p in problems] == [("linked_to_below", "warning")]
    assert problems[0].row == 0
    # and it may be added by hand in place (the child row first)
    assert rules.check_new_linked_to(
        [row("feature", STORY), row("release")], 0, Link("release", "fix_versions")
    ).ok


def test_recommended_rows_for_demo_and_init():
    demo = dict(DEMO_CONFIGURATION)
    demo["issue_types"] = [t for t in demo["issue_types"] if t["name"] != "Initiative"]
    rows = rules.recommended_rows(demo)
    assert [(r.kind, r.target, [t["name"] for t in r.issue_types]) for r in rows] == [
        ("release", "version", []),
        ("epic", "issue_type", ["Epic"]),
        ("feature", "issue_type", ["Story"]),
        ("requirement", "issue_type", ["Sub-task"]),
    ]
    assert rows[1].linked_to == (Link("release", "fix_versions"),)
    assert rows[2].linked_to == (Link("release", "fix_versions"), Link("epic", "parent"))
    assert rows[3].linked_to == (Link("feature", "subtask_parent"),)
    full = rules.recommended_rows(DEMO_CONFIGURATION)
    assert full[0].kind == "initiative"
    assert full[2].linked_to == (Link("initiative", "parent"), Link("release", "fix_versions"))
    assert not [p for p in rules.linked_to_problems(full) if p.severity == "error"]


def test_feature_falls_back_to_task():
    config = {"issue_types": [issue_type("1", "Task"), issue_type("2", "Epic", 1)]}
    rows = rules.recommended_rows(config)
    assert [r.issue_types[0]["name"] for r in rows if r.kind == "feature"] == ["Task"]


def test_value_mappings_first_match_each_way():
    pairs = [
        ValuePair("in_development", "3", "In Progress"),
        ValuePair("in_review", "3", "In Progress"),
        ValuePair("in_review", "10001", "In Review"),
    ]
    assert rules.value_to_jira(pairs, "in_review").jira_value_name == "In Progress"
    assert rules.value_from_jira(pairs, jira_id="3").local_value == "in_development"
    assert rules.value_from_jira(pairs, jira_name="in review").local_value == "in_review"
    assert rules.value_to_jira(pairs, "shipped") is None


def test_version_status_pairs_follow_the_released_flag():
    pairs = rules.version_status_pairs("release")
    assert rules.value_to_jira(pairs, "released").jira_value_name == "true"
    assert rules.value_to_jira(pairs, "in_progress").jira_value_name == "false"
    assert rules.value_to_jira(pairs, "cancelled") is None
    assert rules.value_from_jira(pairs, jira_name="true").local_value == "released"
    assert rules.value_from_jira(pairs, jira_name="false").local_value == "planned"


def test_value_ids_win_over_names_across_all_pairs():
    pairs = [
        ValuePair("in_review", "", "In Progress"),
        ValuePair("in_development", "3", "Started"),
    ]
    # An id is exact: it beats an earlier pair that only matches by name.
    assert rules.value_from_jira(pairs, jira_id="3", jira_name="In Progress").local_value == (
        "in_development"
    )
    assert rules.value_from_jira(pairs, jira_name="IN PROGRESS").local_value == "in_review"


def test_relationships_first_match_each_way():
    pairs = [
        rules.RelationshipPair("relates_to", "10003"),
        rules.RelationshipPair("contains", "10003"),
        rules.RelationshipPair("blocks", "10000", sync_direction="to_jira"),
    ]
    assert rules.relationship_outgoing(pairs, "contains").jira_link_type_id == "10003"
    assert rules.relationship_incoming(pairs, "10003", "outward").link_type == "relates_to"
    # a one-way pair never carries links the other way
    assert rules.relationship_incoming(pairs, "10000", "outward") is None
