"""What every inbound handler (and the importer) shares: the outcome exceptions, the lazy Jira
client, the handler context, and reading Jira's parents (fix versions, parent, epic link)
through a row's Linked to entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from integrations.models import Integration, LinkedTo, RecordMapping
from integrations.rules import PARENT_SETTING_FIELDS, parent_setting_entry
from integrations.selectors import effective_configuration, record_mappings_effective
from records.kinds import RecordKind, kind_label
from records.models import Record

from ...models import ImportCandidate, InboundEvent, JiraLink


class Ignore(Exception):
    """The event changes nothing here; the message (the reason) goes to ``last_error``."""


class Stale(Exception):
    """The event is older than what was already applied to this issue or version."""


class JiraSession:
    """A Jira client built on first use (most events need none) and closed at the end."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self._client = None

    def client(self):
        if self._client is None:
            from integrations.services.configuration import build_client

            self._client = build_client(self.integration)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            close = getattr(self._client, "close", None)
            if callable(close):
                close()
            self._client = None


@dataclass
class Context:
    event: InboundEvent
    integration: Integration
    body: dict
    jira: JiraSession


# --------------------------------------------------------------------------- small reads


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def issue_fields(issue: Any) -> dict:
    return as_dict(as_dict(issue).get("fields"))


def issue_label(issue: Any) -> str:
    issue = as_dict(issue)
    return str(issue.get("key") or f"issue {issue.get('id')}")


def browse_url(integration: Integration, key: str) -> str:
    from integrations.selectors import effective_connection

    base = effective_connection(integration).base_url.rstrip("/")
    return f"{base}/browse/{key}" if base and key else ""


def issue_link_for(integration: Integration, jira_id: Any, *, lock: bool = False):
    qs = JiraLink.objects.filter(
        integration=integration, jira_kind=JiraLink.JiraKind.ISSUE, jira_id=str(jira_id)
    ).select_related("record", "record__workspace")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.first()


def version_link_for(integration: Integration, version_id: Any, *, lock: bool = False):
    qs = JiraLink.objects.filter(
        integration=integration, jira_kind=JiraLink.JiraKind.VERSION, jira_id=str(version_id)
    ).select_related("record", "record__workspace")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.first()


def check_order(event: InboundEvent, link: JiraLink) -> None:
    """Deliveries arrive late and out of order: one older than the newest applied to this
    issue (or version) changes nothing."""
    ts = event.jira_timestamp
    if ts is not None and link.last_event_timestamp is not None and ts < link.last_event_timestamp:
        raise Stale(
            f"stale: Jira sent this at {ts} (epoch ms), before the change already applied to "
            f"{link.jira_key or link.jira_id} ({link.last_event_timestamp}); nothing changed."
        )


def advance(event: InboundEvent, link: JiraLink, *, key: str = "") -> None:
    ts = event.jira_timestamp
    update = ["last_synced_at"]
    if ts is not None and (link.last_event_timestamp is None or ts > link.last_event_timestamp):
        link.last_event_timestamp = ts
        update.append("last_event_timestamp")
    if key and key != link.jira_key:
        link.jira_key = key[:40]
        update.append("jira_key")
    link.last_synced_at = timezone.now()
    link.save(update_fields=update)


def deleted_in_jira(integration: Integration, issue_id: Any) -> bool:
    """A late delivery about an issue whose deletion was already seen must not bring it back."""
    return InboundEvent.objects.filter(
        integration=integration,
        event_type="jira:issue_deleted",
        jira_issue_id=str(issue_id),
        status__in=[InboundEvent.Status.PROCESSED, InboundEvent.Status.IGNORED],
    ).exists()


def mapping_for_issue_type(integration: Integration, issuetype: Any) -> RecordMapping | None:
    """The row whose issue types include this one: by id, else by name."""
    issuetype = as_dict(issuetype)
    type_id = str(issuetype.get("id") or "")
    type_name = str(issuetype.get("name") or "").casefold()
    rows = [
        m
        for m in record_mappings_effective(integration)
        if m.target == RecordMapping.Target.ISSUE_TYPE
    ]
    for row in rows:
        for mapped in row.issue_types or []:
            if type_id and str(mapped.get("id")) == type_id:
                return row
    if type_name:
        for row in rows:
            for mapped in row.issue_types or []:
                if str(mapped.get("name") or "").casefold() == type_name:
                    return row
    return None


