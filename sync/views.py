"""What the user sees of the sync in pages: the record page's Jira panel (an htmx partial the
record page loads), and per integration the Sync log and the Integration updates / Import
candidates lists.

Access, the same as the API: any member of the account reads; owners, admins and
contributors act (send, link, retry, approve, discard, accept, reject); viewers get a 403.
Another account's record or integration is a 404. Each view parses input, calls one service
or selector and renders; a refusal is shown next to its field or above the list, never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import policy
from accounts.models import Membership
from accounts.policy import Action
from accounts.selectors import membership_get
from core.exceptions import ApplicationError
from integrations.models import Integration
from integrations.selectors import (
    effective_connection,
    effective_project,
    integration_get_for_user,
)
from records.models import Record
from records.selectors import record_get

from . import selectors
from .forms import LinkExistingForm, SyncLogFilterForm, apply_application_error
from .models import ImportCandidate, OutboxEntry, SyncLogEntry
from .services.imports import (
    import_candidate_accept,
    import_candidate_reject,
    import_candidates_accept_all,
    import_candidates_reject_all,
)
from .services.linking import record_link_existing
from .services.outbound import (
    outbox_approve_all,
    outbox_discard_all,
    outbox_entry_approve,
    outbox_entry_discard,
    outbox_entry_retry,
    record_send_to_jira,
)
from .services.preview import integration_send_all_preview, plan_page, record_send_preview
from .services.retry import sync_log_entry_retry

VIEWER_REFUSAL = (
    "Viewers can look at the sync but not act on it. Ask an account admin for the contributor role."
)
LOG_PAGE_SIZE = 50
MAX_ID = 2**63 - 1


# --- Access -------------------------------------------------------------------------------


def _can_act(membership: Membership | None) -> bool:
    return policy.role_allows(getattr(membership, "role", None), Action.EDIT)


def _require_act(membership: Membership | None) -> None:
    policy.require(getattr(membership, "role", None), Action.EDIT, refusal=VIEWER_REFUSAL)


def _record_for(request: HttpRequest, record_id: int) -> tuple[Record, Membership]:
    record = record_get(user=request.user, record_id=record_id) if record_id <= MAX_ID else None
    if record is None:
        raise Http404("No such record in your accounts.")
    return record, membership_get(user=request.user, account_id=record.workspace.account_id)


def _integration_for(request: HttpRequest, integration_id: int) -> tuple[Integration, Membership]:
    integration = (
        integration_get_for_user(user=request.user, integration_id=integration_id)
        if integration_id <= MAX_ID
        else None
    )
    if integration is None:
        raise Http404("No such integration in your accounts.")
    return integration, membership_get(user=request.user, account_id=integration.account_id)


def _record_integration(integration_id: int, record: Record) -> Integration:
    """An integration of the record's workspace (the record is already in the user's
    accounts, so this is too); else 404."""
    integration = (
        Integration.objects.filter(
            pk=integration_id, workspace_id=record.workspace_id, is_template=False
        ).first()
        if integration_id <= MAX_ID
        else None
    )
    if integration is None:
        raise Http404("No such integration for this record's workspace.")
    return integration


def _back_to(request: HttpRequest, url: str, text: str, level=messages.SUCCESS) -> HttpResponse:
    """Without JavaScript a POST comes back to the page it was made on, with a message."""
    messages.add_message(request, level, text)
    return redirect(url)


# --- Record page: the Jira panel ---------------------------------------------------------------


@dataclass
class PanelItem:
    status: selectors.RecordJiraStatus
    form: LinkExistingForm
    notice: str = ""
    error: str = ""
    pending_candidates: int = 0
    awaiting_updates: int = 0


def _panel(
    request: HttpRequest,
    record: Record,
    membership: Membership,
    *,
    focus: int | None = None,
    form: LinkExistingForm | None = None,
    notice: str = "",
    error: str = "",
) -> HttpResponse:
    statuses = selectors.record_jira_statuses(record)
    items = []
    for status in statuses:
        integration = status.integration
        mine = integration.pk == focus
        items.append(
            PanelItem(
                status=status,
                form=form
                if mine and form is not None
                else LinkExistingForm(prefix_id=integration.pk),
                notice=notice if mine else "",
                error=error if mine else "",
                pending_candidates=ImportCandidate.objects.filter(
                    integration=integration, status=ImportCandidate.Status.PENDING
                ).count(),
                awaiting_updates=OutboxEntry.objects.filter(
                    integration=integration, status=OutboxEntry.Status.AWAITING_APPROVAL
                ).count(),
            )
        )
    shown = any(i.status.integration.pk == focus for i in items)
    context = {
        "record": record,
        "items": items,
        # An answer about an integration the panel does not list (e.g. just disabled).
        "panel_notice": "" if shown else notice,
        "panel_error": "" if shown else error,
        "can_act": _can_act(membership),
        "refresh": any(i.status.state == "queued" for i in items),
    }
    return render(request, "sync/partials/record_jira_panel.html", context)


@login_required
@require_GET
def record_jira_panel(request: HttpRequest, record_id: int) -> HttpResponse:
    record, membership = _record_for(request, record_id)
    return _panel(request, record, membership)


def _record_action_done(request, record, membership, integration, text, *, error=""):
    if request.htmx:
        return _panel(request, record, membership, focus=integration.pk, notice=text, error=error)
    level = messages.ERROR if error else messages.SUCCESS
    return _back_to(request, reverse("record_detail", args=[record.pk]), error or text, level)


@login_required
@require_POST
def record_send(request: HttpRequest, record_id: int, integration_id: int) -> HttpResponse:
    record, membership = _record_for(request, record_id)
    _require_act(membership)
    integration = _record_integration(integration_id, record)
    try:
        record_send_to_jira(record=record, integration=integration, user=request.user)
    except ApplicationError as exc:
        return _record_action_done(request, record, membership, integration, "", error=exc.message)
    return _record_action_done(
        request,
        record,
        membership,
        integration,
        f"{record.reference} is queued to be sent to Jira ({integration.name}).",
    )


@login_required
@require_POST
def record_link(request: HttpRequest, record_id: int, integration_id: int) -> HttpResponse:
    record, membership = _record_for(request, record_id)
    _require_act(membership)
    integration = _record_integration(integration_id, record)
    form = LinkExistingForm(request.POST, prefix_id=integration.pk)
    if form.is_valid():
        try:
            link = record_link_existing(
                record=record,
                integration=integration,
                key_or_url=form.cleaned_data["key_or_url"],
                overwrite=form.cleaned_data["overwrite"],
                user=request.user,
            )
        except ApplicationError as exc:
            apply_application_error(form, exc)
        else:
            if form.cleaned_data["overwrite"] == "jira":
                # Jira's values changed the record: the whole page must show them.
                messages.success(
                    request, f"Linked with {link.jira_key}; Jira's values were taken here."
                )
                if request.htmx:
                    response = HttpResponse(status=204)
                    response["HX-Refresh"] = "true"
                    return response
                return redirect("record_detail", record_id=record.pk)
            side = "our values go to Jira"
            return _record_action_done(
                request,
                record,
                membership,
                integration,
                f"Linked with {link.jira_key}; {side}.",
            )
    if request.htmx:
        # htmx swaps 2xx answers only: the panel with the errors comes back as a 200.
        return _panel(request, record, membership, focus=integration.pk, form=form)
    errors = "; ".join(e for errs in form.errors.values() for e in errs)
    return _back_to(request, reverse("record_detail", args=[record.pk]), errors, messages.ERROR)


@login_required
@require_POST
def record_retry(request: HttpRequest, record_id: int, integration_id: int) -> HttpResponse:
    record, membership = _record_for(request, record_id)
    _require_act(membership)
    integration = _record_integration(integration_id, record)
    status = selectors.record_jira_statuses(record, [integration])[0]
    if status.failed is None:
        return _record_action_done(
            request,
            record,
            membership,
            integration,
            "",
            error="Nothing to retry: the last update to Jira did not fail.",
        )
    try:
        outbox_entry_retry(entry=status.failed, user=request.user)
    except ApplicationError as exc:
        return _record_action_done(request, record, membership, integration, "", error=exc.message)
    return _record_action_done(
        request, record, membership, integration, "Retry queued: the update goes to Jira again."
    )


# --- Per integration: shared header --------------------------------------------------------


def _integration_context(integration: Integration, membership: Membership, tab: str) -> dict:
    return {
        "integration": integration,
        "workspace": integration.workspace,
        "can_act": _can_act(membership),
        "tab": tab,
        "jira_base": effective_connection(integration).base_url.rstrip("/"),
        "counts": {
            "errors": selectors.error_counts_for_integrations([integration.pk])[integration.pk],
            "updates": OutboxEntry.objects.filter(
                integration=integration, status=OutboxEntry.Status.AWAITING_APPROVAL
            ).count(),
            "candidates": ImportCandidate.objects.filter(
                integration=integration, status=ImportCandidate.Status.PENDING
            ).count(),
        },
    }


# --- Sync log ---------------------------------------------------------------------------------


@dataclass
class LogRow:
    entry: SyncLogEntry
    retryable: bool
    notice: str = ""
    error: str = ""


def _log_row(entry: SyncLogEntry, **extra) -> LogRow:
    return LogRow(entry=entry, retryable=selectors.retryable_target(entry) is not None, **extra)


@login_required
@require_GET
def sync_log_page(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, membership = _integration_for(request, integration_id)
    form = SyncLogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.sync_log_list(
        integration,
        level=filters.get("level") or None,
        q=filters.get("q") or None,
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    ).defer("inbound_event__body", "inbound_event__headers")
    page = Paginator(entries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = _integration_context(integration, membership, "log")
    context.update(
        {
            "form": form if form.is_bound else SyncLogFilterForm(),
            "page_obj": page,
            "rows": [_log_row(e) for e in page.object_list],
            "filter_query": query.urlencode(),
            "filtered": bool(filters and any(filters.values())),
        }
    )
    return render(request, "sync/sync_log.html", context)


@login_required
@require_POST
def sync_log_retry(request: HttpRequest, integration_id: int, entry_id: int) -> HttpResponse:
    integration, membership = _integration_for(request, integration_id)
    _require_act(membership)
    entry = (
        SyncLogEntry.objects.filter(integration=integration, pk=entry_id)
        .select_related("record", "outbox_entry", "inbound_event")
        .first()
        if entry_id <= MAX_ID
        else None
    )
    if entry is None:
        raise Http404("No such entry in this integration's sync log.")
    try:
        sync_log_entry_retry(entry=entry, user=request.user)
    except ApplicationError as exc:
        notice, error = "", exc.message
    else:
        notice, error = "Retry requested: it runs again in the background.", ""
    if request.htmx:
        entry.refresh_from_db()
        context = _integration_context(integration, membership, "log")
        context["row"] = _log_row(entry, notice=notice, error=error)
        return render(request, "sync/partials/log_row.html", context)
    url = reverse("sync:sync_log", args=[integration.pk])
    return _back_to(request, url, error or notice, messages.ERROR if error else messages.SUCCESS)


# --- Integration updates and import candidates ---------------------------------------------------


def _updates_context(integration, membership, **extra) -> dict:
    context = _integration_context(integration, membership, "updates")
    context.update(
        {
            "updates": list(selectors.outbox_awaiting_approval(integration)),
            "candidates": list(selectors.import_candidate_list(integration)),
            "updates_notice": "",
            "updates_error": "",
            "candidates_notice": "",
            "candidates_errors": [],
            "accepted": [],
        }
    )
    context.update(extra)
    return context


@login_required
@require_GET
def updates_page(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, membership = _integration_for(request, integration_id)
    return render(request, "sync/updates.html", _updates_context(integration, membership))


def _outbox_entry(integration: Integration, entry_id: int) -> OutboxEntry:
    entry = (
        OutboxEntry.objects.filter(integration=integration, pk=entry_id)
        .select_related("record", "record_link__target")
        .first()
        if entry_id <= MAX_ID
        else None
    )
    if entry is None:
        raise Http404("No such update in this integration.")
    return entry


def _candidate(integration: Integration, candidate_id: int) -> ImportCandidate:
    candidate = (
        ImportCandidate.objects.filter(integration=integration, pk=candidate_id)
        .select_related("record")
        .first()
        if candidate_id <= MAX_ID
        else None
    )
    if candidate is None:
        raise Http404("No such import candidate in this integration.")
    return candidate


def _updates_url(integration: Integration) -> str:
    return reverse("sync:updates", args=[integration.pk])


@login_required
@require_POST
def update_decide(
    request: HttpRequest, integration_id: int, entry_id: int, decision: str
) -> HttpResponse:
    integration, membership = _integration_for(request, integration_id)
    _require_act(membership)
    entry = _outbox_entry(integration, entry_id)
    service = {"approve": outbox_entry_approve, "discard": outbox_entry_discard}[decision]
    try:
        entry = service(entry=entry, user=request.user)
    except ApplicationError as exc:
        notice, error = "", exc.message
    else:
        error = ""
        notice = (
            "Approved: it is being sent to Jira."
            if decision == "approve"
            else "Discarded: Jira was not changed."
        )
    if request.htmx:
        # The row, and the card's head again out of band: its count and Approve all /
        # Discard all follow what is still waiting.
        context = _updates_context(integration, membership, oob=True)
        context.update({"update": entry, "notice": notice, "error": error, "decided": not error})
        return render(request, "sync/partials/update_row_and_head.html", context)
    return _back_to(
        request,
        _updates_url(integration),
        error or notice,
        messages.ERROR if error else messages.SUCCESS,
    )


@login_required
@require_POST
def updates_decide_all(request: HttpRequest, integration_id: int, decision: str) -> HttpResponse:
    integration, membership = _integration_for(request, integration_id)
    _require_act(membership)
    if decision == "approve":
        count = outbox_approve_all(integration=integration, user=request.user)
        notice = f"{count} update(s) approved: they are being sent to Jira."
    else:
        count = outbox_discard_all(integration=integration, user=request.user)
        notice = f"{count} update(s) discarded: Jira was not changed."
    if not count:
        notice = "There was nothing waiting for approval."
    if request.htmx:
        context = _updates_context(integration, membership, updates_notice=notice)
        return render(request, "sync/partials/updates_card.html", context)
    return _back_to(request, _updates_url(integration), notice)


@login_required
@require_POST
def candidate_decide(
    request: HttpRequest, integration_id: int, candidate_id: int, decision: str
) -> HttpResponse:
    integration, membership = _integration_for(request, integration_id)
    _require_act(membership)
    candidate = _candidate(integration, candidate_id)
    error = notice = ""
    try:
        if decision == "accept":
            record = import_candidate_accept(candidate=candidate, user=request.user)
            notice = f"Imported as {record.reference}."
        else:
            import_candidate_reject(candidate=candidate, user=request.user)
            notice = "Rejected: it will not be imported."
    except ApplicationError as exc:
        error = exc.message
    candidate.refresh_from_db()
    if request.htmx:
        context = _updates_context(integration, membership, oob=True)
        context.update({"candidate": candidate, "notice": notice, "error": error})
        return render(request, "sync/partials/candidate_row_and_head.html", context)
    return _back_to(
        request,
        _updates_url(integration),
        error or notice,
        messages.ERROR if error else messages.SUCCESS,
    )


@login_required
@require_POST
def candidates_decide_all(request: HttpRequest, integration_id: int, decision: str) -> HttpResponse:
    integration, membership = _integration_for(request, integration_id)
    _require_act(membership)
    errors: list[str] = []
    accepted: list[Record] = []
    if decision == "accept":
        result = import_candidates_accept_all(integration=integration, user=request.user)
        accepted, errors = result.accepted, result.errors
        notice = f"{len(accepted)} imported." if accepted else ""
    else:
        count = import_candidates_reject_all(integration=integration, user=request.user)
        notice = f"{count} rejected." if count else ""
    if not notice and not errors:
        notice = "There were no import candidates waiting."
    if request.htmx:
        context = _updates_context(
            integration,
            membership,
            candidates_notice=notice,
            candidates_errors=errors,
            accepted=accepted,
        )
        return render(request, "sync/partials/candidates_card.html", context)
    for message in errors:
        messages.error(request, message)
    return _back_to(request, _updates_url(integration), notice)


# --- Enable step: the Jira webhook (a section the sync adds to the wizard's Enable step) ------


WEBHOOK_ADMIN_REFUSAL = (
    "Only an account owner or admin can register the Jira webhook. Ask an admin to do it."
)
EVENT_GROUPS = (
    ("jira:issue_", "Issue"),
    ("issuelink_", "Issue link"),
    ("jira:version_", "Version"),
)


def _event_groups(events) -> list[dict]:
    """The events as Jira's WebHooks screen groups them (Issue: created, updated, ...)."""
    groups = []
    for prefix, label in EVENT_GROUPS:
        names = [e.removeprefix(prefix) for e in events if e.startswith(prefix)]
        if names:
            groups.append({"label": label, "names": names})
    return groups


