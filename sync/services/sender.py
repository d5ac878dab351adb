"""Sending outbox entries to Jira: records parents first, issue links, link deletions.

Creates go through sync.services.creates (marker label, look before repeating, adopt): the
one crash-safe create, for a single entry here and for "Send all"'s bulk creates alike.

Concurrency: creating a record takes a PostgreSQL advisory lock on (integration, record), so
two workers sending a parent at once (say, two features of one new release) create it once;
the second finds the JiraLink after the lock. SQLite (development) serialises nothing here:
run one worker there.

No database transaction is held across a Jira call: each write below commits on its own.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.exceptions import ApplicationError
from integrations import rules
from integrations.fields import issue_type_fields
from integrations.models import Integration, LinkedTo, RecordMapping, RelationshipMapping
from integrations.providers.jira.errors import (
    JiraAuthError,
    JiraError,
    JiraNotFound,
    JiraPermissionError,
    JiraUnavailable,
    JiraValidationError,
)
from integrations.selectors import (
    effective_configuration,
    effective_project,
    record_mappings_effective,
    relationship_for_outgoing,
)
from integrations.services.configuration import build_client
from integrations.transform import JiraValue, record_to_jira_fields
from records.kinds import kind_label
from records.models import Record, RecordLink

from ..models import IssueLinkMirror, JiraLink, OutboxEntry, SyncLogEntry
from ..queue import MAX_ATTEMPTS, backoff_seconds, enqueue_outbox_entry
from .creates import Creator, ItemRefused, attempted_before, marker_label
from .log import sync_log
from .snapshot import (
    changed_here,
    held_by_jira,
    mapped_fields,
    snapshot_of_record,
    snapshot_store,
)

logger = logging.getLogger(__name__)

Status = OutboxEntry.Status
Action = OutboxEntry.Action
LOCK_WAIT_SECONDS = 60


class Refused(Exception):
    """A permanent reason not to send, in words for the user (not a Jira error)."""


WAITING_PREFIX = "Waiting for "


class Waiting(Exception):
    """Not yet: a link whose other end is not in Jira waits for it (no attempt counted)."""


@contextlib.contextmanager
def record_lock(integration_id: int, record_id: int) -> Iterator[None]:
    """Only one worker creates a given record in a given Jira (see module docstring)."""
    if connection.vendor != "postgresql":
        yield
        return
    key = (integration_id % 2**31, record_id % 2**31)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            if cursor.fetchone()[0]:
                break
            if time.monotonic() > deadline:
                raise JiraUnavailable(
                    "Another worker is still sending this record; it will be retried later."
                )
            time.sleep(0.2)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)


@dataclass
class Sent:
    link: JiraLink
    created: bool
    what: str  # for the log
    # {field: (here, jira)} both sides hold after this send, stored with the entry's state.
    snapshot: dict = dc_field(default_factory=dict)


# Warnings about a person rather than a record, said once per send (integrations.transform).
PER_SEND_WARNINGS = ("No Jira user matches",)


class Sender:
    """One integration's view of Jira for a batch of sends (mappings read once)."""

    def __init__(self, integration: Integration, client: Any, *, send_parents: bool = True):
        self.integration = integration
        self.client = client
        self.send_parents = send_parents
        self.mappings: dict[str, RecordMapping] = {
            m.record_kind: m for m in record_mappings_effective(integration)
        }
        self.configuration = effective_configuration(integration)
        self.project = effective_project(integration)
        self._project_id = str((self.configuration.get("project") or {}).get("id") or "")
        self._project_id = self.project.id or self._project_id
        self._transitions: dict[str, list[dict]] = {}
        self.creator = Creator(integration, client, self.project.key)
        # Records that failed in this batch, with the reason (see ensure_linked).
        self.refused: dict[int, str] = {}
        # Jira users by the email or name searched, for this Sender's batch: a send all of
        # thousands of features searches once per distinct assignee, not once per record.
        self._users: dict[str, dict | None] = {}
        # Warnings that are about a person, not a record ("No Jira user matches Zed..."):
        # said once per send (a Sender's batch), with how many records it concerned.
        self._said: dict[str, tuple[SyncLogEntry, str, int]] = {}

    # -- small facts ---------------------------------------------------------------------

    def mapping(self, record: Record) -> RecordMapping:
        mapping = self.mappings.get(record.kind)
        if mapping is None:
            raise Refused(
                f"{kind_label(record.kind)}s are not mapped in this integration, so "
                f"{record.reference} cannot be sent: add a row for them on the Mappings step."
            )
        return mapping

    def project_id(self) -> str:
        if not self._project_id:
            self._project_id = str(self.client.get_project(self.project.key).get("id", ""))
        return self._project_id

    def field_name(self, field_id: str) -> str:
        for field in issue_type_fields(self.configuration):
            if str(field.get("id")) == field_id:
                return str(field.get("name") or field_id)
        return {"fixVersions": "Fix versions", "parent": "Parent"}.get(field_id, field_id)

    def epic_link_field(self) -> str:
        for field in self.configuration.get("fields") or []:
            if str(field.get("name", "")).strip().casefold() == "epic link":
                return str(field["id"])
        raise Refused(
            "Linked to uses the Epic link field, but Jira's configuration has no 'Epic Link' "
            "field: click Reload configuration, or link through Parent instead."
        )

    def browse_url(self, key: str) -> str:
        return f"{self.client.base_url}/browse/{key}"

    def version_url(self, version_id: str) -> str:
        return f"{self.client.base_url}/projects/{self.project.key}/versions/{version_id}"

    def initial_status_id(self, issue_type_id: str) -> str | None:
        """The status a new issue starts in: the first to-do status of its type (from the
        stored configuration), so a create needs no transition when the status matches."""
        for status in self.configuration.get("statuses") or []:
            types = status.get("issue_type_ids") or []
            if status.get("category") == "new" and (not types or issue_type_id in types):
                return str(status.get("id"))
        return None

    def find_jira_user(self, query: str) -> dict | None:
        """The ``user_resolver`` for record_to_jira_fields: the Jira user an email (or, asked
        next, a display name) names, searched once per batch. Jira errors propagate (a rate
        limit is retried with the entry)."""
        key = (query or "").strip().casefold()
        if key not in self._users:
            self._users[key] = self.client.find_user(query) if key else None
        return self._users[key]

    def link_of(self, record: Record) -> JiraLink | None:
        return JiraLink.objects.filter(integration=self.integration, record=record).first()

    # -- parents -------------------------------------------------------------------------

    def ensure_linked(self, record: Record, *, child: Record) -> JiraLink:
        """The record's JiraLink, sending the record first if it has none (parents first)."""
        link = self.link_of(record)
        if link is not None:
            return link
        if record.id in self.refused:
            # Failed already in this batch: once is enough (thousands of children of one
            # refused epic do not each try it again).
            raise Refused(
                f"{record.reference}, the {kind_label(record.kind).lower()} of "
                f"{child.reference}, is not in Jira: {self.refused[record.id]}"
            )
        if not self.send_parents:
            raise Refused(
                f"{record.reference} ({kind_label(record.kind).lower()} of {child.reference}) "
                "is not in Jira, so it could not be set as its parent."
            )
        entry = (
            OutboxEntry.objects.filter(
                integration=self.integration,
                record=record,
                action=Action.SEND_RECORD,
                status__in=(Status.PENDING, Status.AWAITING_APPROVAL),
            )
            .order_by("id")
            .first()
        )
        if entry is None:
            entry = OutboxEntry.objects.create(
                integration=self.integration,
                action=Action.SEND_RECORD,
                record=record,
                payload={"fields": [], "parent_of": child.reference},
                status=Status.PENDING,
            )
        entry.claimed_at = timezone.now()
        entry.status = Status.PENDING
        entry.save(update_fields=["claimed_at", "status"])
        try:
            sent = self.send_record(entry, record)
        except JiraError as exc:
            if exc.transient:
                _release(entry)
                raise
            message = self.describe(exc, record)
            _fail(entry, message, self)
            self.refused[record.id] = message
            raise Refused(
                f"{record.reference}, the {kind_label(record.kind).lower()} of "
                f"{child.reference}, could not be sent first: {message}"
            ) from exc
        except Refused as exc:
            _fail(entry, str(exc), self)
            self.refused[record.id] = str(exc)
            raise
        _mark_sent(entry, sent)
        return sent.link

    def linked_fields(
        self, record: Record, mapping: RecordMapping, *, scope: set[str] | None, on_create: bool
    ) -> tuple[dict[str, Any], list[str]]:
        """Fix versions and the parent from Linked to. ``scope``: parent kinds that changed
        (None: all). Jira allows one parent: the first Linked-to entry with a parent wins."""
        fields: dict[str, Any] = {}
        warnings: list[str] = []
        parent_entries: list[LinkedTo] = []
        for entry in mapping.linked_to.all():
            if entry.parent_kind not in self.mappings:
                continue
            if entry.jira_field == rules.FIX_VERSIONS:
                if scope is not None and entry.parent_kind not in scope:
                    continue
                parent = getattr(record, entry.parent_kind)
                if parent is None:
                    if not on_create:
                        fields["fixVersions"] = []
                    continue
                link = self.ensure_linked(parent, child=record)
                fields["fixVersions"] = [{"id": link.jira_id}]
            elif entry.jira_field in rules.PARENT_SETTING_FIELDS:
                parent_entries.append(entry)
        if parent_entries and (
            scope is None or any(e.parent_kind in scope for e in parent_entries)
        ):
            chosen, others = rules.parent_setting_entry(
                parent_entries, lambda kind: getattr(record, kind)
            )
            if others:
                names = ", ".join(
                    f"{getattr(record, e.parent_kind).reference} ({e.parent_kind})" for e in others
                )
                used = getattr(record, chosen.parent_kind)
                warnings.append(
                    f"Jira gives an issue one parent only: {record.reference} was put under "
                    f"{used.reference} ({chosen.parent_kind}), not {names}."
                )
            parent = getattr(record, chosen.parent_kind)
            field_id = self.epic_link_field() if chosen.jira_field == rules.EPIC_LINK else "parent"
            if parent is None:
                if not on_create:
                    fields[field_id] = None
            else:
                link = self.ensure_linked(parent, child=record)
                # Epic Link takes the epic's key as text; parent takes an issue reference.
                epic_link = chosen.jira_field == rules.EPIC_LINK
                fields[field_id] = link.jira_key if epic_link else {"key": link.jira_key}
        return fields, warnings

    # -- fields --------------------------------------------------------------------------

    def record_fields(
        self, record: Record, mapping: RecordMapping, *, on_create: bool, scope: set[str] | None
    ) -> tuple[dict[str, Any], JiraValue | None, list[str]]:
        """Mapped fields (those whose local field is in ``scope``; None: all), the status to
        transition to (or None), and warnings."""
        result = record_to_jira_fields(
            record,
            mapping.field_mappings.all(),
            on_create=on_create,
            api_version=getattr(self.client, "api_version", 3),
            user_resolver=self.find_jira_user,
        )
        fields = dict(result.fields)
        status = result.status
        if scope is not None:
            wanted = {
                fm.jira_field_id for fm in mapping.field_mappings.all() if fm.local_field in scope
            }
            fields = {k: v for k, v in fields.items() if k in wanted}
            if "status" not in scope:
                status = None
        return fields, status, list(result.warnings)

    # -- sending a record ----------------------------------------------------------------

    def send_record(self, entry: OutboxEntry, record: Record) -> Sent:
        mapping = self.mapping(record)
        changed = entry.payload.get("fields") or []
        link = self.link_of(record)
        if link is not None:
            return self._update(entry, record, mapping, link, set(changed) if changed else None)
        # Parents first, before taking this record's lock (locks go child -> parent only).
        if mapping.target == RecordMapping.Target.ISSUE_TYPE:
            self.linked_fields(record, mapping, scope=None, on_create=True)
        with record_lock(self.integration.id, record.id):
            link = self.link_of(record)
            if link is not None:  # another worker created it while we waited
                if entry.payload.get("parent_of"):
                    return Sent(link, False, "")
                return self._update(entry, record, mapping, link, None)
            if mapping.target == RecordMapping.Target.VERSION:
                return self._create_version(entry, record, mapping)
            return self._create_issue(entry, record, mapping)

    def issue_create_fields(
        self, record: Record, mapping: RecordMapping
    ) -> tuple[dict[str, Any], JiraValue | None, list[str]]:
        fields, status, warnings = self.record_fields(record, mapping, on_create=True, scope=None)
        fields = {k: v for k, v in fields.items() if v is not None}
        linked, link_warnings = self.linked_fields(record, mapping, scope=None, on_create=True)
        fields.update(linked)
        issue_type_id = mapping.default_issue_type_id or (
            str(mapping.issue_types[0].get("id")) if mapping.issue_types else ""
        )
        if not issue_type_id:
            raise Refused(
                f"The {kind_label(record.kind)}s row has no Jira issue type: choose one on the "
                "Mappings step."
            )
        fields["project"] = {"key": self.project.key}
        fields["issuetype"] = {"id": issue_type_id}
        labels = list(fields.get("labels") or [])
        fields["labels"] = [*labels, marker_label(self.integration.id, record.id)]
        return fields, status, warnings + link_warnings

    def _create_issue(self, entry: OutboxEntry, record: Record, mapping: RecordMapping) -> Sent:
        fields, status, warnings = self.issue_create_fields(record, mapping)
        outcome = self.creator.create_issues(
            [(record, fields)], search_first=attempted_before([record], self.integration.id)
        )
        return self.created(entry, record, mapping, fields, status, warnings, outcome)

    def created(
        self,
        entry: OutboxEntry | None,
        record: Record,
        mapping: RecordMapping,
        fields: dict,
        status: JiraValue | None,
        warnings: list[str],
        outcome: Any,
    ) -> Sent:
        """Link a record to the issue the crash-safe create made or found (raises its error
        when it has neither)."""
        if record.id in outcome.failed:
            raise outcome.failed[record.id]
        found = outcome.adopted.get(record.id)
        if found is not None:
            link = self.store_link(record, JiraLink.JiraKind.ISSUE, found["id"], found["key"])
            self.log_warnings(record, warnings, entry, link.jira_key)
            # Made by an earlier attempt whose answer was lost: bring it fully up to date
            # rather than trust that attempt's values.
            updated = self._update(entry, record, mapping, link, None, log=False)
            what = f"Found {link.jira_key}, created earlier for {record.reference}"
            return Sent(link, True, what, updated.snapshot)
        created = outcome.created[record.id]
        link = self.store_link(record, JiraLink.JiraKind.ISSUE, created["id"], created["key"])
        if status is not None:
            type_id = fields["issuetype"]["id"]
            self.transition(
                link.jira_key, type_id, status, warnings, just_created=True, cache_key=type_id
            )
        self.log_warnings(record, warnings, entry, link.jira_key)
        return Sent(
            link, True, f"Created {link.jira_key} from {record.reference}", self.agreed(record)
        )

    def version_payload(
        self, record: Record, mapping: RecordMapping, *, on_create: bool, scope: set[str] | None
    ) -> tuple[dict[str, Any], list[str]]:
        fields, _status, warnings = self.record_fields(
            record, mapping, on_create=on_create, scope=scope
        )
        names = {
            "name": "name",
            "description": "description",
            "releaseDate": "release_date",
            "startDate": "start_date",
            "released": "released",
        }
        return {names[k]: v for k, v in fields.items() if k in names}, warnings

    def _create_version(self, entry: OutboxEntry, record: Record, mapping: RecordMapping) -> Sent:
        payload, warnings = self.version_payload(record, mapping, on_create=True, scope=None)
        payload.setdefault("name", record.name)
        version, adopted = self.creator.create_version(
            record,
            payload,
            project_id=self.project_id(),
            search_first=attempted_before([record], self.integration.id),
        )
        link = self.store_link(record, JiraLink.JiraKind.VERSION, version["id"], "")
        if adopted:
            updated = self._update(entry, record, mapping, link, None, log=False)
            what = f"Found version {payload['name']} for {record.reference}"
            return Sent(link, True, what, updated.snapshot)
        self.log_warnings(record, warnings, entry, "")
        return Sent(
            link,
            True,
            f"Created version {payload['name']} from {record.reference}",
            self.agreed(record),
        )

    def _update(
        self,
        entry: OutboxEntry,
        record: Record,
        mapping: RecordMapping,
        link: JiraLink,
        scope: set[str] | None,
        *,
        log: bool = True,
    ) -> Sent:
        # The snapshot rule (sync.services.snapshot): of the changed fields, only those whose
        # value here differs from what both sides last agreed on, and that Jira does not
        # already hold, are sent. A full send (scope None: "Send to Jira") sends everything.
        agreed_only: set[str] = set()
        if scope is not None:
            differing = set(changed_here(link, record, mapping, scope))
            agreed_only = {n for n in differing if held_by_jira(link, record, mapping, n)}
            scope = differing - agreed_only
            if not scope:
                return Sent(link, False, "", self.agreed(record, agreed_only))
        synced = self.agreed(record, None if scope is None else scope | agreed_only)
        if mapping.target == RecordMapping.Target.VERSION:
            payload, warnings = self.version_payload(record, mapping, on_create=False, scope=scope)
            if payload:
                self.client.update_version(link.jira_id, **payload)
            self.refresh_link(link)
            self.log_warnings(record, warnings, entry, "")
            return Sent(
                link, False, f"Updated version {link.jira_id} from {record.reference}", synced
            )
        fields, status, warnings = self.record_fields(record, mapping, on_create=False, scope=scope)
        linked, link_warnings = self.linked_fields(record, mapping, scope=scope, on_create=False)
        fields.update(linked)
        warnings += link_warnings
        if "labels" in fields:  # keep the marker: labels are replaced as a whole
            marker = marker_label(self.integration.id, record.id)
            fields["labels"] = [*(fields["labels"] or []), marker]
        if fields:
            self.client.update_issue(link.jira_key or link.jira_id, fields)
        if status is not None:
            self.transition(link.jira_key, "", status, warnings, just_created=False)
        self.refresh_link(link)
        self.log_warnings(record, warnings, entry, link.jira_key)
        what = ", ".join(sorted(scope)) if scope else "everything"
        return Sent(
            link, False, f"Updated {link.jira_key} from {record.reference} ({what})", synced
        )

    def agreed(self, record: Record, fields: set[str] | None = None) -> dict:
        """The snapshot after sending ``fields`` (None: every field this row sends)."""
        mapping = self.mapping(record)
        names = mapped_fields(mapping, sending=True) if fields is None else set(fields)
        names &= mapped_fields(mapping, sending=True)
        return snapshot_of_record(
            record, mapping, sorted(names), api_version=getattr(self.client, "api_version", 3)
        )

    def transition(
        self,
        key: str,
        issue_type_id: str,
        status: JiraValue,
        warnings: list[str],
        *,
        just_created: bool,
        cache_key: str | None = None,
    ) -> None:
        if just_created:
            initial = self.initial_status_id(issue_type_id)
            same_name = self._status_name(initial or "") == status.name.casefold()
            if initial and (status.id == initial or same_name):
                return
        if cache_key and cache_key in self._transitions:
            transitions = self._transitions[cache_key]
        else:
            transitions = self.client.get_transitions(key)
            if cache_key:
                self._transitions[cache_key] = transitions
        for transition in transitions:
            to = transition.get("to") if isinstance(transition.get("to"), dict) else {}
            if (status.id and str(to.get("id")) == status.id) or (
                str(to.get("name", "")).casefold() == status.name.casefold()
            ):
                self.client.transition_issue(key, str(transition["id"]))
                return
        # Jira offers no transition to the status an issue is in: already there is not a
        # problem to report (one read, only when no transition matched).
        current = (self.client.get_issue(key, fields=["status"]).get("fields") or {}).get(
            "status"
        ) or {}
        if (status.id and str(current.get("id")) == status.id) or (
            str(current.get("name", "")).casefold() == status.name.casefold()
        ):
            return
        warnings.append(
            f"No Jira transition takes {key} to '{status.name}', so its status was not changed: "
            "check the status value mapping or the Jira workflow."
        )

    def _status_name(self, status_id: str) -> str:
        for status in self.configuration.get("statuses") or []:
            if str(status.get("id")) == status_id:
                return str(status.get("name", "")).casefold()
        return ""

    # -- links and log -------------------------------------------------------------------

    def store_link(self, record: Record, kind: str, jira_id: Any, key: str) -> JiraLink:
        url = self.browse_url(key) if key else self.version_url(str(jira_id))
        try:
            with transaction.atomic():
                link, _ = JiraLink.objects.update_or_create(
                    integration=self.integration,
                    record=record,
                    defaults={
                        "jira_kind": kind,
                        "jira_id": str(jira_id),
                        "jira_key": key or "",
                        "jira_url": url,
                        "last_synced_at": timezone.now(),
                        "last_error": "",
                    },
                )
            wake_waiting_links(self.integration, record)
        except IntegrityError as exc:
            # Jira's webhook about this very issue may have beaten us here: the inbound side
            # then adopted it by its marker label and saved this same link first.
            adopted = JiraLink.objects.filter(
                integration=self.integration, record=record, jira_kind=kind, jira_id=str(jira_id)
            ).first()
            if adopted is not None:
                JiraLink.objects.filter(pk=adopted.pk).update(
                    jira_key=key or adopted.jira_key,
                    jira_url=url,
                    last_synced_at=timezone.now(),
                    last_error="",
                )
                adopted.refresh_from_db()
                return adopted
            other = (
                JiraLink.objects.filter(
                    integration=self.integration, jira_kind=kind, jira_id=str(jira_id)
                )
                .select_related("record")
                .first()
            )
            raise Refused(
                f"{key or 'The Jira version ' + str(jira_id)} is already linked to "
                f"{other.record.reference if other else 'another record'}."
            ) from exc
        return link

    def refresh_link(self, link: JiraLink) -> None:
        JiraLink.objects.filter(pk=link.pk).update(last_synced_at=timezone.now(), last_error="")

    def log_warnings(
        self, record: Record, warnings: list[str], entry: OutboxEntry | None, key: str
    ) -> None:
        for warning in dict.fromkeys(warnings):
            if warning in self._said:
                logged, first, count = self._said[warning]
                self._said[warning] = (logged, first, count + 1)
                logged.message = f"{warning} ({count + 1} records of this send, first {first})"
                logged.save(update_fields=["message"])
                continue
            logged = sync_log(
                integration_id=self.integration.id,
                level="warning",
                action="send",
                message=f"{record.reference}: {warning}",
                record_id=record.id,
                jira_key=key,
                outbox_entry=entry,
            )
            if warning.startswith(PER_SEND_WARNINGS):
                self._said[warning] = (logged, record.reference, 1)

    def describe_item(self, exc: ItemRefused, record: Record | None) -> str:
        """One element of a bulk create that Jira refused."""
        error = exc.error
        what = record.reference if record is not None else "this record"
        detail = "; ".join(
            f"Jira refused {self.field_name(k)} ({k}): {v}"
            for k, v in (getattr(error, "field_errors", None) or {}).items()
        ) or str(exc)
        return f"{what}: {detail}. Fix it, then Retry from the log."

    def describe(self, exc: Exception, record: Record | None = None) -> str:
        """A failure in words that say what to do."""
        what = record.reference if record is not None else "this update"
        if isinstance(exc, JiraValidationError):
            parts = [
                f"Jira refused {self.field_name(field_id)} ({field_id}): {message}"
                for field_id, message in exc.field_errors.items()
            ]
            detail = "; ".join(parts) or str(exc)
            return (
                f"{what}: {detail}. Fix the value here or the field mapping (or add the field "
                "to the issue type's screen in Jira), then Retry."
            )
        if isinstance(exc, JiraAuthError):
            return (
                f"{what}: Jira rejected the credentials. Check the connection on the "
                "integration's Connect step (email and API token), then Retry."
            )
        if isinstance(exc, JiraPermissionError):
            return (
                f"{what}: the Jira user may not do this in project {self.project.key}. Check the "
                "connection's user and its project permissions, then Retry."
            )
        if isinstance(exc, JiraNotFound):
            return (
                f"{what}: Jira could not find the issue, version or link ({exc}). It may have "
                "been deleted in Jira; unlink the record and send it again."
            )
        return f"{what}: {exc}"

    # -- record links ----------------------------------------------------------------------

    def send_link(self, entry: OutboxEntry) -> str:
        link = (
            RecordLink.objects.select_related("source", "target")
            .filter(pk=entry.record_link_id)
            .first()
        )
        if link is None:
            return "The record link was deleted before it was sent; nothing to do."
        if IssueLinkMirror.objects.filter(integration=self.integration, record_link=link).exists():
            return f"{link} is already in Jira."
        relationship = relationship_for_outgoing(self.integration, link.source.kind, link.link_type)
        if relationship is None:
            return f"{link}: its link type is not mapped to a Jira issue link; nothing sent."
        source = self.link_end(link.source, link)
        target = self.link_end(link.target, link)
        # Jira's POST /issueLink reads "inwardIssue <outward phrase> outwardIssue": the shared
        # README says the webhook's sourceIssueId is the REST inwardIssue and "reads 'source
        # *blocks* destination'". So when our link's source is Jira's source (outward), it
        # goes in inwardIssue; an inward mapping swaps the two.
        if relationship.jira_direction == RelationshipMapping.JiraDirection.OUTWARD:
            inward_key, outward_key = source.jira_key, target.jira_key
        else:
            inward_key, outward_key = target.jira_key, source.jira_key
        link_type = relationship.jira_link_type_id or relationship.jira_link_type_name
        # Safe to repeat: Jira answers 201 for an existing link and creates nothing.
        jira_link_id = self.client.create_issue_link(link_type, inward_key, outward_key)
        if not RecordLink.objects.filter(pk=link.pk).exists():
            self.client.delete_issue_link(jira_link_id)  # deleted here while we were sending
            return f"{link} was deleted while it was sent; removed it from Jira again."
        self.save_mirror(str(jira_link_id), link)
        name = relationship.jira_link_type_name or link_type
        return f"Linked {inward_key} and {outward_key} ({name}) for {link}"

    def link_end(self, record: Record, record_link: RecordLink) -> JiraLink:
        """One end of a record link in Jira: sent first if it is not there yet; if it cannot
        be sent now, the link waits for it (and is sent when it arrives)."""
        try:
            return self.ensure_linked(record, child=record)
        except Refused as exc:
            raise Waiting(
                f"{WAITING_PREFIX}{record.reference} to reach Jira before {record_link} can be "
                f"linked there: {exc}"
            ) from exc

    def save_mirror(self, jira_link_id: str, record_link: RecordLink) -> IssueLinkMirror:
        """Idempotent: Jira's ``issuelink_created`` about this very link may have been
        processed before we got here, and the inbound side then mirrored it already."""
        # get_or_create re-reads after an IntegrityError: the inbound side may insert the
        # row between our read and our insert.
        mirror, _ = IssueLinkMirror.objects.get_or_create(
            integration=self.integration,
            jira_link_id=jira_link_id,
            defaults={"record_link": record_link},
        )
        if mirror.record_link_id is None:
            IssueLinkMirror.objects.filter(pk=mirror.pk, record_link=None).update(
                record_link=record_link
            )
            mirror.record_link = record_link
        return mirror

    def delete_link(self, entry: OutboxEntry) -> str:
        jira_link_id = str(entry.payload.get("jira_link_id") or "")
        if not jira_link_id:
            return "No Jira link to delete."
        try:
            self.client.delete_issue_link(jira_link_id)
            message = f"Deleted Jira issue link {jira_link_id}"
        except JiraNotFound:
            message = f"Jira issue link {jira_link_id} was already gone"
        IssueLinkMirror.objects.filter(
            integration=self.integration, jira_link_id=jira_link_id
        ).delete()
        description = entry.payload.get("description")
        return f"{message} ({description})." if description else f"{message}."


