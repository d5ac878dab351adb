"""The crash-safe create: the one place that creates issues and versions in Jira, for a single
send and for "Send all" alike.

Nothing twice, even when Jira applied a create whose answer never came back (a timeout, a
dropped connection, a worker killed between Jira's answer and our commit):

- every issue we create carries the marker label ``rjs-<integration id>-<record id>``;
- before the POST, the outbox entries of the records are stamped ``create_attempted_at``
  (committed), so a later attempt knows to look first, and looks as after a lost answer;
- a POST that failed in a way that may have been applied (no answer, 5xx) is never repeated
  blindly: the markers are searched, a few times with pauses (Jira's search index lags behind
  its writes, minutes after bulk operations), and what is found is adopted. What is still not
  found goes back to the outbox's retry (sync.queue.backoff_seconds), whose next attempt
  searches again before it creates;
- two issues carrying one marker (a duplicate that slipped past the index lag) are reported
  in the sync log with both keys; the oldest is the record's issue, the other is left for the
  user to delete (it is never touched silently).

Versions have no labels, but a version's name is unique in its project and the version list
is read directly (not through the search index): the name is the marker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from integrations.providers.jira.errors import JiraError, JiraRateLimited, JiraUnavailable
from records.models import Record

from ..models import OutboxEntry
from ..queue import enqueue_marker_check
from .log import sync_log

logger = logging.getLogger(__name__)

MARKER_PREFIX = "rjs-"
SEARCH_CHUNK = 50


def marker_label(integration_id: int, record_id: int) -> str:
    """The label that lets us find an issue we created even if we never saw Jira's answer."""
    return f"{MARKER_PREFIX}{integration_id}-{record_id}"


def marker_record_id(integration_id: int, labels: Any) -> int | None:
    """The record id in this integration's marker label among an issue's labels, if any
    (another integration's marker, or none, is None)."""
    prefix = f"{MARKER_PREFIX}{integration_id}-"
    for label in labels if isinstance(labels, list) else []:
        if isinstance(label, str) and label.startswith(prefix):
            rest = label[len(prefix) :]
            if rest.isascii() and rest.isdigit():
                return int(rest)
    return None


def research_delays() -> list[float]:
    """Pauses (seconds) before each re-search after a lost answer: bounded, spaced."""
    return [float(d) for d in getattr(settings, "SYNC_MARKER_RESEARCH_DELAYS", (1.0, 3.0, 6.0))]


def may_have_been_applied(exc: JiraError) -> bool:
    """A failed POST Jira may still have applied: no answer, or a server error. A rate limit
    (429) and a refusal (4xx) are answers that nothing was done."""
    return bool(exc.transient) and not isinstance(exc, JiraRateLimited)


def mark_attempt(records: Iterable[Record], integration_id: int) -> None:
    """Durable before the POST (autocommit): a later attempt for these records looks first."""
    OutboxEntry.objects.filter(
        integration_id=integration_id,
        record__in=list(records),
        action=OutboxEntry.Action.SEND_RECORD,
    ).update(create_attempted_at=timezone.now())


def attempted_before(records: Iterable[Record], integration_id: int) -> bool:
    return OutboxEntry.objects.filter(
        integration_id=integration_id,
        record__in=list(records),
        action=OutboxEntry.Action.SEND_RECORD,
        create_attempted_at__isnull=False,
    ).exists()


def schedule_marker_check(integration_id: int, record_ids: list[int]) -> None:
    enqueue_marker_check(integration_id, record_ids, countdown=marker_check_delay())


def marker_check_delay() -> float:
    """When to look for duplicates after a create that followed a search (seconds): after
    Jira's search index has caught up with bulk writes."""
    return float(getattr(settings, "SYNC_MARKER_CHECK_DELAY", 600))


def markers_check(*, integration_id: int, record_ids: list[int]) -> int:
    """Search the records' markers; two issues with one marker are reported (see
    Creator.find_issues). Returns how many records have duplicates."""
    from integrations.models import Integration
    from integrations.selectors import effective_project
    from integrations.services.configuration import build_client

    integration = Integration.objects.filter(pk=integration_id).first()
    records = list(Record.objects.filter(pk__in=record_ids))
    if integration is None or not records:
        return 0
    client = build_client(integration)
    try:
        creator = Creator(integration, client, effective_project(integration).key)
        creator.find_issues(records)
        return creator.duplicates
    finally:
        client.close()


@dataclass
class Outcome:
    """Per record id: the issue created or adopted ({"id", "key"}), or the error."""

    created: dict[int, dict] = field(default_factory=dict)
    adopted: dict[int, dict] = field(default_factory=dict)
    failed: dict[int, Exception] = field(default_factory=dict)