def webhook_panel_context(
    request, integration, *, state=None, notice="", error="", code=""
) -> dict:
    """What the webhook panel shows; also the context of the Enable step's section
    (registered with integrations.extensions.enable_panel_add in SyncConfig.ready)."""
    from .services.webhook_registration import webhook_jql, webhook_state
    from .webhooks.setup import webhook_events, webhook_url

    membership = membership_get(user=request.user, account_id=integration.account_id)
    can_admin = policy.role_allows(getattr(membership, "role", None), Action.ADMINISTER)
    state = state or webhook_state(integration)
    registered_events = state.registration.events if state.registration else webhook_events()
    return {
        "integration": integration,
        "state": state,
        "can_admin": can_admin,
        # The token in the URL is a credential: owners and admins only.
        "webhook_url": webhook_url(integration) if can_admin else "",
        "jql": webhook_jql(integration),
        "project_key": effective_project(integration).key,
        "event_groups": _event_groups(registered_events),
        "deployment": effective_connection(integration).deployment,
        "notice": notice,
        "error": error,
        "no_permission": code == "no_permission",
    }


def _webhook_panel(request, integration, *, status=200, **kwargs) -> HttpResponse:
    context = webhook_panel_context(request, integration, **kwargs)
    return render(request, "sync/partials/webhook_panel.html", context, status=status)


