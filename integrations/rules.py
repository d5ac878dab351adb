"""The mapping rules as pure functions over rows (SPEC.md "Record mappings and Linked to",
"Record relationships"). Nothing here touches the database: services load rows, ask these
functions, and write what they answer, so the rules are tested on plain data.

A *row* is one line of the record mappings table, in order. Its issue types carry what the
stored Jira configuration said about them (``hierarchy_level``, ``subtask``), so the rules can
judge a pairing without the configuration at hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from records.kinds import RecordKind, is_parent_child, kind_label, kind_plural, parent_kinds_of
from records.workflows import statuses_for

FIX_VERSIONS = "fix_versions"
PARENT = "parent"
EPIC_LINK = "epic_link"
SUBTASK_PARENT = "subtask_parent"
JIRA_FIELD_LABELS = {
    FIX_VERSIONS: "Fix versions",
    PARENT: "Parent",
    EPIC_LINK: "Epic link",
    SUBTASK_PARENT: "Sub-task parent",
}
# Jira gives an issue one parent only; each of these fields sets it.
PARENT_SETTING_FIELDS = frozenset({PARENT, EPIC_LINK, SUBTASK_PARENT})

ISSUE_TYPE = "issue_type"
VERSION = "version"

CLOUD = "cloud"
DATA_CENTER = "data_center"

# Record kinds whose record links can be mapped to Jira issue links.
RELATIONSHIP_KINDS = (
    RecordKind.INITIATIVE,
    RecordKind.RELEASE,
    RecordKind.EPIC,
    RecordKind.FEATURE,
)

# Our status categories <-> Jira's statusCategory keys.
STATUS_CATEGORY_TO_JIRA = {"todo": "new", "in_progress": "indeterminate", "done": "done"}


@dataclass(frozen=True)
class Link:
    parent_kind: str
    jira_field: str


@dataclass(frozen=True)
class Row:
    kind: str
    target: str = ISSUE_TYPE
    # [{"id", "name", "hierarchy_level"?, "subtask"?}, ...]
    issue_types: tuple[dict, ...] = ()
    default_issue_type_id: str = ""
    linked_to: tuple[Link, ...] = ()

    @property
    def label(self) -> str:
        return kind_plural(self.kind)

    @property
    def default_issue_type(self) -> dict | None:
        for issue_type in self.issue_types:
            if str(issue_type.get("id")) == str(self.default_issue_type_id):
                return issue_type
        return self.issue_types[0] if self.issue_types else None


@dataclass
class Problem:
    """One thing wrong or missing, in words, with where it is (row index, 0-based)."""

    message: str
    row: int | None = None
    severity: str = "warning"  # "error" blocks enabling; "warning" is shown
    code: str = ""
    field: str = ""

    def as_dict(self) -> dict:
        return {
            "message": self.message,
            "row": self.row,
            "severity": self.severity,
            "code": self.code,
            "field": self.field,
        }


@dataclass
class LinkedToCheck:
    ok: bool
    message: str = ""
    field: str = "jira_field"  # the input at fault: "jira_field" or "parent_kind"


# -- issue type facts ------------------------------------------------------------------------


def _level(issue_type: dict | None) -> int | None:
    if issue_type is None:
        return None
    level = issue_type.get("hierarchy_level")
    if level is None:
        return None
    try:
        return int(level)
    except (TypeError, ValueError):
        return None


def _is_subtask(issue_type: dict | None) -> bool:
    if issue_type is None:
        return False
    return bool(issue_type.get("subtask")) or _level(issue_type) == -1


def _type_name(issue_type: dict | None) -> str:
    if not issue_type:
        return "(no issue type)"
    return str(issue_type.get("name") or issue_type.get("id"))


def row_index(rows: Sequence[Row], kind: str) -> int | None:
    for index, row in enumerate(rows):
        if row.kind == kind:
            return index
    return None


# -- Linked to -------------------------------------------------------------------------------


def check_pairing(parent: Row, child: Row, jira_field: str) -> LinkedToCheck:
    """Can ``child`` rows be linked to ``parent`` rows through ``jira_field``? Ignores order."""
    if not is_parent_child(parent.kind, child.kind):
        possible = ", ".join(kind_plural(k) for k in parent_kinds_of(child.kind)) or "none"
        return LinkedToCheck(
            False,
            f"{kind_plural(child.kind)} cannot be linked to {kind_plural(parent.kind).lower()}: "
            f"it is not one of the six parent-child relationships. Possible parents of "
            f"{kind_plural(child.kind).lower()}: {possible}.",
            "parent_kind",
        )
    if jira_field not in JIRA_FIELD_LABELS:
        return LinkedToCheck(
            False,
            f"'{jira_field}' is not a Jira field for Linked to. Use one of: "
            f"{', '.join(JIRA_FIELD_LABELS)}.",
        )
    if child.target == VERSION:
        return LinkedToCheck(
            False, "A row mapped to Jira versions cannot be linked to a parent in Jira."
        )
    if parent.target == VERSION and jira_field != FIX_VERSIONS:
        return LinkedToCheck(
            False,
            f"The {kind_plural(parent.kind)} row maps to Jira versions, so its children can only "
            "be linked through Fix versions.",
        )
    if jira_field == FIX_VERSIONS:
        if parent.target != VERSION:
            return LinkedToCheck(
                False,
                f"Fix versions can only link to a row mapped to Jira versions, and the "
                f"{kind_plural(parent.kind)} row maps to issue types.",
            )
        return LinkedToCheck(True)

    child_type = child.default_issue_type
    parent_type = parent.default_issue_type
    child_level, parent_level = _level(child_type), _level(parent_type)
    if jira_field == SUBTASK_PARENT:
        if child_type is not None and not _is_subtask(child_type):
            return LinkedToCheck(
                False,
                f"Sub-task parent needs the {kind_plural(child.kind)} row to map to a sub-task "
                f"issue type, and '{_type_name(child_type)}' is not a sub-task.",
            )
        if parent_type is not None and _is_subtask(parent_type):
            return LinkedToCheck(
                False, "A sub-task cannot be the parent of another sub-task in Jira."
            )
        return LinkedToCheck(True)
    if child_type is not None and _is_subtask(child_type):
        return LinkedToCheck(
            False,
            f"'{_type_name(child_type)}' is a sub-task: link it with Sub-task parent instead.",
        )
    if jira_field == EPIC_LINK:
        if parent_level is not None and parent_level != 1:
            return LinkedToCheck(
                False,
                f"Epic link needs the {kind_plural(parent.kind)} row to map to an epic-level "
                f"issue type, and '{_type_name(parent_type)}' is at hierarchy level "
                f"{parent_level}.",
            )
        if child_level is not None and child_level != 0:
            return LinkedToCheck(
                False,
                f"Epic link can only be set on standard issue types (level 0), and "
                f"'{_type_name(child_type)}' is at hierarchy level {child_level}.",
            )
        return LinkedToCheck(True)
    # PARENT
    if child_level is not None and parent_level is not None and child_level != parent_level - 1:
        return LinkedToCheck(
            False,
            f"Parent cannot link '{_type_name(child_type)}' (hierarchy level {child_level}) to "
            f"'{_type_name(parent_type)}' (level {parent_level}): in Jira a parent must be "
            "exactly one level above its child.",
        )
    return LinkedToCheck(True)


def suggest_jira_field(parent: Row, child: Row, deployment: str = CLOUD) -> str | None:
    """The Jira field that should carry this relationship, or None if none fits."""
    if not is_parent_child(parent.kind, child.kind) or child.target == VERSION:
        return None
    if parent.target == VERSION:
        return FIX_VERSIONS
    if _is_subtask(child.default_issue_type):
        return SUBTASK_PARENT if check_pairing(parent, child, SUBTASK_PARENT).ok else None
    if (
        deployment == DATA_CENTER
        and _level(parent.default_issue_type) == 1
        and check_pairing(parent, child, EPIC_LINK).ok
    ):
        return EPIC_LINK
    return PARENT if check_pairing(parent, child, PARENT).ok else None


def auto_linked_to(rows_above: Sequence[Row], new_row: Row, deployment: str = CLOUD) -> list[Link]:
    """Linked to entries set automatically when ``new_row`` is added below ``rows_above``:
    one per parent type whose row is already above, never a second parent-setting one."""
    links: list[Link] = []
    sets_parent = False
    for parent_kind in parent_kinds_of(new_row.kind):
        index = row_index(rows_above, parent_kind)
        if index is None:
            continue
        jira_field = suggest_jira_field(rows_above[index], new_row, deployment)
        if jira_field is None:
            continue
        if jira_field in PARENT_SETTING_FIELDS:
            if sets_parent:
                continue
            sets_parent = True
        links.append(Link(parent_kind, jira_field))
    return links


def check_new_linked_to(rows: Sequence[Row], child_index: int, link: Link) -> LinkedToCheck:
    """Can ``link`` be added by hand to row ``child_index``?"""
    child = rows[child_index]
    if link.parent_kind not in RecordKind.values:
        return LinkedToCheck(False, f"'{link.parent_kind}' is not a record type.", "parent_kind")
    if any(existing.parent_kind == link.parent_kind for existing in child.linked_to):
        return LinkedToCheck(
            False,
            f"The {child.label} row is already linked to {kind_plural(link.parent_kind).lower()}: "
            "remove that entry first to change its Jira field.",
            "parent_kind",
        )
    parent_index = row_index(rows, link.parent_kind)
    if parent_index is None:
        if not is_parent_child(link.parent_kind, child.kind):
            return check_pairing(Row(kind=link.parent_kind), child, link.jira_field)
        return LinkedToCheck(
            False,
            f"There is no {kind_plural(link.parent_kind)} row to link to: add it first.",
            "parent_kind",
        )
    # A parent row below the child's is allowed by hand, in place (SPEC: a child row added
    # first "can add it by hand"): linked_to_problems warns about the order.
    return check_pairing(rows[parent_index], child, link.jira_field)


def _consequence(parent_kind: str, child_kind: str, jira_field: str | None) -> str:
    child_p = kind_plural(child_kind).lower()
    parent_l = kind_label(parent_kind).lower()
    if jira_field == FIX_VERSIONS:
        sent = f"{child_p} sent to Jira will not be put in their {parent_l}'s Fix versions"
    else:
        sent = f"{child_p} sent to Jira will not be linked to their {parent_l} in Jira"
    return f"{sent}, and {child_p} created in Jira will not be imported under their {parent_l}"


def linked_to_problems(rows: Sequence[Row], deployment: str = CLOUD) -> list[Problem]:
    """Every Linked to problem, row by row: entries that point below or nowhere, impossible
    pairings, parent conflicts, and missing relationships that are possible given the rows."""
    problems: list[Problem] = []
    for index, row in enumerate(rows):
        where = f"Row {index + 1} ({row.label})"
        parent_setter: Link | None = None
        for link in row.linked_to:
            parent_index = row_index(rows, link.parent_kind)
            parent_p = kind_plural(link.parent_kind)
            if parent_index is None:
                problems.append(
                    Problem(
                        f"{where} is linked to {parent_p.lower()}, but there is no "
                        f"{parent_p} row: the link is not used.",
                        index,
                        "error",
                        "linked_to_missing_row",
                    )
                )
                continue
            check = check_pairing(rows[parent_index], row, link.jira_field)
            if not check.ok:
                problems.append(Problem(f"{where}: {check.message}", index, "error", "pairing"))
                continue
            if parent_index > index:
                problems.append(
                    Problem(
                        f"{where} is linked to {parent_p.lower()}, whose row is below it "
                        f"(row {parent_index + 1}). The link works, but rows added later get "
                        f"Linked to only from rows above them: move the {parent_p} row above "
                        f"row {index + 1} to keep the table in order.",
                        index,
                        "warning",
                        "linked_to_below",
                    )
                )
            if link.jira_field in PARENT_SETTING_FIELDS:
                if parent_setter is not None:
                    problems.append(
                        Problem(
                            f"{where} is linked to both {kind_plural(parent_setter.parent_kind)} "
                            f"and {parent_p} through the parent field, but Jira gives an issue "
                            f"one parent only: the {kind_label(parent_setter.parent_kind)} "
                            f"link is used and the {kind_label(link.parent_kind)} link is "
                            "ignored.",
                            index,
                            "warning",
                            "parent_conflict",
                        )
                    )
                else:
                    parent_setter = link
        linked_kinds = {link.parent_kind for link in row.linked_to}
        for parent_kind in parent_kinds_of(row.kind):
            if parent_kind in linked_kinds:
                continue
            parent_index = row_index(rows, parent_kind)
            if parent_index is None:
                continue
            jira_field = suggest_jira_field(rows[parent_index], row, deployment)
            if jira_field is None:
                continue
            if jira_field in PARENT_SETTING_FIELDS and parent_setter is not None:
                continue  # Jira's one parent is already taken: adding this would conflict
            message = (
                f"{row.label} have no Linked to {kind_plural(parent_kind).lower()}: "
                f"{_consequence(parent_kind, row.kind, jira_field)}."
            )
            if parent_index > index:
                message += f" Move the {kind_plural(parent_kind)} row above row {index + 1} first."
            problems.append(Problem(message, index, "warning", "linked_to_missing"))
    return problems


def parent_setting_entry(entries: Iterable, parent_of: Callable[[str], object | None]):
    """THE one-parent rule (Jira gives an issue one parent; several Linked-to entries may set
    it): of a row's parent-setting entries in order, the first whose parent is set on the
    record decides Jira's parent; with none set, the first (whose clearing clears Jira's).
    Returns (that entry or None, the other entries whose parent is set, which Jira cannot
    also hold). The sender and the inbound side both ask here."""
    setters = [e for e in entries if e.jira_field in PARENT_SETTING_FIELDS]
    with_parent = [e for e in setters if parent_of(e.parent_kind) is not None]
    if with_parent:
        return with_parent[0], with_parent[1:]
    return (setters[0] if setters else None), []


def effective_parent_link(row: Row) -> Link | None:
    """The entry that sets the Jira parent: the first parent-setting one."""
    for link in row.linked_to:
        if link.jira_field in PARENT_SETTING_FIELDS:
            return link
    return None


# -- configuration checks --------------------------------------------------------------------


def configuration_problems(rows: Sequence[Row], configuration: dict) -> list[Problem]:
    """Rows that point at issue types Jira no longer has in the stored configuration."""
    if not configuration:
        return []
    project_key = (configuration.get("project") or {}).get("key", "")
    known = {str(t.get("id")) for t in configuration.get("issue_types") or []}
    problems = []
    for index, row in enumerate(rows):
        if row.target != ISSUE_TYPE:
            continue
        if not row.issue_types:
            problems.append(
                Problem(
                    f"Row {index + 1} ({row.label}) maps to no Jira issue type: choose one.",
                    index,
                    "error",
                    "no_issue_type",
                )
            )
        for issue_type in row.issue_types:
            if str(issue_type.get("id")) not in known:
                problems.append(
                    Problem(
                        f"Row {index + 1} ({row.label}) maps to issue type "
                        f"'{issue_type.get('name')}' ({issue_type.get('id')}), which Jira no "
                        f"longer has in project {project_key}.",
                        index,
                        "warning",
                        "issue_type_gone",
                    )
                )
    return problems


# -- recommended defaults --------------------------------------------------------------------


def _pick_type(issue_types: Iterable[dict], *, names=(), level=None, subtask=None) -> dict | None:
    types = list(issue_types)
    for name in names:
        for issue_type in types:
            if str(issue_type.get("name", "")).lower() == name.lower():
                return issue_type
    if level is not None or subtask is not None:
        for issue_type in types:
            if subtask is not None and bool(issue_type.get("subtask")) != subtask:
                continue
            if level is not None and _level(issue_type) != level:
                continue
            return issue_type
    return None


def issue_type_ref(issue_type: dict) -> dict:
    """What a row stores about an issue type from the configuration."""
    return {
        "id": str(issue_type.get("id")),
        "name": str(issue_type.get("name", "")),
        "hierarchy_level": _level(issue_type),
        "subtask": bool(issue_type.get("subtask")),
    }


def recommended_rows(configuration: dict, deployment: str = CLOUD) -> list[Row]:
    """The recommended table, Linked to included, from the project's real issue types."""
    issue_types = [t for t in configuration.get("issue_types") or [] if t.get("id")]
    chosen: list[tuple[str, dict | None]] = [
        (
            RecordKind.INITIATIVE,
            _pick_type(issue_types, level=2) or _pick_type(issue_types, names=("Initiative",)),
        ),
        (RecordKind.RELEASE, None),
        (RecordKind.EPIC, _pick_type(issue_types, names=("Epic",), level=1)),
        (RecordKind.FEATURE, _pick_type(issue_types, names=("Story", "Task"), level=0)),
        (RecordKind.REQUIREMENT, _pick_type(issue_types, names=("Sub-task",), subtask=True)),
    ]
    wanted_links = {
        RecordKind.EPIC: [RecordKind.INITIATIVE, RecordKind.RELEASE],
        RecordKind.FEATURE: [RecordKind.RELEASE, RecordKind.EPIC],
        RecordKind.REQUIREMENT: [RecordKind.FEATURE],
    }
    rows: list[Row] = []
    for kind, issue_type in chosen:
        if kind == RecordKind.RELEASE:
            row = Row(kind=kind, target=VERSION)
        elif issue_type is None:
            continue
        else:
            ref = issue_type_ref(issue_type)
            row = Row(kind=kind, issue_types=(ref,), default_issue_type_id=ref["id"])
        links = []
        for parent_kind in wanted_links.get(kind, []):
            index = row_index(rows, parent_kind)
            if index is None:
                continue
            jira_field = suggest_jira_field(rows[index], row, deployment)
            if jira_field is not None:
                links.append(Link(parent_kind, jira_field))
        rows.append(
            Row(row.kind, row.target, row.issue_types, row.default_issue_type_id, tuple(links))
        )
    return rows