# -- entry state changes -------------------------------------------------------------------


def _release(entry: OutboxEntry) -> None:
    OutboxEntry.objects.filter(pk=entry.pk).update(claimed_at=None)


@transaction.atomic
def _mark_sent(entry: OutboxEntry, sent: Sent | None = None) -> None:
    """The entry is done, and the snapshot of what both sides now hold is stored with it."""
    if sent is not None:
        snapshot_store(sent.link, sent.snapshot)
    entry.status = Status.SENT
    entry.sent_at = timezone.now()
    entry.last_error = ""
    entry.next_attempt_at = None
    entry.claimed_at = None
    entry.save(update_fields=["status", "sent_at", "last_error", "next_attempt_at", "claimed_at"])


def _fail(entry: OutboxEntry, message: str, sender: Sender | None) -> None:
    entry.status = Status.FAILED
    entry.last_error = message[:5000]
    entry.next_attempt_at = None
    entry.claimed_at = None
    entry.save(update_fields=["status", "last_error", "next_attempt_at", "claimed_at"])
    if entry.record_id:
        JiraLink.objects.filter(
            integration_id=entry.integration_id, record_id=entry.record_id
        ).update(last_error=message[:5000])
    sync_log(
        integration_id=entry.integration_id,
        level="error",
        action=entry.action,
        message=message,
        record_id=entry.record_id,
        outbox_entry=entry,
    )