@login_required
@require_GET
def webhook_panel(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, _ = _integration_for(request, integration_id)
    return _webhook_panel(request, integration)


@login_required
@require_POST
def webhook_register_view(request: HttpRequest, integration_id: int) -> HttpResponse:
    from .services.webhook_registration import webhook_register

    integration, membership = _integration_for(request, integration_id)
    policy.require(
        getattr(membership, "role", None), Action.ADMINISTER, refusal=WEBHOOK_ADMIN_REFUSAL
    )
    enable_url = reverse("integration_enable", args=[integration.pk])
    try:
        registration = webhook_register(integration=integration)
    except ApplicationError as exc:
        if not getattr(request, "htmx", False):
            return _back_to(request, enable_url, exc.message, messages.ERROR)
        return _webhook_panel(request, integration, error=exc.message, code=exc.code, status=400)
    notice = (
        f"Registered in Jira (webhook {registration.jira_webhook_id}): Jira now sends this "
        "integration's events here."
    )
    if not getattr(request, "htmx", False):
        return _back_to(request, enable_url, notice)
    return _webhook_panel(request, integration, notice=notice)


@login_required
@require_GET
def webhook_check_view(request: HttpRequest, integration_id: int) -> HttpResponse:
    from .services.webhook_registration import webhook_check

    integration, _ = _integration_for(request, integration_id)
    try:
        state = webhook_check(integration=integration)
    except ApplicationError as exc:
        return _webhook_panel(request, integration, error=exc.message, status=400)
    return _webhook_panel(request, integration, state=state)


# --- Preview: what the next send would do to Jira (sync.services.preview) -------------------


def _plan_context(request: HttpRequest, compute) -> dict:
    """The plan's page for the template, or the refusal in words (never a 500)."""
    try:
        plan = compute()
    except ApplicationError as exc:
        return {"preview_error": exc.message}
    try:
        page = plan_page(plan, request.GET.get("page"))
    except ApplicationError as exc:
        page = plan_page(plan, None)
        page["page_error"] = exc.message
    return {"preview": page}


@login_required
@require_GET
def integration_preview(request: HttpRequest, integration_id: int) -> HttpResponse:
    """Preview Send all (owners and admins, like Send all), before Enable too."""
    integration, membership = _integration_for(request, integration_id)
    policy.require(
        getattr(membership, "role", None),
        Action.ADMINISTER,
        refusal="Only an account owner or admin can preview Send all.",
    )
    context = _integration_context(integration, membership, "preview")
    context.update(
        _plan_context(
            request,
            lambda: integration_send_all_preview(integration=integration, user=request.user),
        )
    )
    return render(request, "sync/preview.html", context)


@login_required
@require_GET
def record_preview(request: HttpRequest, record_id: int, integration_id: int) -> HttpResponse:
    """Preview the record's Send to Jira."""
    record, membership = _record_for(request, record_id)
    _require_act(membership)
    integration = _record_integration(integration_id, record)
    context = {"record": record, "integration": integration}
    context.update(
        _plan_context(
            request,
            lambda: record_send_preview(record=record, integration=integration, user=request.user),
        )
    )
    return render(request, "sync/record_preview.html", context)
