"""Field values between records here and Jira issues / versions.

Pure conversions the sync engine calls: no HTTP, and database reads only to find a
workspace member for a Jira user. Everything Jira sends is treated as untrusted input: a
missing key, a null or a value of the wrong type becomes a warning (and no change), never an
exception.

Value mappings (status, tags, choice lists) are ordered pairs; in each direction the **first
matching pair wins** (SPEC.md "Field mappings"). Jira values are matched by id first, then by
name, case-insensitively.
"""

from __future__ import annotations

import datetime
import html
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import nh3
from django.contrib.auth import get_user_model
from django.db.models import Q, Value
from django.db.models.functions import Concat, Lower, Trim

from accounts.models import Workspace
from records.models import Record
from records.sanitize import sanitize_html
from records.workflows import Status, is_valid_status, statuses_for

from .fields import LOCAL_FIELDS, ValueKind
from .models import Direction, FieldMapping, RecordMapping, ValueMapping
from .rules import ValuePair, value_from_jira, value_to_jira

ApiVersion = Literal[2, 3]

# A Jira user as Jira answers it ({"accountId", "displayName", "emailAddress"} on Cloud,
# {"name", "key", "displayName", "emailAddress"} on Data Center), or None when not found.
JiraUser = Mapping[str, Any]
# Called with the member's email first, then (if that found nobody) with their display name;
# an answer to the display-name call counts only if its displayName is that name. Errors it
# raises (a Jira outage, a rate limit) propagate: the sync engine decides whether to retry.
UserResolver = Callable[[str], JiraUser | None]

SUMMARY_MAX_LENGTH = 255
LABEL_MAX_LENGTH = 255
TAG_MAX_LENGTH = 100  # records.models.Tag.name
STORY_POINTS_MAX = Decimal("99999.9")  # Record.story_points: 6 digits, 1 decimal place
# Jira names these fields differently in a changelog than in the issue's fields.
_CHANGELOG_ALIASES: dict[str, frozenset[str]] = {
    "timetracking": frozenset({"timetracking", "timeoriginalestimate", "timeestimate"}),
    "timeoriginalestimate": frozenset({"timeoriginalestimate", "timetracking"}),
}
# Jira status category key -> our workflow category.
_CATEGORY_FROM_JIRA = {"new": "todo", "indeterminate": "in_progress", "done": "done"}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class JiraValue:
    """A Jira status / option / label picked by a value mapping: id (may be empty) and name."""

    id: str
    name: str


@dataclass
class ToJiraResult:
    """The ``fields`` payload for a create / edit, plus what cannot go in it.

    ``status`` is not a Jira field: moving an issue needs a transition to this status, which
    the sync engine finds with GET /issue/{key}/transitions.
    """

    fields: dict[str, Any] = field(default_factory=dict)
    status: JiraValue | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class FromJiraResult:
    """``changes`` are keyword arguments for ``records.services.record_update``."""

    changes: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TimeTracking:
    """Jira's working time: by default a 5-day week of 8-hour days (Jira's own default)."""

    hours_per_day: float = 8
    days_per_week: float = 5

    @property
    def minutes_per_day(self) -> int:
        return max(1, round(self.hours_per_day * 60))

    @property
    def minutes_per_week(self) -> int:
        return max(1, round(self.hours_per_day * self.days_per_week * 60))


DEFAULT_TIME_TRACKING = TimeTracking()


class _Skip(Exception):
    """A field cannot be converted; the message is the warning to report."""


# --------------------------------------------------------------------------- value maps


def _value_mappings(field_mapping: FieldMapping) -> list[ValueMapping]:
    # .all() uses a prefetch when the caller made one; ordering is the model's (position, id).
    return list(field_mapping.value_mappings.all())


def _jira_id_and_name(jira_value: Any) -> tuple[str, str]:
    """Jira sends a status / option / user-picker value as an object or a bare string."""
    if isinstance(jira_value, Mapping):
        raw_id = jira_value.get("id")
        raw_name = jira_value.get("name", jira_value.get("value"))
        return (
            "" if raw_id is None else str(raw_id).strip(),
            raw_name.strip() if isinstance(raw_name, str) else "",
        )
    if isinstance(jira_value, bool) or jira_value is None:
        return "", ""
    if isinstance(jira_value, int | str):
        text = str(jira_value).strip()
        return text, text
    return "", ""