def wake_waiting_links(integration: Integration, record: Record) -> None:
    """A record just reached Jira: links that waited for it go now."""
    waiting = OutboxEntry.objects.filter(
        integration=integration,
        action=Action.CREATE_LINK,
        status=Status.PENDING,
        claimed_at__isnull=True,
        last_error__startswith=WAITING_PREFIX,
    ).filter(Q(record_link__source=record) | Q(record_link__target=record))
    for entry_id in waiting.values_list("id", flat=True):
        enqueue_outbox_entry(entry_id)


def _wait(entry: OutboxEntry, message: str) -> None:
    """Pending, unclaimed, no retry due: store_link wakes it when the awaited record is
    linked (and the sweep looks again now and then)."""
    entry.claimed_at = None
    entry.next_attempt_at = None
    entry.last_error = message[:5000]
    entry.save(update_fields=["claimed_at", "next_attempt_at", "last_error"])


def _retry_later(entry: OutboxEntry, exc: Exception, sender: Sender | None) -> None:
    entry.attempts += 1
    if entry.attempts >= MAX_ATTEMPTS:
        _fail(
            entry,
            f"Gave up after {entry.attempts} attempts: {exc}. Retry when Jira is reachable.",
            sender,
        )
        return
    delay = backoff_seconds(entry.attempts, getattr(exc, "retry_after", None))
    entry.next_attempt_at = timezone.now() + timedelta(seconds=delay)
    entry.last_error = str(exc)[:5000]
    entry.claimed_at = None
    entry.save(update_fields=["attempts", "next_attempt_at", "last_error", "claimed_at"])
    if entry.attempts == 1:
        sync_log(
            integration_id=entry.integration_id,
            level="warning",
            action=entry.action,
            message=f"Jira did not take the update yet ({exc}); retrying in {round(delay)}s.",
            record_id=entry.record_id,
            outbox_entry=entry,
        )
    enqueue_outbox_entry(entry.id, countdown=delay)