class Creator:
    """Creates one integration's issues and versions (see module docstring)."""

    def __init__(self, integration: Any, client: Any, project_key: str):
        self.integration = integration
        self.client = client
        self.project_key = project_key
        self.duplicates = 0

    # -- finding what we made ----------------------------------------------------------------

    def find_issues(self, records: list[Record]) -> dict[int, dict]:
        """Our issues for these records, by marker label; duplicates are reported."""
        by_label = {marker_label(self.integration.id, r.id): r for r in records}
        found: dict[int, list[dict]] = {}
        labels = list(by_label)
        for start in range(0, len(labels), SEARCH_CHUNK):
            chunk = labels[start : start + SEARCH_CHUNK]
            quoted = ", ".join(f'"{label}"' for label in chunk)
            jql = f'project = "{self.project_key}" AND labels in ({quoted}) ORDER BY created ASC'
            for issue in self.client.search_jql(jql, fields=["labels"], max_results=100):
                labels_of = (issue.get("fields") or {}).get("labels") or []
                record_id = marker_record_id(self.integration.id, labels_of)
                if record_id is not None and record_id in {r.id for r in records}:
                    found.setdefault(record_id, []).append(issue)
        result = {}
        for record_id, issues in found.items():
            issues.sort(key=lambda i: int(i["id"]) if str(i.get("id", "")).isdigit() else 0)
            result[record_id] = issues[0]
            if len(issues) > 1:
                self.duplicates += 1
                self._report_duplicates(record_id, issues)
        return result

    def _report_duplicates(self, record_id: int, issues: list[dict]) -> None:
        from ..models import JiraLink

        linked = JiraLink.objects.filter(
            integration=self.integration, record_id=record_id, jira_kind=JiraLink.JiraKind.ISSUE
        ).first()
        keep = next((i for i in issues if linked and str(i.get("id")) == linked.jira_id), None)
        keep = keep or issues[0]
        extra = [i for i in issues if i is not keep]
        record = Record.objects.filter(pk=record_id).first()
        who = record.reference if record else f"record {record_id}"
        keys = ", ".join(str(i.get("key")) for i in extra)
        sync_log(
            integration_id=self.integration.id,
            level="error",
            action="duplicate",
            message=(
                f"{who} has {len(issues)} issues in Jira carrying its marker label "
                f"{marker_label(self.integration.id, record_id)}: {keep.get('key')} is linked "
                f"here; {keys} {'is a duplicate' if len(extra) == 1 else 'are duplicates'} made "
                "while Jira's search lagged. Delete the duplicate in Jira (nothing here points "
                "at it)."
            ),
            record_id=record_id,
            jira_key=str(keep.get("key") or ""),
        )

    def find_after_lost_answer(self, records: list[Record]) -> dict[int, dict]:
        """Search for the markers, again after each pause while some are still missing."""
        found = self.find_issues(records)
        for delay in research_delays():
            missing = [r for r in records if r.id not in found]
            if not missing:
                break
            time.sleep(delay)
            found.update(self.find_issues(missing))
        return found

    # -- creating ------------------------------------------------------------------------------

    def create_issues(self, items: list[tuple[Record, dict]], *, search_first: bool) -> Outcome:
        """Create the issues (``fields`` carry the marker label), one POST for one issue and
        bulk creates of up to 50 for more; adopt instead what an earlier attempt made."""
        outcome = Outcome()
        records = [record for record, _ in items]
        if search_first:
            # An earlier attempt may have been applied with nobody hearing the answer (a worker
            # killed between Jira's answer and our commit): the same as a lost answer, so the
            # same spaced searches before creating again.
            outcome.adopted.update(self.find_after_lost_answer(records))
        rest = [(r, f) for r, f in items if r.id not in outcome.adopted]
        if not rest:
            return outcome
        if search_first:
            # The search may have missed what an earlier attempt made (index lag): look again
            # once the index has caught up, and report two issues with one marker.
            schedule_marker_check(self.integration.id, [r.id for r, _ in rest])
        mark_attempt([r for r, _ in rest], self.integration.id)
        try:
            if len(rest) == 1:
                record, fields = rest[0]
                outcome.created[record.id] = self.client.create_issue(fields)
                return outcome
            result = self.client.bulk_create_issues([f for _, f in rest])
        except JiraError as exc:
            self._after_failed_post([r for r, _ in rest], exc, outcome)
            return outcome
        unsure: list[Record] = []
        for index, (record, _) in enumerate(rest):
            created = result.created.get(index)
            if created is not None:
                outcome.created[record.id] = created
                continue
            error = result.errors.get(index)
            if error is not None and error.transient:
                unsure.append(record)  # its chunk failed as a whole: maybe applied
            outcome.failed[record.id] = _ItemRefused(error)
        if unsure:
            lost = JiraUnavailable("Jira did not answer a bulk create.")
            self._after_failed_post(unsure, lost, outcome)
        return outcome

    def _after_failed_post(self, records: list[Record], exc: JiraError, outcome: Outcome) -> None:
        if not may_have_been_applied(exc):
            for record in records:
                outcome.failed[record.id] = exc
            return
        logger.warning("create of %s record(s) lost its answer; searching", len(records))
        found = self.find_after_lost_answer(records)
        for record in records:
            if record.id in found:
                outcome.adopted[record.id] = found[record.id]
                outcome.failed.pop(record.id, None)
            else:
                outcome.failed[record.id] = exc  # transient: the outbox retries, looking first

    def find_version(self, name: str) -> dict | None:
        for version in self.client.get_project_versions(self.project_key):
            if version.get("name") == name:
                return version
        return None

    def create_version(
        self, record: Record, payload: dict, *, project_id: str, search_first: bool
    ) -> tuple[dict, bool]:
        """(version, adopted). Raises the JiraError when it was neither made nor found."""
        if search_first:
            found = self.find_version(payload["name"])
            if found is not None:
                return found, True
        mark_attempt([record], self.integration.id)
        try:
            return self.client.create_version(project_id=project_id, **payload), False
        except JiraError as exc:
            if not may_have_been_applied(exc):
                raise
            found = self.find_version(payload["name"])  # the version list has no index lag
            if found is None:
                raise
            return found, True


class _ItemRefused(Exception):
    """One element of a bulk create that Jira refused (field errors in ``error``)."""

    def __init__(self, error: Any):
        self.error = error
        messages = getattr(error, "messages", None) or ["no answer"]
        super().__init__("; ".join(messages))


ItemRefused = _ItemRefused
