"""Check Jira: find and repair what Jira's webhooks missed (drift reconciliation).

Jira's webhooks are not guaranteed (a receiver down too long, a webhook disabled, a bulk
edit with notifications off). A pass, per enabled integration, on the beat schedule
(``SYNC_CHECK_JIRA_MINUTES``) or on demand (Check Jira now, the API's ``check-jira``):

1. reads Jira: its clock (``serverInfo``), the issues of the project updated since the last
   pass (JQL ``project = X AND updated >= -<minutes>m``: the minutes since the watermark plus
   ``SYNC_CHECK_JIRA_MARGIN_MINUTES``, relative so Jira's clock and time zone decide), all of
   them for a full check, token-paginated, and the project's versions;
2. compares, without writing, each linked issue / version with the synced snapshot through
   the same code the webhook handlers use (``issue_proposal`` / ``version_proposal``, then
   ``snapshot.decide_inbound``, after the ordering rule ``check_order``): an echo, or a state
   older than what was applied, is no drift;
3. finds what is missing: a linked issue absent from a full check and not found by id is
   deleted; a linked version absent from the list is deleted; an issue not linked here, not
   yet an import candidate, under an integrated parent (or carrying our marker label) is new;
4. applies each drift exactly as if its webhook had arrived: an ``InboundEvent`` is stored
   with Jira's payload (``jira:issue_updated`` / ``jira:issue_deleted`` /
   ``jira:version_updated`` / ``jira:version_deleted``) and processed by
   ``inbound_event_process``: same handlers, same ordering and echo rules. Its
   ``jira_timestamp`` is the issue's ``updated`` (Jira's clock), so a late real webhook
   about an older state is stale, and one about this state is an echo: nothing changes;
5. writes ONE sync-log summary and the integration's ``JiraCheck`` (watermark, last result).

A pass over unchanged issues writes nothing but that summary and ``JiraCheck``, and calls
Jira ``3 + ceil(issues / 100)`` times.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError
from integrations.fields import LOCAL_FIELDS
from integrations.models import Integration, RecordMapping
from integrations.providers.jira.errors import JiraError, JiraNotFound
from integrations.selectors import effective_project, record_mappings_effective

from ..models import ImportCandidate, InboundEvent, JiraCheck, JiraLink, SyncLogEntry
from ..queue import enqueue_jira_check
from .creates import marker_record_id
from .handlers.common import (
    Stale,
    as_dict,
    check_order,
    deleted_in_jira,
    integrated_parent,
    issue_fields,
    mapping_for_issue_type,
)
from .handlers.issues import issue_proposal
from .handlers.versions import release_mapping, version_proposal
from .log import sync_log
from .snapshot import decide_inbound

logger = logging.getLogger(__name__)

PAGE_SIZE = 100  # Jira's page cap when fields are asked for
SHOWN_DRIFTS = 20  # the summary names this many, then "and N more"
PARENT_WORDS = {
    "release": "fix versions",
    "epic": "parent",
    "feature": "parent",
    "initiative": "parent",
}


def check_every_minutes() -> int:
    return max(1, int(getattr(settings, "SYNC_CHECK_JIRA_MINUTES", 15)))


def margin_minutes() -> int:
    return max(0, int(getattr(settings, "SYNC_CHECK_JIRA_MARGIN_MINUTES", 10)))


def full_every_hours() -> float:
    return float(getattr(settings, "SYNC_CHECK_JIRA_FULL_HOURS", 24))


def stuck_after() -> timedelta:
    """A pass marked running for longer than this died with its worker: the next may run."""
    return timedelta(minutes=int(getattr(settings, "SYNC_CHECK_JIRA_STUCK_MINUTES", 60)))


# --------------------------------------------------------------------------- request


def jira_check_request(*, integration: Integration, full: bool = True) -> JiraCheck:
    """Check Jira now (the button, the API): note the request and hand the pass to a worker.
    A full check (the default here) also finds issues deleted in Jira."""
    if integration.is_template:
        raise ApplicationError("A template is not synced: there is nothing to check.")
    if integration.state != Integration.State.ENABLED:
        raise ApplicationError(
            f"The integration is {integration.get_state_display().lower()}: enable it first, "
            "then Check Jira compares its linked records with Jira.",
            field="state",
        )
    with transaction.atomic():
        check, _ = JiraCheck.objects.select_for_update().get_or_create(integration=integration)
        check.requested_at = timezone.now()
        check.requested_full = check.requested_full or full
        check.save(update_fields=["requested_at", "requested_full"])
        enqueue_jira_check(integration.id)
    return check


# --------------------------------------------------------------------------- the pass


@dataclass
class Drift:
    """One difference found, and the webhook event that repairs it."""

    label: str  # "DEMO-4", "version 'v2'"
    what: list[str]  # ["status", "summary"], ["deleted"]
    event_type: str
    subject_id: str
    body: dict
    jira_timestamp: int | None
    order: tuple = ()
    outcome: str = ""
    reason: str = ""

    @property
    def words(self) -> str:
        return f"{self.label} {', '.join(self.what)}"


@dataclass
class Pass:
    integration: Integration
    full: bool
    started: datetime
    jira_now_ms: int
    issues_checked: int = 0
    versions_checked: int = 0
    drifts: list[Drift] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    calls: int = 0
    type_mapped: dict[tuple[str, str], bool] = field(default_factory=dict)


def jira_check_run(*, integration_id: int, full: bool | None = None) -> JiraCheck | None:
    """One pass for one integration. ``full``: None lets the schedule decide (a full check
    when none ran for ``SYNC_CHECK_JIRA_FULL_HOURS``, or one was requested). Returns the
    integration's ``JiraCheck`` as it ends, None when there is nothing to do (not enabled,
    gone, or a pass already running)."""
    now = timezone.now()
    with transaction.atomic():
        integration = (
            Integration.objects.filter(pk=integration_id, is_template=False)
            .select_for_update()
            .first()
        )
        if integration is None or integration.state != Integration.State.ENABLED:
            return None
        check, _ = JiraCheck.objects.select_for_update().get_or_create(integration=integration)
        if check.running_since and check.running_since > now - stuck_after():
            return None  # another worker is on it; a request stays noted for the next pass
        if full is None:
            full = (
                check.requested_full
                or check.watermark is None
                or check.last_full_at is None
                or check.last_full_at < now - timedelta(hours=full_every_hours())
            )
        check.running_since = now
        check.last_started_at = now
        check.requested_at = None
        check.requested_full = False
        check.save(
            update_fields=["running_since", "last_started_at", "requested_at", "requested_full"]
        )
    watermark = None if full else check.watermark
    try:
        run = _read_and_compare(integration, full=bool(full), watermark=watermark, started=now)
    except (JiraError, ApplicationError) as exc:
        message = exc.message if isinstance(exc, ApplicationError) else str(exc)
        return _finish_failed(check, integration, message, full=bool(full))
    except Exception as exc:  # a defect: say so, never leave the pass marked running
        logger.exception("check jira of integration %s failed", integration_id)
        _finish_failed(
            check, integration, f"Unexpected error ({type(exc).__name__}).", full=bool(full)
        )
        raise
    _apply(run)
    return _finish(check, run)


def _read_and_compare(
    integration: Integration, *, full: bool, watermark: datetime | None, started: datetime
) -> Pass:
    from integrations.services.configuration import build_client

    project = effective_project(integration)
    if not project.key:
        raise ApplicationError("The integration has no Jira project: choose one, then check.")
    client = build_client(integration)
    run = Pass(integration=integration, full=full, started=started, jira_now_ms=0)

    def count(response, *args, **kwargs):
        run.calls += 1

    client.session.hooks["response"].append(count)
    try:
        run.jira_now_ms = _jira_now_ms(client, started)
        issues = list(client.search_jql(_jql(project.key, watermark, started), ["*all"], PAGE_SIZE))
        rows = release_mapping(integration)
        versions = client.get_project_versions(project.key) if rows is not None else None
        links = list(
            JiraLink.objects.filter(integration=integration)
            .select_related("record", "record__workspace")
            .prefetch_related("record__tags")
        )
        issue_links = {lk.jira_id: lk for lk in links if lk.jira_kind == JiraLink.JiraKind.ISSUE}
        mappings = {m.record_kind: m for m in record_mappings_effective(integration)}
        _compare_versions(run, rows, versions, links)
        _compare_issues(run, issues, issue_links, mappings)
        if full:
            seen = {str(as_dict(i).get("id")) for i in issues}
            missing = [lk for jid, lk in issue_links.items() if jid not in seen]
            _find_deleted(run, client, missing, issue_links, mappings)
    finally:
        client.close()
    return run


def _jql(project_key: str, watermark: datetime | None, now: datetime) -> str:
    jql = f'project = "{project_key}"'
    if watermark is not None:
        minutes = math.ceil(max(0.0, (now - watermark).total_seconds()) / 60) + margin_minutes()
        jql += f" AND updated >= -{max(1, minutes)}m"
    # A stable order: an issue edited while the pages are read does not shift the others.
    return jql + " ORDER BY key ASC"


def _parse_jira_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ms(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment is not None else None


def _jira_now_ms(client, started: datetime) -> int:
    """Jira's clock (its webhooks' timestamps come from it), else ours."""
    moment = _parse_jira_time(as_dict(client.server_info()).get("serverTime"))
    return _ms(moment) or _ms(started) or 0


def _stale(link: JiraLink, timestamp: int | None) -> bool:
    """The ordering rule of the handlers: a state older than what was applied is no drift."""
    try:
        check_order(InboundEvent(jira_timestamp=timestamp), link)
    except Stale:
        return True
    return False


def _field_words(mapping: RecordMapping, names: list[str]) -> list[str]:
    words = []
    for name in names:
        fm = next((f for f in mapping.field_mappings.all() if f.local_field == name), None)
        if fm is not None:
            word = (fm.jira_field_name or fm.jira_field_id).lower()
        elif name in PARENT_WORDS:
            word = PARENT_WORDS[name]
        else:
            word = LOCAL_FIELDS[name].label.lower() if name in LOCAL_FIELDS else name
        if word not in words:
            words.append(word)
    return words


def _drifted_fields(decision) -> list[str]:
    names = list(decision.apply)
    names += [c.field for c in decision.conflicts if c.field not in names]
    return names


def _compare_issues(
    run: Pass,
    issues: list[dict],
    issue_links: dict[str, JiraLink],
    mappings: dict[str, RecordMapping],
) -> None:
    integration = run.integration
    candidates = set(
        ImportCandidate.objects.filter(integration=integration).values_list("jira_id", flat=True)
    )
    for issue in issues:
        issue = as_dict(issue)
        jira_id = str(issue.get("id") or "")
        if not jira_id:
            continue
        run.issues_checked += 1
        link = issue_links.get(jira_id)
        if link is not None:
            _compare_linked_issue(run, issue, link, mappings)
        elif jira_id not in candidates:
            _compare_unlinked_issue(run, issue)


def _issue_drift(issue: dict, what: list[str], *, timestamp: int | None) -> Drift:
    key = str(issue.get("key") or f"issue {issue.get('id')}")
    return Drift(
        label=key,
        what=what,
        event_type="jira:issue_updated",
        subject_id=str(issue.get("id")),
        # A changelog naming nothing: what Jira holds is compared with the snapshot, and a
        # field without a snapshot entry (a link made before snapshots) is left alone, as
        # nothing says which side is newer (snapshot.decide_inbound).
        body={
            "webhookEvent": "jira:issue_updated",
            "timestamp": timestamp,
            "issue": issue,
            "changelog": {"items": []},
        },
        jira_timestamp=timestamp,
        order=(2, timestamp or 0, key),
    )


def _compare_linked_issue(
    run: Pass, issue: dict, link: JiraLink, mappings: dict[str, RecordMapping]
) -> None:
    fields = issue_fields(issue)
    timestamp = _ms(_parse_jira_time(fields.get("updated"))) or run.jira_now_ms
    if _stale(link, timestamp):
        return
    record = link.record
    mapping = mappings.get(record.kind)
    if mapping is None or mapping.target != RecordMapping.Target.ISSUE_TYPE:
        return  # the handler would ignore it: nothing to repair
    key = str(issue.get("key") or link.jira_key)
    proposed, _ = issue_proposal(run.integration, mapping, record, fields, who=key)
    decision = decide_inbound(
        integration=run.integration,
        link=link,
        record=record,
        mapping=mapping,
        proposed=proposed,
        jira_fields=fields,
        named=set(),  # as the event's empty changelog (see _issue_drift)
    )
    what = _field_words(mapping, _drifted_fields(decision))
    if key and link.jira_key and key != link.jira_key:
        what.append(f"key (was {link.jira_key})")
    if what:
        run.drifts.append(_issue_drift(issue, what, timestamp=timestamp))


def _compare_unlinked_issue(run: Pass, issue: dict) -> None:
    """Not linked here and not a candidate yet: a drift only when its webhook would have done
    something (our own issue by its marker label, or an import candidate)."""
    integration = run.integration
    fields = issue_fields(issue)
    timestamp = _ms(_parse_jira_time(fields.get("updated"))) or run.jira_now_ms
    if marker_record_id(integration.id, fields.get("labels")) is not None:
        if not deleted_in_jira(integration, issue.get("id")):
            run.drifts.append(
                _issue_drift(issue, ["made here, not linked yet"], timestamp=timestamp)
            )
        return
    if deleted_in_jira(integration, issue.get("id")):
        return
    issuetype = as_dict(fields.get("issuetype"))
    type_key = (str(issuetype.get("id") or ""), str(issuetype.get("name") or ""))
    if type_key not in run.type_mapped:
        run.type_mapped[type_key] = mapping_for_issue_type(integration, issuetype) is not None
    if not run.type_mapped[type_key]:
        return
    if integrated_parent(integration, fields) is None:
        return
    run.drifts.append(_issue_drift(issue, ["new under an integrated parent"], timestamp=timestamp))


def _find_deleted(
    run: Pass,
    client,
    missing: list[JiraLink],
    issue_links: dict[str, JiraLink],
    mappings: dict[str, RecordMapping],
) -> None:
    """Linked issues a full check did not return: deleted if Jira does not know the id
    either (one GET each: moved to another project, they are still there)."""
    if not missing:
        return
    limit = max(5, len(issue_links) // 2)
    if len(missing) > limit:
        run.warnings.append(
            f"{len(missing)} of {len(issue_links)} linked issues were not in the project's "
            "search results. That is more than a deletion looks like: check that the "
            "integration's Jira user can still browse the project. Nothing was unlinked."
        )
        return
    for link in missing:
        try:
            issue = client.get_issue(link.jira_id, fields=["*all"])
        except JiraNotFound:
            label = link.jira_key or f"issue {link.jira_id}"
            run.drifts.append(
                Drift(
                    label=label,
                    what=["deleted"],
                    event_type="jira:issue_deleted",
                    subject_id=link.jira_id,
                    body={
                        "webhookEvent": "jira:issue_deleted",
                        "timestamp": run.jira_now_ms,
                        "issue": {"id": link.jira_id, "key": link.jira_key},
                    },
                    jira_timestamp=run.jira_now_ms,
                    order=(3, 0, label),
                )
            )
            continue
        run.issues_checked += 1
        _compare_linked_issue(run, issue, link, mappings)


def _compare_versions(
    run: Pass, mapping: RecordMapping | None, versions: list[dict] | None, links: list[JiraLink]
) -> None:
    if mapping is None or versions is None:
        return
    by_id = {str(as_dict(v).get("id")): as_dict(v) for v in versions}
    run.versions_checked = len(by_id)
    for link in links:
        if link.jira_kind != JiraLink.JiraKind.VERSION:
            continue
        version = by_id.get(link.jira_id)
        name = version.get("name") if version else link.record.name
        label = f"version '{name or link.jira_id}'"
        if version is None:
            run.drifts.append(
                Drift(
                    label=label,
                    what=["deleted"],
                    event_type="jira:version_deleted",
                    subject_id=link.jira_id,
                    body={
                        "webhookEvent": "jira:version_deleted",
                        "timestamp": run.jira_now_ms,
                        "version": {"id": link.jira_id, "name": name or ""},
                    },
                    jira_timestamp=run.jira_now_ms,
                    order=(1, 0, label),
                )
            )
            continue
        if _stale(link, run.jira_now_ms):
            continue
        result = version_proposal(mapping, link.record, version)
        decision = decide_inbound(
            integration=run.integration,
            link=link,
            record=link.record,
            mapping=mapping,
            proposed=result.changes,
            jira_fields=version,
            named=set(),  # only fields with a snapshot entry say which side changed
        )
        what = _field_words(mapping, _drifted_fields(decision))
        if what:
            run.drifts.append(
                Drift(
                    label=label,
                    what=what,
                    event_type="jira:version_updated",
                    subject_id=link.jira_id,
                    body={
                        "webhookEvent": "jira:version_updated",
                        "timestamp": run.jira_now_ms,
                        "version": version,
                    },
                    jira_timestamp=run.jira_now_ms,
                    order=(0, 0, label),
                )
            )


# --------------------------------------------------------------------------- applying


def _apply(run: Pass) -> None:
    """Each drift as the webhook that was missed: stored, then processed by the one inbound
    path (versions first, so issues find their releases; then issues oldest change first;
    deletions last)."""
    from .inbound import inbound_event_process

    tag = f"check-jira:{_ms(run.started)}"
    for drift in sorted(run.drifts, key=lambda d: d.order):
        event = InboundEvent.objects.create(
            integration=run.integration,
            delivery_id=f"{tag}:{drift.event_type}:{drift.subject_id}"[:128],
            event_type=drift.event_type,
            jira_issue_id=drift.subject_id if drift.event_type.startswith("jira:issue") else "",
            jira_timestamp=drift.jira_timestamp,
            body=drift.body,
            headers={"X-Check-Jira": "full" if run.full else "since watermark"},
        )
        done = inbound_event_process(event_id=event.id)
        drift.outcome = done.status if done is not None else InboundEvent.Status.FAILED
        drift.reason = done.last_error if done is not None else ""


def _summary(run: Pass) -> tuple[str, str, str]:
    """(level, result, message) of a pass."""
    kind = "full check" if run.full else "changes since the last check"
    checked = f"checked {run.issues_checked} issue{'s' if run.issues_checked != 1 else ''}"
    if run.versions_checked:
        checked += f" and {run.versions_checked} version{'s' if run.versions_checked != 1 else ''}"
    drifts = sorted(run.drifts, key=lambda d: d.order)
    if not drifts:
        text = f"Check Jira ({kind}): {checked}, none drifted."
        result, level = JiraCheck.Result.IN_STEP, SyncLogEntry.Level.INFO
    else:
        named = "; ".join(d.words for d in drifts[:SHOWN_DRIFTS])
        if len(drifts) > SHOWN_DRIFTS:
            named += f"; and {len(drifts) - SHOWN_DRIFTS} more"
        applied = [d for d in drifts if d.outcome == InboundEvent.Status.PROCESSED]
        failed = [d for d in drifts if d.outcome == InboundEvent.Status.FAILED]
        other = [d for d in drifts if d not in applied and d not in failed]
        text = f"Check Jira ({kind}): {checked}, {len(drifts)} drifted: {named}; "
        if len(applied) == len(drifts):
            text += "applied."
            result, level = JiraCheck.Result.REPAIRED, SyncLogEntry.Level.INFO
        else:
            parts = [f"applied {len(applied)}"]
            if failed:
                parts.append(
                    f"{len(failed)} failed ({', '.join(d.label for d in failed)}: see the "
                    "entries above, Retry there)"
                )
            if other:
                parts.append(
                    f"{len(other)} changed nothing ("
                    + "; ".join(f"{d.label}: {d.reason or d.outcome}" for d in other)
                    + ")"
                )
            text += ", ".join(parts) + "."
            result = JiraCheck.Result.PARTLY if failed else JiraCheck.Result.REPAIRED
            level = SyncLogEntry.Level.WARNING if failed else SyncLogEntry.Level.INFO
    if run.warnings:
        text += " " + " ".join(run.warnings)
        level = SyncLogEntry.Level.WARNING
        result = JiraCheck.Result.PARTLY
    return level, result, text


def _finish(check: JiraCheck, run: Pass) -> JiraCheck:
    level, result, text = _summary(run)
    sync_log(
        integration_id=run.integration.id,
        level=level,
        action="check_jira",
        message=text,
    )
    now = timezone.now()
    check.watermark = run.started
    if run.full:
        check.last_full_at = run.started
    check.running_since = None
    check.last_finished_at = now
    check.last_full = run.full
    check.last_result = result
    check.last_summary = text[:5000]
    check.last_checked = run.issues_checked + run.versions_checked
    check.last_drifted = len(run.drifts)
    check.last_jira_calls = run.calls
    check.save(
        update_fields=[
            "watermark",
            "last_full_at",
            "running_since",
            "last_finished_at",
            "last_full",
            "last_result",
            "last_summary",
            "last_checked",
            "last_drifted",
            "last_jira_calls",
        ]
    )
    _run_requested_meanwhile(check)
    return check


def _run_requested_meanwhile(check: JiraCheck) -> None:
    """Check Jira now pressed while this pass ran: its task found the pass running and
    left the request noted; run it now rather than at the next beat."""
    if JiraCheck.objects.filter(pk=check.pk, requested_at__isnull=False).exists():
        with transaction.atomic():
            enqueue_jira_check(check.integration_id)


def _finish_failed(
    check: JiraCheck, integration: Integration, message: str, *, full: bool
) -> JiraCheck:
    text = (
        f"Check Jira ({'full check' if full else 'changes since the last check'}) failed: "
        f"{message} Nothing was changed; the next check looks again from the same point. "
        "Fix what it says (Test connection on the integration), then press Check Jira now."
    )
    sync_log(
        integration_id=integration.id,
        level=SyncLogEntry.Level.ERROR,
        action="check_jira",
        message=text,
    )
    check.running_since = None
    check.last_finished_at = timezone.now()
    check.last_full = full
    check.last_result = JiraCheck.Result.FAILED
    check.last_summary = text[:5000]
    check.last_drifted = 0
    check.save(
        update_fields=[
            "running_since",
            "last_finished_at",
            "last_full",
            "last_result",
            "last_summary",
            "last_drifted",
        ]
    )
    _run_requested_meanwhile(check)
    return check


def jira_check_due_ids() -> list[int]:
    """The enabled integrations the beat checks (templates are not synced)."""
    return list(
        Integration.objects.filter(state=Integration.State.ENABLED, is_template=False)
        .order_by("id")
        .values_list("id", flat=True)
    )