@dataclass(frozen=True)
class ValuePair:
    local_value: str
    jira_value_id: str
    jira_value_name: str


def version_status_pairs(kind: str) -> list[ValuePair]:
    """A version has no status, only its released flag: done statuses <-> released."""
    return [
        ValuePair(s.key, flag, flag)
        for s in statuses_for(kind)
        if s.key != "cancelled"
        for flag in ["true" if s.category == "done" else "false"]
    ]


# -- first match wins ------------------------------------------------------------------------


def value_to_jira(pairs: Sequence[ValuePair], local_value: str) -> ValuePair | None:
    """The first pair for our value (any case)."""
    wanted = (local_value or "").strip().casefold()
    if not wanted:
        return None
    return next((p for p in pairs if p.local_value.strip().casefold() == wanted), None)


def value_from_jira(
    pairs: Sequence[ValuePair], *, jira_id: str = "", jira_name: str = ""
) -> ValuePair | None:
    """The first pair for Jira's value: by id over all pairs first (ids are exact), then by
    name, any case."""
    if jira_id:
        found = next((p for p in pairs if p.jira_value_id and p.jira_value_id == jira_id), None)
        if found:
            return found
    if jira_name:
        wanted = jira_name.strip().casefold()
        return next((p for p in pairs if p.jira_value_name.strip().casefold() == wanted), None)
    return None


