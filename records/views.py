"""Record pages: parse input, call a service or selector, render. Every view requires login and
only finds workspaces and records of the user's accounts (anything else is a 404); viewers read
but cannot change (403)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import policy
from accounts.models import Membership, Workspace
from accounts.policy import Action
from accounts.selectors import membership_get, workspace_list_for_user
from core.exceptions import ApplicationError

from .forms import RecordForm, RecordLinkForm, apply_application_error, format_estimate
from .kinds import RecordKind, child_kinds_of, kind_label, kind_plural, parent_kinds_of
from .models import Record, RecordLink
from .selectors import (
    BOARD_FEATURES_PER_RELEASE,
    STATUS_CATEGORIES,
    BoardFilters,
    record_child_counts,
    record_children_page,
    record_children_shown,
    record_get,
    record_link_target_search,
    record_links_for,
    workspace_board,
    workspace_record_counts,
    workspace_release_features,
    workspace_release_get,
    workspace_tag_names,
)
from .services import (
    record_create,
    record_delete,
    record_link_create,
    record_link_delete,
    record_update,
)

VIEWER_REFUSAL = "Viewers can read but not change records. Ask an admin for the contributor role."


# --- Access -------------------------------------------------------------------------------


def _workspace_for(request: HttpRequest, workspace_id: int) -> tuple[Workspace, Membership]:
    workspace = workspace_list_for_user(user=request.user).filter(pk=workspace_id).first()
    if workspace is None:
        raise Http404("No such workspace in your accounts.")
    return workspace, membership_get(user=request.user, account_id=workspace.account_id)


def _record_for(request: HttpRequest, record_id: int) -> tuple[Record, Membership]:
    record = record_get(user=request.user, record_id=record_id)
    if record is None:
        raise Http404("No such record in your accounts.")
    return record, membership_get(user=request.user, account_id=record.workspace.account_id)


def _require_edit(membership: Membership) -> None:
    policy.require(membership.role, Action.EDIT, refusal=VIEWER_REFUSAL)


# --- Home and workspaces ------------------------------------------------------------------


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Land on the first workspace; with none, on the list that says how to get one."""
    workspace = workspace_list_for_user(user=request.user).order_by("name", "id").first()
    if workspace is not None:
        return redirect("workspace_detail", workspace_id=workspace.pk)
    return redirect("workspace_list")


@login_required
@require_GET
def workspace_list(request: HttpRequest) -> HttpResponse:
    workspaces = workspace_list_for_user(user=request.user).order_by("account__name", "name")
    return render(request, "records/workspace_list.html", {"workspaces": workspaces})


def _board_filters(request: HttpRequest) -> BoardFilters:
    return BoardFilters(
        category=request.GET.get("status", "").strip(),
        tag=request.GET.get("tag", "").strip(),
        text=request.GET.get("q", "").strip(),
    )


def _release_param(request: HttpRequest, workspace: Workspace) -> tuple[bool, Record | None]:
    """``?release=<id>`` (or ``none`` for Unscheduled) asks for one release's full list."""
    value = request.GET.get("release", "").strip()
    if not value:
        return False, None
    if value == "none":
        return True, None
    release = None
    if value.isdigit() and len(value) <= 18:  # larger ids overflow SQLite's integers
        release = workspace_release_get(workspace=workspace, release_id=int(value))
    if release is None:
        raise Http404("No such release in this workspace.")
    return True, release