# -- the task's service ----------------------------------------------------------------------


def _claim(entry_id: int) -> OutboxEntry | None:
    with transaction.atomic():
        entry = (
            OutboxEntry.objects.select_for_update(of=("self",))
            .select_related("integration", "record")
            .filter(pk=entry_id)
            .first()
        )
        if entry is None or entry.status != Status.PENDING:
            return None
        # An early duplicate of a delayed retry: the delayed message (or the sweep) comes.
        if entry.next_attempt_at and entry.next_attempt_at > timezone.now() + timedelta(seconds=2):
            return None
        entry.claimed_at = timezone.now()
        entry.save(update_fields=["claimed_at"])
        return entry


def _key_of(integration: Integration, record_id: int | None) -> str:
    if record_id is None:
        return ""
    link = JiraLink.objects.filter(integration=integration, record_id=record_id).first()
    return link.jira_key if link else ""


def outbox_entry_process(*, entry_id: int) -> None:
    """Send one outbox entry. Idempotent: a redelivered message after a crash finds the
    entry pending and, thanks to the create marker, adopts what Jira already has."""
    entry = _claim(entry_id)
    if entry is None:
        return
    integration = entry.integration
    try:
        client = build_client(integration)
    except ApplicationError as exc:
        _fail(entry, f"Cannot reach Jira: {exc.message if hasattr(exc, 'message') else exc}", None)
        return
    sender = Sender(integration, client)
    try:
        settle(sender, entry, lambda: deliver(sender, entry))
    finally:
        close = getattr(client, "close", None)
        if callable(close):
            close()