def version_candidate_id(version_id: Any) -> str:
    """Import candidates of versions are kept apart from issues' (Jira numbers both from one
    range in places): ``version:<id>``."""
    return f"version:{version_id}"


# --------------------------------------------------------------------------- parents


def epic_link_field_id(integration: Integration) -> str | None:
    """Jira Data Center's Epic Link custom field, found by name in the loaded configuration."""
    for item in effective_configuration(integration).get("fields") or []:
        if str(item.get("name") or "").casefold() == "epic link":
            return str(item.get("id"))
    return None


@dataclass
class ParentRef:
    id: str
    key: str

    @property
    def label(self) -> str:
        return self.key or f"issue {self.id}"


NO_PARENT = ParentRef("", "")


def jira_parent(integration: Integration, fields: dict) -> ParentRef | None:
    """Jira's one parent of an issue: ``parent`` (Cloud: epic, sub-task parent, any level),
    else the Epic Link field (Data Center). None when the payload does not say; NO_PARENT
    when it says there is none."""
    if "parent" in fields:
        parent = fields.get("parent")
        if isinstance(parent, dict) and (parent.get("id") or parent.get("key")):
            return ParentRef(str(parent.get("id") or ""), str(parent.get("key") or ""))
        return NO_PARENT
    epic_field = epic_link_field_id(integration)
    if epic_field and epic_field in fields:
        value = fields.get(epic_field)
        if isinstance(value, str) and value.strip():
            return ParentRef("", value.strip())
        if isinstance(value, dict) and (value.get("id") or value.get("key")):
            return ParentRef(str(value.get("id") or ""), str(value.get("key") or ""))
        return NO_PARENT
    return None


def linked_record_for_parent(integration: Integration, ref: ParentRef) -> Record | None:
    qs = JiraLink.objects.filter(integration=integration, jira_kind=JiraLink.JiraKind.ISSUE)
    link = None
    if ref.id:
        link = qs.filter(jira_id=ref.id).select_related("record").first()
    if link is None and ref.key:
        link = qs.filter(jira_key=ref.key).select_related("record").first()
    return link.record if link else None


def _parent_changed(integration: Integration, changed: set[str] | None) -> bool:
    if changed is None:
        return True
    names = {"parent", "IssueParentAssociation", "Parent", "Epic Link", "Parent Link"}
    epic_field = epic_link_field_id(integration)
    if epic_field:
        names.add(epic_field)
    return bool(names & changed)


def fix_version_ids(fields: dict) -> list[str] | None:
    versions = fields.get("fixVersions")
    if not isinstance(versions, list):
        return None
    return [str(v.get("id")) for v in versions if isinstance(v, dict) and v.get("id") is not None]