def _pairs(field_mapping: FieldMapping) -> list[ValuePair]:
    return [
        ValuePair(v.local_value, v.jira_value_id, v.jira_value_name)
        for v in _value_mappings(field_mapping)
    ]


def value_map_to_jira(field_mapping: FieldMapping, local_value: str) -> JiraValue | None:
    """The Jira value of the first pair whose local value matches (rules.value_to_jira)."""
    pair = value_to_jira(_pairs(field_mapping), local_value)
    return JiraValue(id=pair.jira_value_id, name=pair.jira_value_name) if pair else None


def value_map_from_jira(field_mapping: FieldMapping, jira_value: Any) -> str | None:
    """The local value of the first pair matching a Jira value (rules.value_from_jira).
    ``jira_value`` is an object with id / name (or value) or a bare id or name."""
    jira_id, jira_name = _jira_id_and_name(jira_value)
    pair = value_from_jira(_pairs(field_mapping), jira_id=jira_id, jira_name=jira_name)
    return pair.local_value if pair else None


def default_status_value_map(kind: str, jira_statuses: Iterable[Any]) -> list[tuple[str, str, str]]:
    """Recommended status pairs ``(local status key, Jira status id, Jira status name)``.

    Each local status goes to the Jira status of the same name, else to the first Jira status
    of its category. Jira statuses still unpaired are then added, paired with the first local
    status of their category, after the others so they never win going to Jira.
    """
    jira: list[tuple[str, str, str]] = []  # (id, name, our category)
    for status in jira_statuses or ():
        if not isinstance(status, Mapping):
            continue
        jira_id, jira_name = _jira_id_and_name(status)
        category = _status_category(status)
        if jira_name and category:
            jira.append((jira_id, jira_name, category))
    if not jira:
        return []
    local = statuses_for(kind)
    pairs: list[tuple[str, str, str]] = []
    used: set[str] = set()
    for status in local:
        match = next((j for j in jira if j[1].casefold() == status.label.casefold()), None)
        match = match or next((j for j in jira if j[2] == status.category), None)
        if match:
            pairs.append((status.key, match[0], match[1]))
            used.add(match[0] or match[1])
    for jira_id, jira_name, category in jira:
        if (jira_id or jira_name) in used:
            continue
        first_local = _first_status(kind, category)
        if first_local:
            pairs.append((first_local.key, jira_id, jira_name))
            used.add(jira_id or jira_name)
    return pairs


# --------------------------------------------------------------------------- helpers


def _first_status(kind: str, category: str) -> Status | None:
    return next((s for s in statuses_for(kind) if s.category == category), None)


# Resolutions that close an issue without doing it (Jira's defaults and common additions):
# a done status with one of these is not Shipped / Completed / Released.
UNSUCCESSFUL_RESOLUTIONS = frozenset(
    {
        "won't do",
        "won't fix",
        "wont do",
        "wont fix",
        "declined",
        "duplicate",
        "cannot reproduce",
        "incomplete",
        "rejected",
        "obsolete",
        "not a bug",
        "abandoned",
    }
)
# The done status of each kind that means "closed without doing it".
_UNSUCCESSFUL_DONE_KEYS = ("will_not_implement", "cancelled")


def is_unsuccessful_resolution(resolution: Any) -> bool:
    _, name = _jira_id_and_name(resolution)
    return name.strip().casefold().replace("\u2019", "'") in UNSUCCESSFUL_RESOLUTIONS


def _unsuccessful_done_status(kind: str) -> Status | None:
    return next((s for s in statuses_for(kind) if s.key in _UNSUCCESSFUL_DONE_KEYS), None)


def _status_category_of(kind: str, key: str) -> str | None:
    return next((s.category for s in statuses_for(kind) if s.key == key), None)