def deliver(sender: Sender, entry: OutboxEntry) -> Sent | str:
    """The Jira calls of one claimed entry."""
    if entry.action == Action.SEND_RECORD:
        record = entry.record
        if record is None:
            return "The record was deleted before it was sent."
        return sender.send_record(entry, record)
    if entry.action == Action.CREATE_LINK:
        return sender.send_link(entry)
    return sender.delete_link(entry)


def _release_version_gone(sender: Sender, entry: OutboxEntry, exc: JiraError) -> bool:
    """Jira refused the fix version taken from the record's release link because the version
    was just deleted in Jira (its jira:version_deleted not processed yet): retry, do not fail.
    The deletion unlinks the release; the retry sends the release again, then the record
    (found by the convergence test, seed 1006)."""
    record = entry.record
    if "fixVersions" not in exc.field_errors or record is None or not record.release_id:
        return False
    link = JiraLink.objects.filter(
        integration=sender.integration,
        record_id=record.release_id,
        jira_kind=JiraLink.JiraKind.VERSION,
    ).first()
    if link is None:
        return False
    try:
        sender.client.get_version(link.jira_id)
    except JiraNotFound:
        return True
    except JiraError:
        return False
    return False


def settle(sender: Sender, entry: OutboxEntry, work) -> str:
    """Run a claimed entry's work and leave the entry in its next state, the same way for
    every entry of every path: sent (with the snapshot), retried later by the one retry
    policy (sync.queue.backoff_seconds), waiting for a link's other end, or failed with
    words that say what to do. Returns the outcome in words ("" when logged nothing)."""
    try:
        result = work()
    except Waiting as exc:
        _wait(entry, str(exc))
        return "waiting"
    except JiraError as exc:
        if exc.transient or _release_version_gone(sender, entry, exc):
            _retry_later(entry, exc, sender)
            return "retry"
        _fail(entry, sender.describe(exc, entry.record), sender)
        return "failed"
    except ItemRefused as exc:
        _fail(entry, sender.describe_item(exc, entry.record), sender)
        return "failed"
    except Refused as exc:
        _fail(entry, str(exc), sender)
        return "failed"
    except Exception as exc:  # a bug or a database hiccup: retried, then failed, never lost
        logger.exception("outbox entry %s failed unexpectedly", entry.id)
        _retry_later(entry, exc, sender)
        return "retry"
    sent = result if isinstance(result, Sent) else None
    message = sent.what if sent is not None else str(result or "")
    _mark_sent(entry, sent)
    # Send all reports its creates in its summary; adoptions and the rest are logged.
    quiet = entry.job_id is not None and sent is not None and sent.what.startswith("Created")
    if message and not quiet:
        sync_log(
            integration_id=sender.integration.id,
            level="info",
            action=entry.action,
            message=message,
            record_id=entry.record_id,
            jira_key=_key_of(sender.integration, entry.record_id),
            outbox_entry=entry,
        )
    return "sent"


def outbox_entry_deliver(*, sender: Sender, entry_id: int) -> str:
    """Claim and deliver one entry with the given Sender (the preview's, over its planning
    client): the same claim, delivery and settling as the task's."""
    entry = _claim(entry_id)
    if entry is None:
        return ""
    return settle(sender, entry, lambda: deliver(sender, entry))
