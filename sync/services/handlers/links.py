"""``issuelink_created`` / ``issuelink_deleted``: Jira issue links <-> record links.

Direction (shared/jira/README.md): the webhook's ``sourceIssueId`` is the REST
``inwardIssue`` and ``destinationIssueId`` the ``outwardIssue``; the link reads
"source <outward name> destination", e.g. "source *blocks* destination".

A relationship mapping's ``jira_direction`` says which end of the Jira link the record of
its ``record_kind`` is: OUTWARD = that record is the Jira link's source, INWARD = it is the
destination. So an incoming link becomes:

1. the first pair of the **source** record's kind that matches the Jira type OUTWARD:
   record link ``source record --type--> destination record`` ("DEMO-1 blocks DEMO-2"
   arrives as "APP-1 Blocks APP-2");
2. else the first pair of the **destination** record's kind that matches INWARD:
   record link ``destination record --type--> source record`` (with Depends on <-> Blocks
   inward, "DEMO-1 blocks DEMO-2" arrives as "APP-2 Depends on APP-1").

For a symmetric Jira type (Relates: inward and outward read the same) the direction does
not count, and the first pair for the type wins (Relates to and Contains both mapped to
Relates: a Relates link arrives as Relates to).
"""

from __future__ import annotations

from django.db.models import Q

from core.exceptions import ApplicationError
from integrations.models import RelationshipMapping
from integrations.rules import RELATIONSHIP_KINDS
from integrations.selectors import relationship_for_incoming, relationship_for_outgoing
from records.kinds import SYMMETRIC_LINK_TYPES, LinkType
from records.models import RecordLink
from records.services import record_link_create, record_link_delete

from ...models import InboundEvent, IssueLinkMirror, JiraLink, SyncLogEntry
from ..log import sync_log
from .common import Context, Ignore, as_dict

OUTWARD = RelationshipMapping.JiraDirection.OUTWARD
INWARD = RelationshipMapping.JiraDirection.INWARD


def _log(ctx: Context, level: str, message: str, *, record=None, key: str = "") -> None:
    sync_log(
        integration_id=ctx.integration.id,
        level=level,
        action=ctx.event.event_type,
        message=message,
        record_id=record.pk if record else None,
        jira_key=key,
        inbound_event=ctx.event,
    )


def _payload(ctx: Context) -> tuple[dict, str, str, str, dict]:
    link = as_dict(ctx.body.get("issueLink"))
    link_type = as_dict(link.get("issueLinkType"))
    return (
        link,
        str(link.get("id")),
        str(link.get("sourceIssueId") or ""),
        str(link.get("destinationIssueId") or ""),
        link_type,
    )


def _type_label(link_type: dict) -> str:
    return f"{link_type.get('name') or '?'} ({link_type.get('id')})"


def _is_symmetric(link_type: dict) -> bool:
    inward = str(link_type.get("inwardName") or "").casefold()
    return bool(inward) and inward == str(link_type.get("outwardName") or "").casefold()


def _deleted_already(ctx: Context, jira_link_id: str) -> bool:
    """Jira retries late: a "created" that arrives after its "deleted" must not bring the link
    back. Jira never reuses a link id."""
    match = Q(body__issueLink__id=jira_link_id)
    if jira_link_id.isdigit():
        match |= Q(body__issueLink__id=int(jira_link_id))
    return (
        InboundEvent.objects.filter(
            integration=ctx.integration,
            event_type="issuelink_deleted",
            status__in=[InboundEvent.Status.PROCESSED, InboundEvent.Status.IGNORED],
        )
        .filter(match)
        .exclude(pk=ctx.event.pk)
        .exists()
    )


def _our_unmirrored_link(ctx, source_rec, dest_rec, type_id: str, symmetric: bool):
    """A record link of ours between the two records that goes out as exactly this Jira link
    and has no mirror yet: the echo of our own link, arriving before the outbound side stored
    the mirror."""
    candidates = RecordLink.objects.filter(
        Q(source=source_rec, target=dest_rec) | Q(source=dest_rec, target=source_rec)
    ).exclude(mirrors__integration=ctx.integration)
    for record_link in candidates.select_related("source", "target"):
        rel = relationship_for_outgoing(
            ctx.integration, record_link.source.kind, record_link.link_type
        )
        if rel is None or str(rel.jira_link_type_id) != type_id:
            continue
        jira_source = record_link.source if rel.jira_direction == OUTWARD else record_link.target
        if symmetric or jira_source.pk == source_rec.pk:
            return record_link
    return None