def jira_status_key(status: Any, resolution: Any = None) -> str | None:
    """A Jira status (and resolution) as the synced snapshot compares it: the status name,
    with the resolution when it says the issue was closed without being done."""
    status_id, name = _jira_id_and_name(status)
    name = (name or status_id).strip().casefold()
    if not name:
        return None
    if _status_category(status) == "done" and is_unsuccessful_resolution(resolution):
        return f"{name}|{_jira_id_and_name(resolution)[1].strip().casefold()}"
    return name


def canonical_rich_text(value: Any, *, is_version: bool = False) -> str:
    """Rich text in one comparable form, whichever way it came (our HTML, ADF, wiki): the
    ADF document our HTML becomes (``<i>`` and ``<em>`` are one thing), or for a version's
    description, which Jira keeps as plain text, that plain text."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        value = _richtext_from_jira(value, is_version=False)
    if not isinstance(value, str):
        return ""
    if is_version:
        return re.sub(r"\s+", " ", _html_to_plain_text(value)).strip()
    doc = _richtext().html_to_adf(value)
    if not doc.get("content"):
        return ""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def jira_value_round_trip(
    field_mapping: FieldMapping, record: Record, *, api_version: ApiVersion = 3
) -> Any:
    """Our value as Jira hands it back after a send: converted for Jira, then read back (a
    version's released flag as is; rich text as HTML again)."""
    spec = _local_field(field_mapping, record.kind)
    if spec.value_kind == ValueKind.STATUS and _is_version_mapping(field_mapping):
        return _released_to_jira(field_mapping, record)
    if spec.value_kind == ValueKind.RICH_TEXT:
        is_version = _is_version_mapping(field_mapping)
        sent = _to_jira_value(
            field_mapping,
            record,
            api_version=api_version,
            user_resolver=lambda _q: None,
            time_tracking=DEFAULT_TIME_TRACKING,
            warnings=[],
        )
        if not is_version and api_version == 3 and sent is not None:
            # Webhooks carry wiki text even from Cloud: read it back the way it arrives.
            sent = _richtext().adf_to_wiki(sent)
        return _richtext_from_jira(sent, is_version=is_version)
    raise ValueError(f"No round trip for {spec.label}.")


def _status_category(jira_status: Any) -> str | None:
    """Our category for a Jira status object, from its statusCategory key."""
    if not isinstance(jira_status, Mapping):
        return None
    category = jira_status.get("statusCategory")
    key = category.get("key") if isinstance(category, Mapping) else None
    return _CATEGORY_FROM_JIRA.get(key) if isinstance(key, str) else None


def _richtext():
    # The HTML <-> ADF / wiki converter lives with the Jira provider.
    from .providers.jira import richtext

    return richtext


def _html_to_plain_text(value: str) -> str:
    """A version's description is plain text in Jira."""
    text = re.sub(r"(?i)<br\s*/?>|</(p|li|h[1-6]|tr|blockquote|pre)>", "\n", value or "")
    text = html.unescape(nh3.clean(text, tags=set()))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _one_line(value: str, limit: int) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", value or "").strip()[:limit]


def format_estimate(minutes: int, time_tracking: TimeTracking = DEFAULT_TIME_TRACKING) -> str:
    """Minutes as Jira's duration text ("1d 2h 30m") in working days and hours."""
    minutes = max(0, int(minutes))
    if minutes == 0:
        return "0m"
    days, rest = divmod(minutes, time_tracking.minutes_per_day)
    hours, mins = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n]
    return " ".join(parts)


_DURATION_TOKEN = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhm])", re.IGNORECASE)