@dataclass(frozen=True)
class RelationshipPair:
    link_type: str
    jira_link_type_id: str
    jira_direction: str = "outward"
    sync_direction: str = "both"
    ref: object = field(default=None, compare=False)


def suggest_jira_link_type(link_type_label: str, jira_link_types: Sequence[dict]) -> dict | None:
    """The Jira issue link type that reads like a record link type here ("Blocks" ->
    Blocks, "Duplicates" -> Duplicate, "Relates to" -> Relates); else Jira's Relates; else
    the first. For a new pair in the Record links modal."""
    label = link_type_label.casefold()
    for jira in jira_link_types:
        outward = str(jira.get("outward", "")).casefold()
        name = str(jira.get("name", "")).casefold()
        if outward == label or (name and label.startswith(name)):
            return jira
    for jira in jira_link_types:
        if str(jira.get("name", "")).casefold() == "relates":
            return jira
    return jira_link_types[0] if jira_link_types else None


def relationship_outgoing(pairs: Sequence[RelationshipPair], link_type: str):
    """The first pair for our ``link_type`` that syncs to Jira."""
    for pair in pairs:
        if pair.link_type == link_type and pair.sync_direction in ("both", "to_jira"):
            return pair
    return None


def relationship_incoming(
    pairs: Sequence[RelationshipPair],
    jira_link_type_id: str,
    jira_direction: str,
    *,
    symmetric: bool = False,
):
    """The first pair for Jira's link type and direction that syncs from Jira. For a
    symmetric Jira type (Relates: inward and outward read the same) direction does not count."""
    for pair in pairs:
        if (
            pair.jira_link_type_id == str(jira_link_type_id)
            and (symmetric or pair.jira_direction == jira_direction)
            and pair.sync_direction in ("both", "from_jira")
        ):
            return pair
    return None