@login_required
@require_GET
def workspace_detail(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """Releases by date with their epics and first features, then Unscheduled, then initiatives;
    or, with ``?release=``, one release with all its features, a page at a time.

    Filters, caps and counts run in SQL: the same number of queries whatever the size.
    """
    workspace, membership = _workspace_for(request, workspace_id)
    filters = _board_filters(request)
    focused, release = _release_param(request, workspace)
    page = request.GET.get("page")
    if focused:
        board = workspace_release_features(
            workspace=workspace, release=release, filters=filters, page=page
        )
    else:
        board = workspace_board(workspace=workspace, filters=filters, page=page)
    counts = workspace_record_counts(workspace=workspace)
    filter_query = urlencode(
        [
            (name, value)
            for name, value in (
                ("q", filters.text),
                ("status", filters.category),
                ("tag", filters.tag),
            )
            if value
        ]
    )
    page_query = "&".join(
        p for p in (f"release={board.groups[0].key}" if focused else "", filter_query) if p
    )
    return render(
        request,
        "records/workspace_detail.html",
        {
            "workspace": workspace,
            "membership": membership,
            "can_edit": membership.can_edit_records,
            "board": board,
            "groups": board.groups,
            "initiatives": board.initiatives,
            "focused": focused,
            "page_obj": board.page,
            "page_query": page_query,
            "filter_query": filter_query,
            "features_per_release": BOARD_FEATURES_PER_RELEASE,
            "counts": [(kind, kind_plural(kind), counts[kind]) for kind in RecordKind.values],
            "filters": {"category": filters.category, "tag": filters.tag, "text": filters.text},
            "filtering": filters.active,
            "status_categories": STATUS_CATEGORIES,
            "all_tags": workspace_tag_names(workspace=workspace),
            "creatable_kinds": [
                (k, kind_label(k)) for k in RecordKind.values if k != RecordKind.REQUIREMENT
            ],
        },
    )


# --- Records ------------------------------------------------------------------------------


def _child_groups(request: HttpRequest, record: Record) -> list[dict]:
    """Each child kind with its first children, or (``?children=<kind>``) one kind paged."""
    paged_kind = request.GET.get("children", "")
    groups = []
    for group in record_children_shown(record=record):
        item = {"kind": group.kind, "label": kind_plural(group.kind), "group": group}
        if group.kind == paged_kind:
            page_obj = record_children_page(
                record=record, kind=group.kind, page=request.GET.get("page")
            )
            item["page_obj"] = page_obj
            item["records"] = list(page_obj.object_list)
        else:
            item["records"] = group.records
        groups.append(item)
    return groups


def _detail_context(request: HttpRequest, record: Record, membership: Membership, **extra):
    parents = [
        getattr(record, kind) for kind in parent_kinds_of(record.kind) if getattr(record, kind)
    ]
    context = {
        "record": record,
        "workspace": record.workspace,
        "membership": membership,
        "can_edit": membership.can_edit_records,
        "parents": parents,
        "child_groups": _child_groups(request, record),
        "child_kinds": [(k, kind_label(k)) for k in child_kinds_of(record.kind)],
        "estimate_display": format_estimate(record.estimate_minutes),
        "tags": list(record.tags.all()),
        "link_form": RecordLinkForm(record=record),
    }
    context.update(extra)
    context.setdefault("links", record_links_for(record=record))
    return context


@login_required
@require_GET
def record_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    record, membership = _record_for(request, record_id)
    return render(
        request, "records/record_detail.html", _detail_context(request, record, membership)
    )


def _initial_parents(request: HttpRequest, workspace: Workspace, kind: str) -> dict:
    """?release=<id>&epic=<id> prefill the parents (the "Add feature" buttons use it)."""
    initial = {}
    for parent_kind in parent_kinds_of(kind):
        value = request.GET.get(parent_kind, "")
        if value.isdigit():
            initial[parent_kind] = int(value)
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def record_new(request: HttpRequest, workspace_id: int, kind: str) -> HttpResponse:
    workspace, membership = _workspace_for(request, workspace_id)
    if kind not in RecordKind.values:
        raise Http404("No such record type.")
    _require_edit(membership)
    if request.method == "POST":
        form = RecordForm(request.POST, workspace=workspace, kind=kind)
        if form.is_valid():
            try:
                record = record_create(
                    workspace=workspace, kind=kind, created_by=request.user, **form.service_kwargs()
                )
            except ApplicationError as exc:
                apply_application_error(form, exc)
            else:
                messages.success(request, f"Created {record.reference} {record.name}.")
                return redirect("record_detail", record_id=record.pk)
    else:
        form = RecordForm(
            workspace=workspace, kind=kind, initial=_initial_parents(request, workspace, kind)
        )
    return render(
        request,
        "records/record_form.html",
        {
            "form": form,
            "workspace": workspace,
            "kind_label": kind_label(kind),
            "title": f"New {kind_label(kind).lower()}",
            "cancel_url": reverse("workspace_detail", args=[workspace.pk]),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def record_edit(request: HttpRequest, record_id: int) -> HttpResponse:
    record, membership = _record_for(request, record_id)
    _require_edit(membership)
    workspace = record.workspace
    if request.method == "POST":
        form = RecordForm(request.POST, workspace=workspace, kind=record.kind, record=record)
        if form.is_valid():
            try:
                record_update(record=record, **form.service_kwargs())
            except ApplicationError as exc:
                apply_application_error(form, exc)
            else:
                messages.success(request, f"Saved {record.reference}.")
                return redirect("record_detail", record_id=record.pk)
    else:
        form = RecordForm(workspace=workspace, kind=record.kind, record=record)
    return render(
        request,
        "records/record_form.html",
        {
            "form": form,
            "workspace": workspace,
            "record": record,
            "kind_label": record.kind_label,
            "title": f"Edit {record.reference}",
            "cancel_url": reverse("record_detail", args=[record.pk]),
        },
        status=400 if form.errors else 200,
    )


def _delete_consequences(record: Record) -> list[str]:
    """What deleting this record does besides removing it, in words."""
    consequences = []
    counts = record_child_counts(record=record)
    if record.kind == RecordKind.FEATURE:
        if n := counts.get(RecordKind.REQUIREMENT, 0):
            consequences.append(
                f"Its {n} requirement{'s' if n != 1 else ''} "
                "will be deleted with it: a requirement cannot exist without its feature."
            )
    elif any(counts.values()):
        by_kind = [
            f"{n} {kind_label(kind).lower()}{'s' if n != 1 else ''}"
            for kind, n in counts.items()
            if n
        ]
        consequences.append(
            f"{' and '.join(by_kind)} will stay, no longer under this {record.kind_label.lower()}."
        )
    link_count = RecordLink.objects.filter(source=record).count() + (
        RecordLink.objects.filter(target=record).count()
    )
    if link_count:
        consequences.append(
            f"Its {link_count} record link{'s' if link_count != 1 else ''} will be removed."
        )
    return consequences


@login_required
@require_http_methods(["GET", "POST"])
def record_delete_view(request: HttpRequest, record_id: int) -> HttpResponse:
    record, membership = _record_for(request, record_id)
    _require_edit(membership)
    if request.method == "POST":
        workspace_id = record.workspace_id
        label = f"{record.reference} {record.name}"
        record_delete(record=record)
        messages.success(request, f"Deleted {label}.")
        return redirect("workspace_detail", workspace_id=workspace_id)
    return render(
        request,
        "records/record_confirm_delete.html",
        {
            "record": record,
            "workspace": record.workspace,
            "consequences": _delete_consequences(record),
        },
    )


# --- Record links (htmx partial, or a full page without JavaScript) -----------------------


def _links_response(request, record, membership, form, status=200):
    context = _detail_context(request, record, membership, link_form=form)
    if request.htmx:
        return render(request, "records/partials/links.html", context, status=status)
    return render(request, "records/record_detail.html", context, status=status)


@login_required
@require_POST
def record_link_add(request: HttpRequest, record_id: int) -> HttpResponse:
    record, membership = _record_for(request, record_id)
    _require_edit(membership)
    form = RecordLinkForm(request.POST, record=record)
    if form.is_valid():
        try:
            record_link_create(created_by=request.user, **form.link_arguments())
        except ApplicationError as exc:
            apply_application_error(form, exc)
        else:
            if not request.htmx:
                messages.success(request, "Link added.")
                return redirect("record_detail", record_id=record.pk)
            return _links_response(request, record, membership, RecordLinkForm(record=record))
    # htmx swaps 2xx responses only: the partial with its errors comes back as 200.
    return _links_response(request, record, membership, form, status=200 if request.htmx else 400)


@login_required
@require_POST
def record_link_remove(request: HttpRequest, record_id: int, link_id: int) -> HttpResponse:
    record, membership = _record_for(request, record_id)
    _require_edit(membership)
    link = RecordLink.objects.filter(pk=link_id, workspace_id=record.workspace_id).first()
    if link is None or record.pk not in (link.source_id, link.target_id):
        raise Http404("No such link on this record.")
    record_link_delete(link=link)
    if not request.htmx:
        messages.success(request, "Link removed.")
        return redirect("record_detail", record_id=record.pk)
    return _links_response(request, record, membership, RecordLinkForm(record=record))


@login_required
@require_GET
def record_link_targets(request: HttpRequest, record_id: int) -> HttpResponse:
    """Search-as-you-type for the link form: ``<option>``s of at most 20 records of this
    record's workspace whose reference or name matches ``?target=`` (or ``?q=``)."""
    record, _ = _record_for(request, record_id)
    text = request.GET.get("target", request.GET.get("q", ""))[:100]
    return render(
        request,
        "records/partials/link_target_options.html",
        {"options": record_link_target_search(record=record, text=text)},
    )