def parse_estimate(text: str, time_tracking: TimeTracking = DEFAULT_TIME_TRACKING) -> int:
    """Jira's duration text ("1w 2d 3h 4m", "1.5h") in minutes; ValueError if it is not one."""
    compact = (text or "").strip()
    if not compact:
        raise ValueError("empty duration")
    if _DURATION_TOKEN.sub("", compact).strip():
        raise ValueError(f"'{text}' is not a duration like '1w 2d 3h 4m'")
    unit_minutes = {
        "w": time_tracking.minutes_per_week,
        "d": time_tracking.minutes_per_day,
        "h": 60,
        "m": 1,
    }
    total = Decimal(0)
    for number, unit in _DURATION_TOKEN.findall(compact):
        total += Decimal(number) * unit_minutes[unit.lower()]
    return int(total.to_integral_value())


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _local_field(field_mapping: FieldMapping, kind: str):
    spec = LOCAL_FIELDS.get(field_mapping.local_field)
    if spec is None:
        raise _Skip(
            f"'{field_mapping.local_field}' is not a field here; fix or remove the field mapping "
            f"to Jira's '{field_mapping.jira_field_id}'."
        )
    if kind not in spec.kinds:
        raise _Skip(f"{spec.label} does not exist on a {kind}; the mapping was skipped.")
    return spec


def _is_version_mapping(field_mapping: FieldMapping) -> bool:
    record_mapping: RecordMapping = field_mapping.record_mapping
    return record_mapping.target == RecordMapping.Target.VERSION


def _label(field_mapping: FieldMapping) -> str:
    spec = LOCAL_FIELDS.get(field_mapping.local_field)
    jira_name = field_mapping.jira_field_name or field_mapping.jira_field_id
    return f"{spec.label if spec else field_mapping.local_field} <-> {jira_name}"


# --------------------------------------------------------------------------- to Jira


def _jira_user_payload(user: JiraUser) -> dict[str, str]:
    # Cloud identifies users by accountId; Data Center by username ("name"), else "key".
    for key in ("accountId", "name", "key"):
        value = user.get(key)
        if isinstance(value, str) and value:
            return {key: value}
    raise _Skip("Jira's user lookup answered without an accountId or name.")


def _user_to_jira(user: Any, user_resolver: UserResolver) -> dict[str, str] | None:
    if user is None:
        return None
    email = (getattr(user, "email", "") or "").strip()
    display_name = (user.get_full_name() or "").strip()
    if email:
        found = user_resolver(email)
        if isinstance(found, Mapping):
            return _jira_user_payload(found)
    if display_name:
        found = user_resolver(display_name)
        if isinstance(found, Mapping):
            jira_name = found.get("displayName")
            if isinstance(jira_name, str) and jira_name.strip().casefold() == (
                display_name.casefold()
            ):
                return _jira_user_payload(found)
    who = display_name or email or user.get_username()
    raise _Skip(f"No Jira user matches {who} by email or display name; the assignee was not sent.")


def _tags_to_jira(field_mapping: FieldMapping, record: Record, warnings: list[str]) -> list[Any]:
    is_labels = field_mapping.jira_field_id == "labels"
    values: list[Any] = []
    seen: set[str] = set()
    for tag in sorted(record.tags.all(), key=lambda t: t.name.casefold()):
        mapped = value_map_to_jira(field_mapping, tag.name)
        name = mapped.name if mapped else tag.name
        if is_labels:
            label = re.sub(r"\s+", "_", name.strip())[:LABEL_MAX_LENGTH]
            if label != name:
                warnings.append(
                    f"Jira labels cannot contain spaces: tag '{name}' was sent as '{label}'."
                )
            if label and label.casefold() not in seen:
                seen.add(label.casefold())
                values.append(label)
        elif name.casefold() not in seen:
            seen.add(name.casefold())
            values.append({"id": mapped.id} if mapped and mapped.id else {"value": name})
    return values


def _status_to_jira(field_mapping: FieldMapping, record: Record) -> JiraValue:
    mapped = value_map_to_jira(field_mapping, record.status)
    if mapped is None or not (mapped.id or mapped.name):
        raise _Skip(
            f"Status '{record.status_label}' has no Jira status in the value mapping; the "
            "status was not sent. Configure the status values of this field mapping."
        )
    return mapped


def _released_to_jira(field_mapping: FieldMapping, record: Record) -> bool:
    """A release's status as a version's released flag: value map ("true"/"Released"), else
    released when its status is a done one other than cancelled."""
    mapped = value_map_to_jira(field_mapping, record.status)
    if mapped is not None:
        return mapped.name.strip().casefold() in {"true", "yes", "released", "1"}
    category = next((s.category for s in statuses_for(record.kind) if s.key == record.status), None)
    return category == "done" and record.status != "cancelled"