# --------------------------------------------------------------------------- relationships


@dataclass(frozen=True)
class RecommendedRelationship:
    """One recommended record link mapping: ``link_type`` here <-> a Jira link type, read
    outward (this record is the Jira link's source) or inward."""

    link_type: str
    jira_link_type_id: str
    jira_direction: str  # "outward" / "inward"


# Each link type here, and the Jira link types that carry it, best first: Jira's defaults
# (Relates, Blocks, Duplicate, Cloners). "Depends on" is Blocks read the other way (A depends
# on B: B blocks A); what Jira has no type for travels as Relates.
_RELATIONSHIP_PREFERENCES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("relates_to", (("relates", "outward"),)),
    ("blocks", (("blocks", "outward"), ("relates", "outward"))),
    ("depends_on", (("blocks", "inward"), ("relates", "outward"))),
    ("duplicates", (("duplicate", "outward"), ("cloners", "outward"), ("relates", "outward"))),
    ("impacts", (("relates", "outward"),)),
    ("contains", (("relates", "outward"),)),
)


def recommended_relationships(link_types: Iterable[dict]) -> list[RecommendedRelationship]:
    """Every link type here mapped to one of the project's real Jira link types (matched by
    name), so no record link is left out; none when the project has none of them."""
    by_name = {
        str(t.get("name") or "").strip().casefold(): str(t.get("id"))
        for t in link_types or ()
        if isinstance(t, dict) and t.get("id")
    }
    result = []
    for link_type, preferences in _RELATIONSHIP_PREFERENCES:
        for name, direction in preferences:
            if name in by_name:
                result.append(RecommendedRelationship(link_type, by_name[name], direction))
                break
    return result