@dataclass
class Parents:
    """Keyword arguments for record_create / record_update (parent kind -> record or None),
    warnings in words, and Jira's parent when it is not linked here (the importer may fetch
    it)."""

    changes: dict[str, Record | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    unlinked_parent: ParentRef | None = None
    parent_entries: list[LinkedTo] = field(default_factory=list)


def resolve_parents(
    integration: Integration,
    mapping: RecordMapping,
    fields: dict,
    *,
    changed: set[str] | None,
    who: str,
    record: Record | None = None,
) -> Parents:
    """Parents by the row's Linked to: Fix versions -> the release linked to that version;
    parent / epic link / sub-task parent -> the record linked to Jira's parent issue, of the
    entry's kind. Only for what the changelog names (``changed``; None: everything).
    A parent Jira names that is not linked here is left unchanged, with a warning."""
    result = Parents()
    for entry in mapping.linked_to.all():
        if entry.jira_field in PARENT_SETTING_FIELDS:
            result.parent_entries.append(entry)
            continue
        # Fix versions.
        if changed is not None and "fixVersions" not in changed and "Fix Version" not in changed:
            continue
        ids = fix_version_ids(fields)
        if ids is None:
            continue
        if not ids:
            if changed is not None:  # Jira took it out of every version
                result.changes[entry.parent_kind] = None
            continue
        links = {
            link.jira_id: link.record
            for link in JiraLink.objects.filter(
                integration=integration, jira_kind=JiraLink.JiraKind.VERSION, jira_id__in=ids
            ).select_related("record")
        }
        found = [links[i] for i in ids if i in links and links[i].kind == entry.parent_kind]
        if found:
            result.changes[entry.parent_kind] = found[0]
            if len(found) > 1:
                result.warnings.append(
                    f"{who} is in several Jira versions linked here "
                    f"({', '.join(r.reference for r in found)}); a "
                    f"{kind_label(mapping.record_kind).lower()} has one "
                    f"{kind_label(entry.parent_kind).lower()}, so {found[0].reference} was used."
                )
        else:
            names = ", ".join(
                str(v.get("name") or v.get("id"))
                for v in fields.get("fixVersions") or []
                if isinstance(v, dict)
            )
            result.warnings.append(
                f"{who} is in Jira version {names}, which no release here is linked to; its "
                f"{kind_label(entry.parent_kind).lower()} was left unchanged. Link or import "
                "that version to bring it over."
            )
    if not result.parent_entries or not _parent_changed(integration, changed):
        return result
    ref = jira_parent(integration, fields)
    if ref is None:
        return result
    kinds = [e.parent_kind for e in result.parent_entries]
    if ref is NO_PARENT:
        # Jira's parent was removed: it clears the parent the one-parent rule sent.
        chosen, _ = parent_setting_entry(
            result.parent_entries,
            lambda kind: getattr(record, kind, None) if record is not None else None,
        )
        if (
            chosen is not None
            and changed is not None
            and mapping.record_kind != RecordKind.REQUIREMENT
        ):
            result.changes[chosen.parent_kind] = None
        return result
    parent = linked_record_for_parent(integration, ref)
    if parent is None:
        result.unlinked_parent = ref
        result.warnings.append(
            f"{who} is under {ref.label} in Jira, which is not linked here; its "
            f"{' / '.join(kind_label(k).lower() for k in kinds)} was left unchanged."
        )
        return result
    if parent.kind not in kinds:
        result.warnings.append(
            f"{who} is under {ref.label} in Jira, linked here to {parent.reference}, a "
            f"{parent.kind_label.lower()}; {kind_label(mapping.record_kind).lower()}s are not "
            f"linked to {parent.kind_label.lower()}s by the parent field, so nothing changed."
        )
        return result
    if record is not None and parent.pk == record.pk:
        return result
    result.changes[parent.kind] = parent
    return result


def integrated_parent(integration: Integration, fields: dict) -> str | None:
    """Where a Jira issue sits under something integrated, in words; None if it does not:
    a fix version linked to a release, a linked parent issue, or a parent issue that is
    itself a pending import candidate."""
    ids = fix_version_ids(fields) or []
    if ids:
        link = (
            JiraLink.objects.filter(
                integration=integration, jira_kind=JiraLink.JiraKind.VERSION, jira_id__in=ids
            )
            .select_related("record")
            .first()
        )
        if link is not None:
            return f"release {link.record.reference} (fix version)"
    ref = jira_parent(integration, fields)
    if ref is not None and ref is not NO_PARENT:
        parent = linked_record_for_parent(integration, ref)
        if parent is not None:
            return f"{parent.kind_label.lower()} {parent.reference} ({ref.label})"
        pending = ImportCandidate.objects.filter(
            integration=integration, status=ImportCandidate.Status.PENDING
        )
        if (ref.id and pending.filter(jira_id=ref.id).exists()) or (
            ref.key and pending.filter(jira_key=ref.key).exists()
        ):
            return f"{ref.label}, itself an import candidate"
    return None