def _to_jira_value(
    field_mapping: FieldMapping,
    record: Record,
    *,
    api_version: ApiVersion,
    user_resolver: UserResolver,
    time_tracking: TimeTracking,
    warnings: list[str],
) -> Any:
    spec = _local_field(field_mapping, record.kind)
    jira_field = field_mapping.jira_field_id
    is_version = _is_version_mapping(field_mapping)
    value = getattr(record, spec.key) if spec.key != "tags" else None
    kind = spec.value_kind
    if kind == ValueKind.STRING:
        text = _one_line(value or "", SUMMARY_MAX_LENGTH)
        if len((value or "").strip()) > SUMMARY_MAX_LENGTH:
            warnings.append(
                f"The name is longer than Jira's {SUMMARY_MAX_LENGTH} characters and was cut."
            )
        return text
    if kind == ValueKind.RICH_TEXT:
        if is_version:
            return _html_to_plain_text(value or "")
        if not (value or "").strip():
            return None
        if api_version == 3:
            return _richtext().html_to_adf(value)
        return _richtext().html_to_wiki(value)
    if kind == ValueKind.USER:
        return _user_to_jira(value, user_resolver)
    if kind == ValueKind.TAGS:
        return _tags_to_jira(field_mapping, record, warnings)
    if kind == ValueKind.DATE:
        return value.isoformat() if value else None
    if kind == ValueKind.TIME_ESTIMATE:
        if jira_field == "timetracking":
            if value is None:
                raise _Skip("")  # Jira takes no empty estimate; an unset one is left alone
            return {"originalEstimate": format_estimate(value, time_tracking)}
        return None if value is None else int(value) * 60
    if kind == ValueKind.NUMBER:
        return None if value is None else float(value)
    raise _Skip(f"Cannot send {spec.label} to Jira's '{jira_field}'.")


def record_to_jira_fields(
    record: Record,
    field_mappings: Iterable[FieldMapping],
    *,
    on_create: bool,
    api_version: ApiVersion = 3,
    user_resolver: UserResolver,
    time_tracking: TimeTracking = DEFAULT_TIME_TRACKING,
) -> ToJiraResult:
    """The Jira ``fields`` payload (or, for a release mapped to versions, the version payload)
    for the mappings that send to Jira: to Jira, both ways, and to Jira once on create only.

    A Jira field filled by two mappings keeps the first. Status goes in ``result.status`` (a
    transition), except for versions, where it is the ``released`` flag.
    """
    result = ToJiraResult()
    for field_mapping in field_mappings:
        direction = field_mapping.direction
        if direction == Direction.TO_JIRA_ONCE and not on_create:
            continue
        if not field_mapping.sends_to_jira:
            continue
        jira_field = field_mapping.jira_field_id
        if not jira_field:
            result.warnings.append(f"{_label(field_mapping)}: no Jira field is chosen.")
            continue
        try:
            spec = _local_field(field_mapping, record.kind)
            if spec.value_kind == ValueKind.STATUS:
                if _is_version_mapping(field_mapping):
                    result.fields.setdefault(jira_field, _released_to_jira(field_mapping, record))
                elif jira_field != "status":  # a choice-list field takes an option
                    mapped = _status_to_jira(field_mapping, record)
                    result.fields.setdefault(
                        jira_field, {"id": mapped.id} if mapped.id else {"value": mapped.name}
                    )
                elif result.status is None:
                    result.status = _status_to_jira(field_mapping, record)
                continue
            if jira_field in result.fields:
                continue
            result.fields[jira_field] = _to_jira_value(
                field_mapping,
                record,
                api_version=api_version,
                user_resolver=user_resolver,
                time_tracking=time_tracking,
                warnings=result.warnings,
            )
        except _Skip as skip:
            if str(skip):
                result.warnings.append(str(skip))
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            result.warnings.append(
                f"{_label(field_mapping)}: the value could not be converted for Jira ({exc})."
            )
    return result


