"""The dry-run preview: what the next send would do to Jira, without one write call.

It runs the very code that sends (sync.services.bulk for "Send all", the outbox entry
delivery for a record's "Send to Jira"), with two differences:

- the Jira client is a ``PlanningClient``: reads go to Jira (a batched search of the issues
  to change, the create screens, the versions list), every write is recorded instead of sent
  and answered the way Jira would answer it (a new key, a new version id). Before a create it
  checks what Jira would check from what can be read: the create screen of the issue type
  (createmeta) has every field sent, and every required field is filled;
- everything the send writes here (outbox entries, links, snapshots, the sync log) is written
  in one database transaction that is rolled back at the end, and nothing is handed to a
  worker (enqueueing happens on commit, and there is none).

So preview and send cannot drift apart: the plan is the delivery's own list of writes, and
what it refuses is what the delivery refuses, in the delivery's words.

The transaction is held while Jira is read (a few batched reads): on SQLite (development)
other writers wait for it.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils.html import strip_tags

from core.exceptions import ApplicationError
from integrations.models import Integration
from integrations.providers.jira.client import BulkCreateResult, BulkItemError
from integrations.providers.jira.errors import JiraError, JiraValidationError
from integrations.services.configuration import build_client
from records.models import Record

from ..models import BulkSendJob, JiraLink, OutboxEntry, SyncLogEntry
from .bulk import bulk_send_deliver, bulk_send_job_write
from .log import previewing
from .outbox import record_send_to_jira
from .sender import Sender, outbox_entry_deliver

NEW_ISSUE_PREFIX = "NEW-"
NEW_ID_PREFIX = "new-"
SEARCH_BATCH = 100
# Methods of the Jira client that only read (anything else is refused, never forwarded).
READ_PREFIXES = ("get_", "search_", "find_", "list_", "rich_text_")
READ_NAMES = {"myself", "server_info", "base_url", "api_version", "deployment", "close"}

Status = OutboxEntry.Status


class WriteRefused(RuntimeError):
    """A write the PlanningClient does not know: it is refused rather than forwarded."""


@dataclass
class Write:
    """One write call the delivery made (recorded, not sent)."""

    op: str
    target: str = ""  # issue key / version id / link id the write changes ("" for creates)
    fields: dict = field(default_factory=dict)
    created: str = ""  # the key or id answered for a create
    transition_to: str = ""


class PlanningClient:
    """The real client for reads; writes recorded in ``writes`` (see module)."""

    def __init__(self, client: Any, project_key: str):
        self._client = client
        self.project_key = project_key
        self.writes: list[Write] = []
        self._numbers = itertools.count(1)
        self._createmeta: dict[str, dict[str, dict]] = {}
        self._new_types: dict[str, str] = {}  # planned key -> issue type id
        self._transitions: dict[str, dict[str, str]] = {}  # key -> transition id -> status
        self.statuses: list[dict] = []  # the stored configuration's statuses (set by caller)

    def __getattr__(self, name: str) -> Any:
        if name.startswith(READ_PREFIXES) or name in READ_NAMES:
            return getattr(self._client, name)
        raise WriteRefused(f"The preview does not call Jira's {name}: it only reads.")

    # -- reads that know about planned issues ----------------------------------------------

    def get_transitions(self, issue: str) -> list[dict]:
        if issue in self._new_types:
            # An issue not created yet: the statuses its type can reach, as configured.
            type_id = self._new_types[issue]
            transitions = [
                {"id": f"{NEW_ID_PREFIX}{s['id']}", "to": {"id": s["id"], "name": s["name"]}}
                for s in self.statuses
                if not s.get("issue_type_ids") or type_id in s["issue_type_ids"]
            ]
        else:
            transitions = self._client.get_transitions(issue)
        self._transitions[issue] = {
            str(t.get("id")): str((t.get("to") or {}).get("name", "")) for t in transitions
        }
        return transitions

    # -- creates -------------------------------------------------------------------------

    def _screen(self, issue_type_id: str) -> dict[str, dict]:
        if issue_type_id not in self._createmeta:
            fields = self._client.get_create_meta_fields(self.project_key, issue_type_id)
            self._createmeta[issue_type_id] = {
                str(f.get("fieldId") or f.get("key")): f for f in fields if isinstance(f, dict)
            }
        return self._createmeta[issue_type_id]

    def create_errors(self, fields: dict) -> dict[str, str]:
        """What Jira would refuse in a create, from its create screen (createmeta)."""
        type_id = str((fields.get("issuetype") or {}).get("id") or "")
        screen = self._screen(type_id)
        errors = {
            name: f"Field '{name}' cannot be set: it is not on the create screen of this "
            "issue type in Jira."
            for name in fields
            if name not in screen and name not in ("project", "issuetype")
        }
        for name, meta in screen.items():
            required = meta.get("required") and not meta.get("hasDefaultValue")
            if required and fields.get(name) in (None, "", [], {}):
                errors[name] = f"{meta.get('name') or name} is required in Jira but empty here."
        return errors

    def _new_issue(self, fields: dict) -> dict:
        number = next(self._numbers)
        key = f"{NEW_ISSUE_PREFIX}{number}"
        self._new_types[key] = str((fields.get("issuetype") or {}).get("id") or "")
        self.writes.append(Write("create_issue", fields=dict(fields), created=key))
        return {"id": f"{NEW_ID_PREFIX}{number}", "key": key, "self": ""}

    def create_issue(self, fields: dict, *, update: dict | None = None) -> dict:
        errors = self.create_errors(fields)
        if errors:
            raise JiraValidationError(status=400, field_errors=errors, operation="create_issue")
        return self._new_issue(fields)

    def bulk_create_issues(self, list_of_fields: list[dict]) -> BulkCreateResult:
        result = BulkCreateResult()
        for index, fields in enumerate(list_of_fields):
            errors = self.create_errors(fields)
            if errors:
                result.errors[index] = BulkItemError(
                    index=index, status=400, messages=list(errors.values()), field_errors=errors
                )
            else:
                result.created[index] = self._new_issue(fields)
        return result

    def create_version(self, *, project_id: Any, name: str, **payload: Any) -> dict:
        number = next(self._numbers)
        version_id = f"{NEW_ID_PREFIX}{number}"
        self.writes.append(
            Write("create_version", fields={"name": name, **payload}, created=version_id)
        )
        return {"id": version_id, "name": name}

    # -- updates -------------------------------------------------------------------------

    def update_version(self, version_id: str, **payload: Any) -> dict:
        self.writes.append(Write("update_version", target=str(version_id), fields=payload))
        return {"id": version_id, **payload}

    def update_issue(self, issue: str, fields: dict | None = None, update=None, **_: Any):
        if fields:
            self.writes.append(Write("update_issue", target=issue, fields=dict(fields)))

    def transition_issue(self, issue: str, transition_id: str, **_: Any) -> None:
        to = self._transitions.get(issue, {}).get(str(transition_id), str(transition_id))
        self.writes.append(Write("transition", target=issue, transition_to=to))

    # -- issue links ---------------------------------------------------------------------

    def create_issue_link(self, type_name_or_id: str, inward_key: str, outward_key: str) -> str:
        number = next(self._numbers)
        self.writes.append(
            Write(
                "add_link",
                fields={"type": str(type_name_or_id), "inward": inward_key, "outward": outward_key},
                created=f"{NEW_ID_PREFIX}{number}",
            )
        )
        return f"{NEW_ID_PREFIX}{number}"

    def delete_issue_link(self, link_id: str) -> None:
        self.writes.append(Write("remove_link", target=str(link_id)))


# -- the plan ----------------------------------------------------------------------------------


@dataclass
class Change:
    field: str
    name: str
    old: str | None  # None: not known / a create
    new: str


@dataclass
class PlanItem:
    action: str  # create_issue, create_version, update_issue, update_version, transition,
    #              add_link, remove_link, refused, skipped
    record: str = ""  # the record's reference
    record_id: int | None = None
    jira: str = ""  # the issue key or version id (empty for something new)
    title: str = ""
    other_record: str = ""  # an issue link's other (outward) end
    issue_type: str = ""
    changes: list[Change] = field(default_factory=list)
    reason: str = ""


# What a plan item can be: the API's choices and the counts on top.
PLAN_ACTIONS = (
    "create_issue",
    "create_version",
    "update_issue",
    "update_version",
    "transition",
    "add_link",
    "remove_link",
    "refused",
    "skipped",
)


@dataclass
class Plan:
    items: list[PlanItem]
    already_in_jira: int = 0

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(PLAN_ACTIONS, 0)
        for item in self.items:
            counts[item.action] += 1
        return counts


def _existing(jira: str) -> str:
    """A key or id in Jira now; "" for one the plan makes up for something new."""
    return "" if jira.startswith((NEW_ISSUE_PREFIX, NEW_ID_PREFIX)) else jira


def _text(value: Any) -> str:
    return re.sub(r"\s+", " ", value).strip()


class _Reader:
    """Jira values in words: rich text as its text, references by name."""

    def __init__(
        self,
        client: Any,
        names: dict[str, str],
        version_names: dict[str, str],
        field_names: dict[str, str],
    ):
        self.client = client
        self.names = names  # issues, by key and id (a parent, an Epic Link)
        self.version_names = version_names  # versions by id (Fix versions)
        self.field_names = field_names

    def value(self, value: Any) -> str:
        if value is None or value == "" or value == [] or value == {}:
            return "(empty)"
        if isinstance(value, list):
            return ", ".join(self.value(v) for v in value)
        if isinstance(value, dict):
            if value.get("type") == "doc":
                return _text(strip_tags(self.client.rich_text_to_html(value))) or "(empty)"
            if "key" in value and str(value["key"]) in self.names:
                return self.names[str(value["key"])]
            if "key" not in value and str(value.get("id")) in self.version_names:
                return self.version_names[str(value["id"])]
            for name in ("name", "displayName", "value", "key", "accountId", "id"):
                if value.get(name) not in (None, ""):
                    return str(value[name])
            return ", ".join(f"{k} {self.value(v)}" for k, v in value.items())
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, str) and value in self.names:
            return self.names[value]
        if isinstance(value, str) and value.lstrip().startswith("<"):
            return _text(strip_tags(value))
        return str(value)

    def changes(self, fields: dict, old: dict | None) -> list[Change]:
        """Old -> new of an update; for a create (``old`` None) the values it sets."""
        return [
            Change(
                field=name,
                name=self.field_names.get(name, name),
                old=None if old is None else self.value(old.get(name)),
                new=self.value(value),
            )
            for name, value in fields.items()
            if name not in ("project", "issuetype") and (old is not None or value is not None)
        ]


def _old_issue_fields(client: Any, keys: list[str], fields: set[str]) -> dict[str, dict]:
    """The current fields of existing issues: one JQL search per 100 keys."""
    found: dict[str, dict] = {}
    for start in range(0, len(keys), SEARCH_BATCH):
        chunk = keys[start : start + SEARCH_BATCH]
        jql = f"key in ({', '.join(chunk)})"
        for issue in client.search_jql(jql, fields=sorted(fields), max_results=SEARCH_BATCH):
            found[str(issue.get("key"))] = issue.get("fields") or {}
    return found


def _plan_from(sender: Sender, client: PlanningClient, entries) -> Plan:
    """The plan: the recorded writes in words, then what was refused or left waiting."""
    integration = sender.integration
    links = JiraLink.objects.filter(integration=integration).select_related("record")
    # Jira numbers issues and versions apart (an issue and a version may share an id).
    by_jira: dict[str, JiraLink] = {}  # issues, by id and key
    by_version: dict[str, JiraLink] = {}
    for link in links:
        if link.jira_kind == JiraLink.JiraKind.VERSION:
            by_version[link.jira_id] = link
            continue
        by_jira[link.jira_id] = link
        if link.jira_key:
            by_jira[link.jira_key] = link

    def name(jira: str, link: JiraLink) -> str:
        return f"{link.record.reference} ({link.jira_key or jira if _existing(jira) else 'new'})"

    names = {jira: name(jira, link) for jira, link in by_jira.items()}
    version_names = {jira: name(jira, link) for jira, link in by_version.items()}
    field_names = {
        str(f.get("id")): str(f.get("name") or f.get("id"))
        for f in sender.configuration.get("fields") or []
    }
    field_names.update({"fixVersions": "Fix versions", "parent": "Parent", "labels": "Labels"})
    field_names.update(VERSION_FIELD_NAMES)
    for version in sender.configuration.get("versions") or []:
        version_names.setdefault(str(version.get("id")), str(version.get("name")))
    types = {
        str(t.get("id")): str(t.get("name")) for t in sender.configuration.get("issue_types") or []
    }
    reader = _Reader(client, names, version_names, field_names)
    link_types: dict[str, dict] = {}
    for link_type in sender.configuration.get("link_types") or []:
        link_types[str(link_type.get("id"))] = link_type
        link_types[str(link_type.get("name"))] = link_type

    updated = [
        w
        for w in client.writes
        if w.op == "update_issue" and w.target in by_jira and _existing(w.target)
    ]
    old_issues = _old_issue_fields(
        client,
        sorted({w.target for w in updated}),
        {name for w in updated for name in w.fields},
    )
    old_versions: dict[str, dict] = {}
    if any(w.op == "update_version" for w in client.writes):
        old_versions = {
            str(v.get("id")): v for v in client.get_project_versions(sender.project.key)
        }
    version_keys = {"release_date": "releaseDate", "start_date": "startDate"}

    removals = {
        str(entry.payload.get("jira_link_id")): entry
        for entry in entries.filter(action=OutboxEntry.Action.DELETE_LINK).select_related("record")
    }
    items: list[PlanItem] = []
    for write in client.writes:
        links_of = by_version if write.op.endswith("_version") else by_jira
        link = links_of.get(write.created or write.target)
        record = link.record if link else None
        item = PlanItem(
            action=write.op,
            record=record.reference if record else "",
            record_id=record.id if record else None,
            jira=_existing(link.jira_key or link.jira_id if link else write.target),
            title=record.name if record else "",
        )
        if write.op == "create_issue":
            fields = {k: v for k, v in write.fields.items() if k != "labels"}
            labels = [
                label for label in write.fields.get("labels") or [] if not label.startswith("rjs-")
            ]
            if labels:
                fields["labels"] = labels
            item.issue_type = types.get(str(write.fields["issuetype"].get("id")), "")
            item.changes = reader.changes(fields, None)
        elif write.op == "create_version":
            item.changes = reader.changes(write.fields, None)
        elif write.op == "update_issue":
            item.changes = reader.changes(write.fields, old_issues.get(write.target, {}))
        elif write.op == "update_version":
            old = old_versions.get(write.target, {})
            old = {k: old.get(version_keys.get(k, k)) for k in write.fields}
            item.changes = reader.changes(write.fields, old)
        elif write.op == "transition":
            item.changes = [Change("status", "Status", None, write.transition_to)]
        elif write.op == "add_link":
            inward = by_jira.get(write.fields["inward"])
            outward = by_jira.get(write.fields["outward"])
            item.record = inward.record.reference if inward else write.fields["inward"]
            item.record_id = inward.record.id if inward else None
            item.other_record = outward.record.reference if outward else write.fields["outward"]
            link_type = link_types.get(write.fields["type"], {})
            phrase = link_type.get("outward") or link_type.get("name") or write.fields["type"]
            item.title = (
                f"{reader.value(write.fields['inward'])} {phrase} "
                f"{reader.value(write.fields['outward'])}"
            )
            item.jira = ""
        elif write.op == "remove_link":
            removal = removals.get(write.target)
            item.title = (removal.payload.get("description") if removal else "") or (
                f"Jira issue link {write.target}"
            )
            if removal is not None and removal.record is not None:
                item.record, item.record_id = removal.record.reference, removal.record_id
        items.append(item)

    for entry in entries.select_related("record", "record_link__source", "record_link__target"):
        if entry.status == Status.FAILED:
            action = "refused"
        elif entry.status == Status.PENDING and entry.last_error:
            action = "skipped"  # a link waiting for its other end, or a retry
        else:
            continue
        items.append(
            PlanItem(
                action=action,
                record=entry.record.reference if entry.record else "",
                record_id=entry.record_id,
                title=str(entry.record_link) if entry.record_link else "",
                reason=entry.last_error,
            )
        )
    return Plan(items=items)


@contextlib.contextmanager
def _planning(integration: Integration) -> Iterator[tuple[Sender, PlanningClient]]:
    """A Sender over a PlanningClient, in a transaction rolled back on the way out."""
    real = build_client(integration)
    try:
        with transaction.atomic(), previewing():
            sender = Sender(integration, None)
            client = PlanningClient(real, sender.project.key)
            client.statuses = list(sender.configuration.get("statuses") or [])
            sender = Sender(integration, client)
            try:
                yield sender, client
            except JiraError as exc:  # a read the plan needs (the delivery words its own)
                raise ApplicationError(
                    f"Jira could not be read for the preview: {exc} Try again in a moment; "
                    "if it persists, check the connection on the Connect step.",
                    field="integration",
                ) from exc
            finally:
                transaction.set_rollback(True)
    finally:
        close = getattr(real, "close", None)
        if callable(close):
            close()


def _warnings_after(integration: Integration, first_log_id: int) -> list[PlanItem]:
    """Warnings the delivery logged (a status no transition reaches, a second parent)."""
    return [
        PlanItem(
            action="skipped", record_id=entry.record_id, jira=entry.jira_key, reason=entry.message
        )
        for entry in SyncLogEntry.objects.filter(
            integration=integration, id__gt=first_log_id, level=SyncLogEntry.Level.WARNING
        ).order_by("id")
    ]


def _last_log_id() -> int:
    return SyncLogEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _finish(plan: Plan, warnings: list[PlanItem]) -> Plan:
    references = dict(
        Record.objects.filter(id__in={w.record_id for w in warnings if w.record_id}).values_list(
            "id", "reference"
        )
    )
    for warning in warnings:
        warning.record = references.get(warning.record_id, "")
    plan.items += warnings
    return plan


def integration_send_all_preview(
    *, integration: Integration, user: AbstractBaseUser | None = None
) -> Plan:
    """What "Send all" would do now (before Enable too: the mappings are what counts)."""
    if integration.is_template:
        raise ApplicationError(
            "A template sends nothing: preview the workspace integration made from it.",
            field="integration",
        )
    if BulkSendJob.objects.filter(
        integration=integration, status=BulkSendJob.Status.RUNNING
    ).exists():
        raise ApplicationError(
            "Send all is running for this integration: preview again when it has finished.",
            field="integration",
            code="already_running",
        )
    first_log = _last_log_id()
    with _planning(integration) as (sender, client):
        job = bulk_send_job_write(integration=integration, user=user)
        bulk_send_deliver(job, sender)
        plan = _plan_from(sender, client, OutboxEntry.objects.filter(job=job))
        plan.already_in_jira = job.skipped
        warnings = _warnings_after(integration, first_log)
        plan = _finish(plan, warnings)
    return plan


def record_send_preview(
    *, record: Record, integration: Integration, user: AbstractBaseUser | None = None
) -> Plan:
    """What the record's "Send to Jira" would do now: its issue or version (parents first)
    and its mapped links, with the removals of its links that wait to go."""
    first_log = _last_log_id()
    with _planning(integration) as (sender, client):
        try:
            entry = record_send_to_jira(record=record, integration=integration, user=user)
        except ApplicationError as exc:  # not enabled, or the record's kind is not mapped
            refused = PlanItem("refused", record.reference, record.id, reason=exc.message)
            return Plan(items=[refused])
        links = OutboxEntry.objects.filter(
            integration=integration,
            action=OutboxEntry.Action.CREATE_LINK,
            status=Status.PENDING,
        ).filter(Q(record_link__source=record) | Q(record_link__target=record))
        # Links removed here whose removal waits (to be sent, or approved): they go too.
        removals = OutboxEntry.objects.filter(
            integration=integration,
            record=record,
            action=OutboxEntry.Action.DELETE_LINK,
            status__in=(Status.PENDING, Status.AWAITING_APPROVAL),
            claimed_at__isnull=True,
        )
        removal_ids = list(removals.values_list("id", flat=True))
        removals.update(status=Status.PENDING)  # rolled back: a preview approves nothing
        ids = [entry.id, *links.values_list("id", flat=True), *removal_ids]
        first_entry = OutboxEntry.objects.order_by("-id").values_list("id", flat=True).first()
        for entry_id in ids:
            outbox_entry_deliver(sender=sender, entry_id=entry_id)
        touched = OutboxEntry.objects.filter(
            Q(id__in=ids) | Q(id__gt=first_entry or 0), integration=integration
        )
        plan = _plan_from(sender, client, touched)
        plan = _finish(plan, _warnings_after(integration, first_log))
    return plan


PAGE_SIZE = 50
VERSION_FIELD_NAMES = {
    "name": "Name",
    "release_date": "Release date",
    "start_date": "Start date",
    "released": "Released",
    "archived": "Archived",
}


def plan_page(plan: Plan, page: Any) -> dict:
    """One page of the plan, the counts on top (the same for the pages and the API)."""
    pages = max(1, -(-len(plan.items) // PAGE_SIZE))
    if page in (None, ""):
        number = 1
    else:
        try:
            number = int(page)
        except (TypeError, ValueError):
            number = 0
        if not 1 <= number <= pages:
            raise ApplicationError(
                f"page must be a whole number from 1 to {pages}; '{page}' is not.", field="page"
            )
    start = (number - 1) * PAGE_SIZE
    return {
        "counts": plan.counts,
        "already_in_jira": plan.already_in_jira,
        "count": len(plan.items),
        "page": number,
        "pages": pages,
        "page_size": PAGE_SIZE,
        "results": plan.items[start : start + PAGE_SIZE],
    }