def handle_issuelink_created(ctx: Context) -> None:
    _, jira_link_id, source_id, dest_id, link_type = _payload(ctx)
    type_id = str(link_type.get("id"))
    mirror = (
        IssueLinkMirror.objects.select_for_update()
        .filter(integration=ctx.integration, jira_link_id=jira_link_id)
        .first()
    )
    if mirror is not None:
        raise Ignore(
            f"ignored: Jira link {jira_link_id} is already mirrored here (the echo of our own "
            "link, or a repeated delivery)."
        )
    if _deleted_already(ctx, jira_link_id):
        raise Ignore(f"ignored: Jira link {jira_link_id} was deleted before this delivery came.")
    links = {
        link.jira_id: link
        for link in JiraLink.objects.select_for_update(of=("self",))
        .filter(
            integration=ctx.integration,
            jira_kind=JiraLink.JiraKind.ISSUE,
            jira_id__in=[source_id, dest_id],
        )
        .select_related("record")
        .order_by("pk")
    }
    missing = [i for i in (source_id, dest_id) if i not in links]
    if missing:
        raise Ignore(
            f"ignored: Jira link {jira_link_id} ({link_type.get('name')}) joins issue "
            f"{' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not linked "
            "here."
        )
    source_rec, dest_rec = links[source_id].record, links[dest_id].record
    source_key, dest_key = links[source_id].jira_key, links[dest_id].jira_key
    for rec in (source_rec, dest_rec):
        if rec.kind not in RELATIONSHIP_KINDS:
            raise Ignore(
                f"ignored: {rec.reference} is a {rec.kind_label.lower()}; record links are "
                "mapped for initiatives, releases, epics and features only."
            )
    symmetric = _is_symmetric(link_type)
    echo = _our_unmirrored_link(ctx, source_rec, dest_rec, type_id, symmetric)
    if echo is not None:
        # The outbound side may be saving this mirror at the same moment: either one wins.
        IssueLinkMirror.objects.get_or_create(
            integration=ctx.integration, jira_link_id=jira_link_id, defaults={"record_link": echo}
        )
        return
    rel = relationship_for_incoming(ctx.integration, source_rec.kind, type_id, OUTWARD)
    local_source, local_target = source_rec, dest_rec
    if rel is None:
        rel = relationship_for_incoming(ctx.integration, dest_rec.kind, type_id, INWARD)
        local_source, local_target = dest_rec, source_rec
    if rel is None:
        raise Ignore(
            f"ignored: no record link mapping takes Jira's {_type_label(link_type)} links "
            f"between {source_rec.kind_label.lower()}s and {dest_rec.kind_label.lower()}s from "
            "Jira. Map it in the integration's Record relationships to bring such links over."
        )
    link_type_value = rel.link_type
    existing = RecordLink.objects.filter(
        source=local_source, target=local_target, link_type=link_type_value
    )
    if link_type_value in SYMMETRIC_LINK_TYPES:
        existing = existing | RecordLink.objects.filter(
            source=local_target, target=local_source, link_type=link_type_value
        )
    record_link = existing.first()
    if record_link is None:
        try:
            record_link = record_link_create(
                source=local_source, target=local_target, link_type=link_type_value
            )
        except ApplicationError as exc:
            raise Ignore(f"ignored: {exc.message}") from None
        created = True
    else:
        created = False
    IssueLinkMirror.objects.create(
        integration=ctx.integration, record_link=record_link, jira_link_id=jira_link_id
    )
    if created:
        _log(
            ctx,
            SyncLogEntry.Level.INFO,
            f"{local_source.reference} {LinkType(link_type_value).label} "
            f"{local_target.reference} (from Jira: {source_key} "
            f"{link_type.get('outwardName') or link_type.get('name')} {dest_key}).",
            record=local_source,
            key=source_key,
        )


def handle_issuelink_deleted(ctx: Context) -> None:
    _, jira_link_id, _, _, link_type = _payload(ctx)
    # Lock the mirror row only: its record link is on the nullable side of the join.
    mirror = (
        IssueLinkMirror.objects.select_for_update(of=("self",))
        .filter(integration=ctx.integration, jira_link_id=jira_link_id)
        .select_related("record_link__source", "record_link__target")
        .first()
    )
    if mirror is None:
        raise Ignore(
            f"ignored: no record link here mirrors Jira link {jira_link_id} "
            f"({link_type.get('name')}); it joined issues or a link type not synced here."
        )
    record_link = mirror.record_link
    mirror.delete()
    if record_link is None:
        return
    source, target = record_link.source, record_link.target
    label = LinkType(record_link.link_type).label
    # Inside change_origin("jira"): the outbound side does not delete it in Jira again.
    record_link_delete(link=record_link)
    _log(
        ctx,
        SyncLogEntry.Level.INFO,
        f"{source.reference} {label} {target.reference} was removed: the Jira link "
        f"{jira_link_id} ({link_type.get('name')}) was deleted.",
        record=source,
    )