# --------------------------------------------------------------------------- from Jira


def changed_field_ids_from_changelog(changelog: Any) -> set[str]:
    """Field ids a webhook's changelog names (``fieldId``, else ``field``); garbage gives {}."""
    ids: set[str] = set()
    items = changelog.get("items") if isinstance(changelog, Mapping) else None
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping):
            continue
        for key in ("fieldId", "field"):
            value = item.get(key)
            if isinstance(value, str) and value:
                ids.add(value)
                break
    return ids


def _is_changed(jira_field: str, changed: set[str] | None) -> bool:
    if changed is None:
        return True
    names = _CHANGELOG_ALIASES.get(jira_field, frozenset({jira_field}))
    return bool(names & changed)


def _string_from_jira(value: Any, label: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Skip(f"Jira's {label} is empty or not text ({_describe(value)}); kept ours.")
    return _one_line(value, SUMMARY_MAX_LENGTH)


def _richtext_from_jira(value: Any, *, is_version: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        if value.get("type") != "doc" or not isinstance(value.get("content", []), list):
            raise _Skip(f"Jira's rich text is not an ADF document ({_describe(value)}); kept ours.")
        return sanitize_html(_richtext().adf_to_html(value))
    if isinstance(value, str):
        if is_version:  # plain text
            paragraphs = [p for p in re.split(r"\n\s*\n", value.strip()) if p.strip()]
            return sanitize_html(
                "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
            )
        # Webhooks carry wiki markup even from Jira Cloud, so the type decides, not the API.
        return sanitize_html(_richtext().wiki_to_html(value))
    raise _Skip(f"Jira's description is neither ADF nor text ({_describe(value)}).")


def _status_from_jira(
    field_mapping: FieldMapping,
    value: Any,
    kind: str,
    warnings: list[str],
    resolution: Any = None,
) -> str:
    if value is None or (isinstance(value, str | Mapping) and not value):
        raise _Skip("Jira sent no status; kept ours.")
    _, jira_name = _jira_id_and_name(value)
    shown = jira_name or _describe(value)
    if _status_category(value) == "done" and is_unsuccessful_resolution(resolution):
        # Done in Jira, but not done the way Shipped means: Won't Do, Declined, Duplicate...
        # A value pair naming the resolution decides first, else the kind's "not done" end.
        by_resolution = value_map_from_jira(field_mapping, resolution)
        if by_resolution is not None and _status_category_of(kind, by_resolution) == "done":
            return by_resolution
        unsuccessful = _unsuccessful_done_status(kind)
        if unsuccessful is not None:
            return unsuccessful.key
    mapped = value_map_from_jira(field_mapping, value)
    if mapped is not None:
        if is_valid_status(kind, mapped):
            return mapped
        warnings.append(
            f"The status value mapping turns Jira status '{shown}' into '{mapped}', which is "
            f"not a {kind} status; the status category decides instead. Fix the value mapping."
        )
    category = _status_category(value)
    local = _first_status(kind, category) if category else None
    if local is None:
        raise _Skip(
            f"Jira status '{shown}' matches no status here by value mapping or status "
            "category; kept ours. Configure the status values of this field mapping."
        )
    return local.key


def _released_from_jira(
    field_mapping: FieldMapping, value: Any, kind: str, record: Record | None
) -> str:
    if not isinstance(value, bool):
        raise _Skip(f"Jira's released flag is not true or false ({_describe(value)}).")
    mapped = value_map_from_jira(field_mapping, "true" if value else "false")
    if mapped and is_valid_status(kind, mapped):
        return mapped
    if value:
        done = _first_status(kind, "done")
        if done is None:
            raise _Skip("No done status to mark this release released.")
        return done.key
    current = record.status if record is not None else None
    current_category = next((s.category for s in statuses_for(kind) if s.key == current), None)
    if current_category == "done":
        back = _first_status(kind, "in_progress") or _first_status(kind, "todo")
        if back is not None:
            return back.key
    raise _Skip("")  # unreleased and not done here: nothing to change


def _user_from_jira(value: Any, workspace: Workspace):
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _Skip(f"Jira's user is not a user object ({_describe(value)}); kept ours.")
    members = get_user_model().objects.filter(
        memberships__account_id=workspace.account_id, is_active=True
    )
    email = value.get("emailAddress")
    if isinstance(email, str) and email.strip():
        found = list(members.filter(email__iexact=email.strip())[:2])
        if len(found) == 1:
            return found[0]
    display_name = value.get("displayName")
    if isinstance(display_name, str) and display_name.strip():
        wanted = re.sub(r"\s+", " ", display_name.strip()).lower()
        found = list(
            members.annotate(
                full_name=Lower(Trim(Concat("first_name", Value(" "), "last_name")))
            ).filter(Q(full_name=wanted))[:2]
        )
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise _Skip(
                f"Several members of this account are called '{display_name}'; the assignee "
                "was not changed. Give them distinct names or matching emails."
            )
    who = display_name if isinstance(display_name, str) and display_name else "Jira's user"
    raise _Skip(
        f"{who} is not a member of this account (matched by email, then display name); "
        "the assignee was not changed."
    )


def _tags_from_jira(field_mapping: FieldMapping, value: Any, warnings: list[str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Skip(f"Jira's labels are not a list ({_describe(value)}); kept ours.")
    tags: list[str] = []
    seen: set[str] = set()
    for item in value:
        if isinstance(item, str) and item.startswith("rjs-"):
            continue  # the sync engine's own marker label (sync.services.sender), not a tag
        mapped = value_map_from_jira(field_mapping, item)
        if mapped is None:
            mapped = item if isinstance(item, str) else _jira_id_and_name(item)[1]
        name = (mapped or "").strip()
        if not name:
            warnings.append(f"Skipped a label Jira sent that is not text: {_describe(item)}.")
            continue
        if len(name) > TAG_MAX_LENGTH:
            warnings.append(f"Label '{name[:40]}...' is longer than a tag may be and was cut.")
            name = name[:TAG_MAX_LENGTH]
        if name.casefold() not in seen:
            seen.add(name.casefold())
            tags.append(name)
    return tags


def _date_from_jira(value: Any, label: str) -> datetime.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise _Skip(f"Jira's {label} '{_describe(value)}' is not a date (YYYY-MM-DD); kept ours.")


def _seconds_to_minutes(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("not a number")
    seconds = Decimal(str(value).strip())
    if not seconds.is_finite() or seconds < 0:
        raise ValueError("not a positive number")
    return int((seconds / 60).to_integral_value())


def _estimate_from_jira(
    jira_field: str, value: Any, fields: Mapping[str, Any], time_tracking: TimeTracking
) -> int | None:
    try:
        if jira_field == "timetracking":
            if value is None:
                value = {}
            if not isinstance(value, Mapping):
                raise ValueError("not a time tracking object")
            if value.get("originalEstimateSeconds") is not None:
                return _seconds_to_minutes(value["originalEstimateSeconds"])
            if value.get("originalEstimate"):
                return parse_estimate(str(value["originalEstimate"]), time_tracking)
            fallback = fields.get("timeoriginalestimate")
            return None if fallback is None else _seconds_to_minutes(fallback)
        if value is None or value == "":
            return None
        if isinstance(value, str) and _DURATION_TOKEN.search(value):
            return parse_estimate(value, time_tracking)
        return _seconds_to_minutes(value)
    except (ValueError, InvalidOperation, TypeError) as exc:
        raise _Skip(
            f"Jira's estimate {_describe(value)} is neither seconds nor a duration like "
            f"'1w 2d 3h 4m' ({exc}); kept ours."
        ) from exc


def _number_from_jira(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _Skip(f"Jira's story points {_describe(value)} are not a number; kept ours.")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise _Skip(f"Jira's story points '{value}' are not a number; kept ours.") from exc
    if not number.is_finite() or abs(number) > STORY_POINTS_MAX:
        raise _Skip(f"Jira's story points {value} are out of range; kept ours.")
    return number.quantize(Decimal("0.1"))


def _from_jira_value(
    field_mapping: FieldMapping,
    fields: Mapping[str, Any],
    *,
    kind: str,
    workspace: Workspace,
    record: Record | None,
    time_tracking: TimeTracking,
    warnings: list[str],
) -> Any:
    spec = _local_field(field_mapping, kind)
    jira_field = field_mapping.jira_field_id
    is_version = _is_version_mapping(field_mapping)
    if jira_field not in fields and not (
        jira_field == "timetracking" and "timeoriginalestimate" in fields
    ):
        raise _Skip(
            f"Jira's answer has no '{jira_field}' field for {spec.label}; kept ours. Check that "
            "the field is on the issue type's screens, or reload the configuration."
        )
    value = fields.get(jira_field)
    value_kind = spec.value_kind
    if value_kind == ValueKind.STRING:
        return _string_from_jira(value, field_mapping.jira_field_name or jira_field)
    if value_kind == ValueKind.RICH_TEXT:
        return _richtext_from_jira(value, is_version=is_version)
    if value_kind == ValueKind.STATUS:
        if is_version:
            return _released_from_jira(field_mapping, value, kind, record)
        return _status_from_jira(
            field_mapping, value, kind, warnings, resolution=fields.get("resolution")
        )
    if value_kind == ValueKind.USER:
        return _user_from_jira(value, workspace)
    if value_kind == ValueKind.TAGS:
        return _tags_from_jira(field_mapping, value, warnings)
    if value_kind == ValueKind.DATE:
        return _date_from_jira(value, field_mapping.jira_field_name or jira_field)
    if value_kind == ValueKind.TIME_ESTIMATE:
        return _estimate_from_jira(jira_field, value, fields, time_tracking)
    if value_kind == ValueKind.NUMBER:
        return _number_from_jira(value)
    raise _Skip(f"Cannot take {spec.label} from Jira's '{jira_field}'.")


def jira_to_record_changes(
    issue_or_version_fields: Any,
    field_mappings: Iterable[FieldMapping],
    *,
    workspace: Workspace,
    api_version: ApiVersion = 3,
    changed_field_ids: Iterable[str] | None = None,
    record: Record | None = None,
    time_tracking: TimeTracking = DEFAULT_TIME_TRACKING,
) -> FromJiraResult:
    """Changes to a record from a Jira issue's ``fields`` (or a whole issue) or a version, for
    the mappings that receive (from Jira, both ways).

    ``changed_field_ids`` (a webhook changelog's field ids) limits the work to those fields.
    ``record``, when given, lets an unreleased version move a done release back in progress.
    Rich text is detected by its type (ADF object or wiki text), whatever ``api_version``.
    A local field filled by two mappings keeps the first.
    """
    del api_version  # accepted for symmetry with record_to_jira_fields; the type decides
    result = FromJiraResult()
    fields = issue_or_version_fields
    if isinstance(fields, Mapping) and isinstance(fields.get("fields"), Mapping):
        fields = fields["fields"]
    if not isinstance(fields, Mapping):
        result.warnings.append(
            f"Jira's answer has no fields to read ({_describe(issue_or_version_fields)})."
        )
        return result
    changed = None if changed_field_ids is None else set(changed_field_ids)
    for field_mapping in field_mappings:
        if not field_mapping.receives_from_jira:
            continue
        if not _is_changed(field_mapping.jira_field_id, changed):
            continue
        if field_mapping.local_field in result.changes:
            continue
        try:
            kind = record.kind if record is not None else field_mapping.record_mapping.record_kind
            result.changes[field_mapping.local_field] = _from_jira_value(
                field_mapping,
                fields,
                kind=kind,
                workspace=workspace,
                record=record,
                time_tracking=time_tracking,
                warnings=result.warnings,
            )
        except _Skip as skip:
            if str(skip):
                result.warnings.append(str(skip))
        except (TypeError, ValueError, AttributeError, KeyError, InvalidOperation) as exc:
            result.warnings.append(
                f"{_label(field_mapping)}: Jira's value could not be read ({exc}); kept ours."
            )
    return result
