"""Wizard step 4, Mappings: the record mappings table (rows, order, Linked to), recommended
defaults, Reload configuration, Save and continue; the field mappings and value maps of a row;
and the record links (Jira issue links) modal. Every write calls one service; the answer is the
re-rendered table (htmx) or the whole page, with the engine's words next to what they concern."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.exceptions import ApplicationError
from records.kinds import (
    LinkType,
    RecordKind,
    child_kinds_of,
    kind_label,
    kind_plural,
    parent_kinds_of,
)

from .. import rules, selectors
from ..fields import LOCAL_FIELDS, VERSION_FIELDS, issue_type_fields, local_fields_for
from ..forms import RelationshipPairFormSet
from ..models import Direction, Integration, LinkedTo, RecordMapping, RelationshipMapping
from ..services import configuration as configuration_services
from ..services import field_mappings as fm_services
from ..services import integrations as services
from ..services import record_mappings as rm_services
from ..services import relationships as rel_services
from .common import htmx_redirect, integration_for, step_url, wizard_context

Step = Integration.Step
Target = RecordMapping.Target

DIRECTION_CYCLE = [Direction.TO_JIRA, Direction.FROM_JIRA, Direction.BOTH, Direction.TO_JIRA_ONCE]
DIRECTION_SYMBOLS = {
    Direction.TO_JIRA: ("→", "to Jira"),
    Direction.FROM_JIRA: ("←", "from Jira"),
    Direction.BOTH: ("↔", "both ways"),
    Direction.TO_JIRA_ONCE: ("→¹", "to Jira once, when the issue is created"),
}
DIFF_LABELS = {
    "issue_types": "Issue types",
    "fields": "Fields",
    "statuses": "Statuses",
    "versions": "Versions",
    "link_types": "Issue link types",
}


# -- the table ---------------------------------------------------------------------------------


def _issue_type_options(configuration: dict) -> list[dict]:
    return [
        {"id": str(t.get("id")), "name": t.get("name", "")}
        for t in configuration.get("issue_types") or []
        if t.get("id")
    ]


def table_context(
    integration: Integration, *, notice=None, warning="", error=None, validation=None
) -> dict:
    """Everything the table shows. ``error``: {"row": row id or "add" or None, "message",
    "field"}; ``validation``: validate_mapping()'s answer after Save and continue."""
    configuration = selectors.effective_configuration(integration)
    mappings = selectors.record_mappings_effective(integration)
    problems = selectors.integration_warnings(integration)
    relationship_counts: dict[str, int] = {}
    for rel in selectors.relationship_mappings_effective(integration):
        relationship_counts[rel.record_kind] = relationship_counts.get(rel.record_kind, 0) + 1
    mapped_kinds = [m.record_kind for m in mappings]
    rows = []
    for index, mapping in enumerate(mappings):
        links = list(mapping.linked_to.all())
        linked = {link.parent_kind for link in links}
        addable = [
            {"kind": k, "label": kind_plural(k)}
            for k in parent_kinds_of(mapping.record_kind)
            if k in mapped_kinds and k not in linked
        ]
        rows.append(
            {
                "index": index,
                "number": index + 1,
                "mapping": mapping,
                "kind": mapping.record_kind,
                "plural": kind_plural(mapping.record_kind),
                "links": [
                    {
                        "link": link,
                        "parent_plural": kind_plural(link.parent_kind),
                        "field_label": link.get_jira_field_display(),
                    }
                    for link in links
                ],
                "addable_parents": addable,
                "problems": [p for p in problems if p.row == index],
                "has_relationships": mapping.record_kind in rules.RELATIONSHIP_KINDS,
                "relationship_count": relationship_counts.get(mapping.record_kind, 0),
                "chosen_ids": [str(t.get("id")) for t in mapping.issue_types or []],
                "other_ids": [
                    str(t.get("id"))
                    for t in mapping.issue_types or []
                    if str(t.get("id")) != mapping.default_issue_type_id
                ],
                "error": error if error and error.get("row") == mapping.pk else None,
                "is_first": index == 0,
                "is_last": index == len(mappings) - 1,
            }
        )
    return {
        "integration": integration,
        "rows": rows,
        "issue_types": _issue_type_options(configuration),
        "configuration": configuration,
        "configuration_loaded": bool(configuration),
        "addable_kinds": [
            {"kind": k, "label": kind_plural(k)} for k in RecordKind.values if k not in mapped_kinds
        ],
        "general_problems": [p for p in problems if p.row is None],
        "jira_fields": LinkedTo.JiraField.choices,
        "notice": notice,
        "warning": warning,
        "error": error,
        "add_error": error if error and error.get("row") == "add" else None,
        "general_error": error if error and error.get("row") is None else None,
        "validation": validation,
        "inherited": integration.inherits(Integration.Part.RECORD_MAPPINGS),
        "record_kinds": RecordKind.choices,
    }


def _render_table(request, integration, membership, *, status=200, **table) -> HttpResponse:
    table_data = table_context(integration, **table)
    table_data.pop("integration")
    context = wizard_context(integration, membership, Step.MAPPINGS, **table_data)
    template = (
        "integrations/partials/mappings_table.html"
        if getattr(request, "htmx", False)
        else "integrations/step_mappings.html"
    )
    return render(request, template, context, status=status)


@login_required
@require_GET
def integration_mappings(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, membership = integration_for(request, integration_id)
    return _render_table(request, integration, membership)


def _change_notice(change) -> str:
    parts = []
    if change.added_linked_to:
        parts.append("Linked to set: " + "; ".join(change.added_linked_to) + ".")
    if change.removed_linked_to:
        parts.append("Linked to removed: " + "; ".join(change.removed_linked_to) + ".")
    return " ".join(parts)


def _error(exc: ApplicationError, row) -> dict:
    field = next(iter(exc.fields), None)
    return {"row": row, "message": exc.message, "field": field}


def _row_action(request, integration_id, rm_id, action) -> HttpResponse:
    """``action`` returns what was done, or (what was done, a warning): they show apart, the
    first as success (green), the second as a warning (yellow)."""
    integration, membership = integration_for(request, integration_id, write=True)
    try:
        notice = action(integration)
    except ApplicationError as exc:
        return _render_table(request, integration, membership, error=_error(exc, rm_id), status=400)
    warning = ""
    if isinstance(notice, tuple):
        notice, warning = notice
    integration.refresh_from_db()
    return _render_table(request, integration, membership, notice=notice, warning=warning)


@login_required
@require_POST
def mapping_row_add(request: HttpRequest, integration_id: int) -> HttpResponse:
    kind = request.POST.get("record_kind", "")
    becomes = request.POST.get("becomes", "")

    def action(integration):
        if not kind:
            raise ApplicationError("Choose the record type to add.", field="record_kind")
        if not becomes:
            raise ApplicationError(
                f"Choose what {kind_plural(kind).lower() if kind in RecordKind.values else kind}"
                " become in Jira.",
                field="becomes",
            )
        mapped = {m.record_kind for m in selectors.record_mappings_effective(integration)}
        if becomes == Target.VERSION:
            change = rm_services.record_mapping_add(
                integration=integration, record_kind=kind, target=Target.VERSION
            )
        else:
            change = rm_services.record_mapping_add(
                integration=integration,
                record_kind=kind,
                target=Target.ISSUE_TYPE,
                issue_type_ids=[becomes],
                default_issue_type_id=becomes,
            )
        label = kind_plural(kind)
        notice = f"{label} row added."
        warnings = []
        if change.added_linked_to:
            notice += " " + _change_notice(change)
        elif parent_kinds_of(kind):
            warnings.append(
                "Linked to was not set automatically: no parent row is above it. Add it by hand "
                "on the row (Add link) if you need it."
            )
        children = [c for c in child_kinds_of(kind) if c in mapped]
        if children:
            names = " and ".join(kind_plural(c) for c in children)
            warnings.append(
                f"{names} above it are not linked to {label.lower()} automatically: add "
                f"Linked to by hand on the {names} row (Add link), where it is."
            )
        return notice, " ".join(warnings)

    return _row_action(request, integration_id, "add", action)


@login_required
@require_POST
def mapping_row_update(request: HttpRequest, integration_id: int, rm_id: int) -> HttpResponse:
    target = request.POST.get("target", Target.ISSUE_TYPE)
    default = request.POST.get("default_issue_type_id", "")
    also = [i for i in request.POST.getlist("also") if i and i != default]

    def action(integration):
        if target == Target.VERSION:
            rm_services.record_mapping_update(
                integration=integration, record_mapping_id=rm_id, target=Target.VERSION
            )
            return "Saved: releases become Jira versions."
        change = rm_services.record_mapping_update(
            integration=integration,
            record_mapping_id=rm_id,
            target=Target.ISSUE_TYPE,
            issue_type_ids=[default, *also] if default else [],
            default_issue_type_id=default,
        )
        return f"Saved: {change.mapping.target_label}."

    return _row_action(request, integration_id, rm_id, action)


@login_required
@require_POST
def mapping_row_remove(request: HttpRequest, integration_id: int, rm_id: int) -> HttpResponse:
    def action(integration):
        mapping = RecordMapping.objects.filter(pk=rm_id).first()
        label = kind_plural(mapping.record_kind) if mapping else "The"
        change = rm_services.record_mapping_remove(integration=integration, record_mapping_id=rm_id)
        return f"{label} row removed. " + _change_notice(change)

    return _row_action(request, integration_id, rm_id, action)


@login_required
@require_POST
def mapping_row_move(request: HttpRequest, integration_id: int, rm_id: int) -> HttpResponse:
    direction = request.POST.get("direction", "")

    def action(integration):
        rm_services.record_mapping_move(
            integration=integration, record_mapping_id=rm_id, direction=direction
        )
        mapping = RecordMapping.objects.filter(pk=rm_id).first()
        what = kind_plural(mapping.record_kind) if mapping else "Row"
        return f"{what} row moved {direction}."

    return _row_action(request, integration_id, rm_id, action)


@login_required
@require_POST
def mapping_rows_reorder(request: HttpRequest, integration_id: int) -> HttpResponse:
    raw = request.POST.getlist("ids")
    if len(raw) == 1 and "," in raw[0]:
        raw = raw[0].split(",")

    def action(integration):
        rm_services.record_mappings_reorder(integration=integration, ordered_ids=raw)
        return "New order saved."

    return _row_action(request, integration_id, None, action)


@login_required
@require_POST
def linked_to_add_view(request: HttpRequest, integration_id: int, rm_id: int) -> HttpResponse:
    parent_kind = request.POST.get("parent_kind", "")
    jira_field = request.POST.get("jira_field", "")

    def action(integration):
        if not parent_kind:
            raise ApplicationError("Choose the parent record type.", field="parent_kind")
        change = rm_services.linked_to_add(
            integration=integration,
            record_mapping_id=rm_id,
            parent_kind=parent_kind,
            jira_field=jira_field,
        )
        order = [p.message for p in change.problems if p.code == "linked_to_below"]
        return _change_notice(change), " ".join(order)

    return _row_action(request, integration_id, rm_id, action)


@login_required
@require_POST
def linked_to_remove_view(
    request: HttpRequest, integration_id: int, rm_id: int, parent_kind: str
) -> HttpResponse:
    def action(integration):
        change = rm_services.linked_to_remove(
            integration=integration, record_mapping_id=rm_id, parent_kind=parent_kind
        )
        return _change_notice(change)

    return _row_action(request, integration_id, rm_id, action)


@login_required
@require_POST
def mappings_defaults(request: HttpRequest, integration_id: int) -> HttpResponse:
    def action(integration):
        result = rm_services.mappings_apply_defaults(integration=integration)
        notice = (
            f"Recommended defaults applied: {len(result.rows)} rows with their Linked to and "
            "field mappings"
        )
        notice += f", replacing {result.replaced_rows} rows." if result.replaced_rows else "."
        return " ".join([notice, *result.notes])

    return _row_action(request, integration_id, None, action)


@login_required
@require_POST
def mappings_reload(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, membership = integration_for(request, integration_id, write=True)
    try:
        result = configuration_services.configuration_reload(integration=integration)
    except ApplicationError as exc:
        return _render_table(request, integration, membership, error=_error(exc, None), status=400)
    changes = []
    for section, label in DIFF_LABELS.items():
        added = result.added.get(section) or []
        removed = result.removed.get(section) or []
        if added or removed:
            changes.append({"label": label, "added": added, "removed": removed})
    notice = {
        "kind": "reload",
        "changes": changes,
        "project": selectors.effective_project(integration).key,
    }
    return _render_table(request, integration, membership, notice=notice)


@login_required
@require_POST
def mappings_save(request: HttpRequest, integration_id: int) -> HttpResponse:
    """Save and continue: validate the whole mapping; problems appear next to their rows."""
    integration, membership = integration_for(request, integration_id, write=True)
    validation = selectors.validate_mapping(integration)
    if not validation["valid"]:
        return _render_table(request, integration, membership, validation=validation, status=400)
    services.integration_step_complete(integration=integration, step=Step.MAPPINGS)
    return htmx_redirect(request, step_url(integration, Step.ENABLE))


# -- field mappings of one row ----------------------------------------------------------------


def _mapping_for_kind(integration, kind) -> RecordMapping:
    mapping = selectors.record_mapping_for_kind(integration, kind)
    if mapping is None:
        raise Http404("This integration has no row for that record type.")
    return mapping


def _jira_field_options(integration, mapping) -> list[tuple[str, str]]:
    if mapping.target == Target.VERSION:
        return list(VERSION_FIELDS.items())
    chosen = {str(t.get("id")) for t in mapping.issue_types or []}
    options = []
    for field in issue_type_fields(selectors.effective_configuration(integration)):
        scoped = {str(i) for i in field.get("issue_type_ids") or []}
        if scoped and chosen and not scoped & chosen:
            continue
        options.append((str(field.get("id")), str(field.get("name") or field.get("id"))))
    return sorted(options, key=lambda o: o[1].lower())


def _fields_context(integration, membership, kind, *, error=None, notice=None, posted=None):
    mapping = _mapping_for_kind(integration, kind)
    rows = []
    for fm in mapping.field_mappings.all():
        symbol, words = DIRECTION_SYMBOLS.get(fm.direction, ("?", fm.direction))
        spec = LOCAL_FIELDS.get(fm.local_field)
        rows.append(
            {
                "fm": fm,
                "label": spec.label if spec else fm.local_field,
                "symbol": symbol,
                "words": words,
                "value_mappable": bool(spec and spec.value_mappable),
                "value_count": len(fm.value_mappings.all()),
                "error": error if error and error.get("row") == fm.pk else None,
            }
        )
    return wizard_context(
        integration,
        membership,
        Step.MAPPINGS,
        mapping=mapping,
        kind=kind,
        plural=kind_plural(kind),
        field_rows=rows,
        local_fields=local_fields_for(kind),
        jira_field_options=_jira_field_options(integration, mapping),
        directions=[
            (d, f"{DIRECTION_SYMBOLS[d][0]} {DIRECTION_SYMBOLS[d][1]}") for d in DIRECTION_CYCLE
        ],
        error=error,
        add_error=error if error and error.get("row") == "add" else None,
        notice=notice,
        posted=posted or {},
    )


def _render_fields(request, integration, membership, kind, *, status=200, **kwargs):
    context = _fields_context(integration, membership, kind, **kwargs)
    template = (
        "integrations/partials/field_table.html"
        if getattr(request, "htmx", False)
        else "integrations/field_mappings.html"
    )
    return render(request, template, context, status=status)


def _kind_or_404(kind: str) -> str:
    if kind not in RecordKind.values:
        raise Http404("No such record type.")
    return kind


@login_required
@require_GET
def field_mappings_page(request: HttpRequest, integration_id: int, kind: str) -> HttpResponse:
    integration, membership = integration_for(request, integration_id)
    return _render_fields(request, integration, membership, _kind_or_404(kind))


def _field_action(request, integration_id, kind, row, action, posted=None):
    integration, membership = integration_for(request, integration_id, write=True)
    _kind_or_404(kind)
    try:
        with transaction.atomic():
            notice = action(integration, _mapping_for_kind(integration, kind))
    except ApplicationError as exc:
        return _render_fields(
            request,
            integration,
            membership,
            kind,
            error=_error(exc, row),
            posted=posted,
            status=400,
        )
    return _render_fields(request, integration, membership, kind, notice=notice)


@login_required
@require_POST
def field_mapping_add_view(request: HttpRequest, integration_id: int, kind: str) -> HttpResponse:
    posted = {k: request.POST.get(k, "") for k in ("local_field", "jira_field_id", "direction")}

    def action(integration, mapping):
        fm = fm_services.field_mapping_add(
            integration=integration,
            record_mapping_id=mapping.pk,
            local_field=posted["local_field"],
            jira_field_id=posted["jira_field_id"],
            direction=posted["direction"] or Direction.BOTH,
        )
        return f"{LOCAL_FIELDS[fm.local_field].label} now maps to {fm.jira_field_name}."

    return _field_action(request, integration_id, kind, "add", action, posted)


@login_required
@require_POST
def field_mapping_direction(
    request: HttpRequest, integration_id: int, kind: str, fm_id: int
) -> HttpResponse:
    """Cycle the direction: to Jira → from Jira ← both ↔ once →¹."""

    def action(integration, mapping):
        fm = next((f for f in mapping.field_mappings.all() if f.pk == fm_id), None)
        current = fm.direction if fm else Direction.BOTH
        new = DIRECTION_CYCLE[(DIRECTION_CYCLE.index(current) + 1) % len(DIRECTION_CYCLE)]
        fm = fm_services.field_mapping_update(
            integration=integration, field_mapping_id=fm_id, direction=new
        )
        return f"{LOCAL_FIELDS[fm.local_field].label}: {DIRECTION_SYMBOLS[new][1]}."

    return _field_action(request, integration_id, kind, fm_id, action)


@login_required
@require_POST
def field_mapping_update_view(
    request: HttpRequest, integration_id: int, kind: str, fm_id: int
) -> HttpResponse:
    def action(integration, mapping):
        fm = fm_services.field_mapping_update(
            integration=integration,
            field_mapping_id=fm_id,
            jira_field_id=request.POST.get("jira_field_id", ""),
        )
        return f"{LOCAL_FIELDS[fm.local_field].label} now maps to {fm.jira_field_name}."

    return _field_action(request, integration_id, kind, fm_id, action)


@login_required
@require_POST
def field_mapping_remove_view(
    request: HttpRequest, integration_id: int, kind: str, fm_id: int
) -> HttpResponse:
    def action(integration, mapping):
        fm_services.field_mapping_remove(integration=integration, field_mapping_id=fm_id)
        return "Field mapping removed."

    return _field_action(request, integration_id, kind, fm_id, action)


@login_required
@require_POST
def field_mapping_move(
    request: HttpRequest, integration_id: int, kind: str, fm_id: int
) -> HttpResponse:
    direction = request.POST.get("direction")

    def action(integration, mapping):
        ids = [f.pk for f in mapping.field_mappings.all()]
        _swap(ids, fm_id, direction)
        fm_services.field_mappings_reorder(
            integration=integration, record_mapping_id=mapping.pk, ordered_ids=ids
        )
        return f"Moved {direction}."

    return _field_action(request, integration_id, kind, fm_id, action)


def _swap(ids: list, pk, direction) -> None:
    if pk not in ids:
        raise ApplicationError("That row is not in this list.", field="ids")
    index = ids.index(pk)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(ids):
        raise ApplicationError("It cannot move further that way.", field="direction")
    ids[index], ids[other] = ids[other], ids[index]


# -- value maps of one field ------------------------------------------------------------------


def _values_context(integration, membership, kind, fm_id, *, error=None, notice=None, posted=None):
    mapping = _mapping_for_kind(integration, kind)
    fm = next((f for f in mapping.field_mappings.all() if f.pk == fm_id), None)
    if fm is None:
        raise Http404("No such field mapping on this row.")
    spec = LOCAL_FIELDS.get(fm.local_field)
    if not spec or not spec.value_mappable:
        raise Http404("This field has no values to configure.")
    from records.workflows import statuses_for

    local_choices = []
    if fm.local_field == "status":
        local_choices = [(s.key, s.label) for s in statuses_for(kind)]
    configuration = selectors.effective_configuration(integration)
    jira_choices = []
    if fm.local_field == "status":
        if mapping.target == Target.VERSION:
            jira_choices = [("true", "Released"), ("false", "Not released")]
        else:
            jira_choices = [
                (str(s.get("id")), s.get("name", "")) for s in configuration.get("statuses") or []
            ]
    local_labels = dict(local_choices)
    pairs = [
        {
            "vm": vm,
            "local_label": local_labels.get(vm.local_value, vm.local_value),
            "error": error if error and error.get("row") == vm.pk else None,
        }
        for vm in fm.value_mappings.all()
    ]
    return wizard_context(
        integration,
        membership,
        Step.MAPPINGS,
        mapping=mapping,
        kind=kind,
        plural=kind_plural(kind),
        fm=fm,
        field_label=spec.label,
        pairs=pairs,
        local_choices=local_choices,
        jira_choices=jira_choices,
        error=error,
        add_error=error if error and error.get("row") == "add" else None,
        notice=notice,
        posted=posted or {},
    )


def _render_values(request, integration, membership, kind, fm_id, *, status=200, **kwargs):
    context = _values_context(integration, membership, kind, fm_id, **kwargs)
    template = (
        "integrations/partials/value_table.html"
        if getattr(request, "htmx", False)
        else "integrations/value_mappings.html"
    )
    return render(request, template, context, status=status)


@login_required
@require_GET
def value_mappings_page(
    request: HttpRequest, integration_id: int, kind: str, fm_id: int
) -> HttpResponse:
    integration, membership = integration_for(request, integration_id)
    return _render_values(request, integration, membership, _kind_or_404(kind), fm_id)


def _value_action(request, integration_id, kind, fm_id, row, action, posted=None):
    integration, membership = integration_for(request, integration_id, write=True)
    _kind_or_404(kind)
    try:
        with transaction.atomic():
            notice, fm_id = action(integration, fm_id)
    except ApplicationError as exc:
        return _render_values(
            request,
            integration,
            membership,
            kind,
            fm_id,
            error=_error(exc, row),
            posted=posted,
            status=400,
        )
    if not getattr(request, "htmx", False):
        url = reverse("integration_values", args=[integration.pk, kind, fm_id])
        return redirect(url)
    return _render_values(request, integration, membership, kind, fm_id, notice=notice)


@login_required
@require_POST
def value_mapping_add_view(
    request: HttpRequest, integration_id: int, kind: str, fm_id: int
) -> HttpResponse:
    posted = {k: request.POST.get(k, "") for k in ("local_value", "jira_value")}

    def action(integration, fm_id):
        jira = posted["jira_value"]
        mapping = _mapping_for_kind(integration, kind)
        fm = next((f for f in mapping.field_mappings.all() if f.pk == fm_id), None)
        is_status = fm is not None and fm.local_field == "status"
        vm = fm_services.value_mapping_add(
            integration=integration,
            field_mapping_id=fm_id,
            local_value=posted["local_value"],
            jira_value_id=jira if is_status else "",
            jira_value_name="" if is_status else jira,
        )
        return f"“{vm.local_value}” ↔ “{vm.jira_value_name}” added.", vm.field_mapping_id

    return _value_action(request, integration_id, kind, fm_id, "add", action, posted)


@login_required
@require_POST
def value_mapping_remove_view(
    request: HttpRequest, integration_id: int, kind: str, fm_id: int, vm_id: int
) -> HttpResponse:
    def action(integration, fm_id):
        fm_services.value_mapping_remove(integration=integration, value_mapping_id=vm_id)
        return "Pair removed.", fm_id

    return _value_action(request, integration_id, kind, fm_id, vm_id, action)


@login_required
@require_POST
def value_mapping_move(
    request: HttpRequest, integration_id: int, kind: str, fm_id: int, vm_id: int
) -> HttpResponse:
    direction = request.POST.get("direction")

    def action(integration, fm_id):
        mapping = _mapping_for_kind(integration, kind)
        fm = next((f for f in mapping.field_mappings.all() if f.pk == fm_id), None)
        if fm is None:
            raise ApplicationError("No such field mapping.", field="field_mapping")
        ids = [v.pk for v in fm.value_mappings.all()]
        _swap(ids, vm_id, direction)
        fm_services.value_mappings_reorder(
            integration=integration, field_mapping_id=fm_id, ordered_ids=ids
        )
        return f"Moved {direction}.", fm_id

    return _value_action(request, integration_id, kind, fm_id, vm_id, action)


# -- record links (Jira issue links) modal ------------------------------------------------------


def _link_pairs_from_post(request) -> tuple[list[dict], dict | None]:
    """The modal's pairs, through the formset (prefix "pairs"): the pairs, and an error
    (index, message, field) for the first pair that does not parse."""
    formset = RelationshipPairFormSet(request.POST, prefix="pairs")
    if not formset.is_valid():
        if formset.non_form_errors():
            message = " ".join(formset.non_form_errors())
            return [], {"index": None, "message": message, "field": None}
        for index, form in enumerate(formset.forms):
            if form.errors:
                field, errors = next(iter(form.errors.items()))
                label = form.fields[field].label if field in form.fields else field
                return _raw_pairs(formset), {
                    "index": index,
                    "message": f"Pair {index + 1}: {label}: {' '.join(errors)}",
                    "field": field,
                }
    return [form.pair() for form in formset.forms], None


def _raw_pairs(formset) -> list[dict]:
    """What was typed, to show again next to an error (not validated)."""
    pairs = []
    for form in formset.forms:
        link_type_id, _, direction = (form.data.get(form.add_prefix("jira_link")) or "").partition(
            ":"
        )
        pairs.append(
            {
                "id": form.data.get(form.add_prefix("pair_id"), ""),
                "link_type": form.data.get(form.add_prefix("link_type"), ""),
                "jira_link_type_id": link_type_id,
                "jira_direction": direction or "outward",
                "sync_direction": form.data.get(form.add_prefix("sync_direction"), ""),
            }
        )
    return pairs


def _jira_link_options(link_types, source: str, target: str) -> list[dict]:
    """Each Jira issue link type read both ways from this record's issue, in words: "DEMO-1
    blocks DEMO-2" (this record is the source: outward) and "DEMO-1 is blocked by DEMO-2"."""
    options = []
    for t in link_types:
        for direction in ("outward", "inward"):
            verb = t.get(direction) or t.get("name", "")
            options.append(
                {
                    "value": f"{t.get('id')}:{direction}",
                    "label": f"{source} {verb} {target}",
                    "name": t.get("name", ""),
                }
            )
    return options


def _links_context(integration, membership, kind, pairs, *, error=None, saved=False):
    configuration = selectors.effective_configuration(integration)
    link_types = configuration.get("link_types") or []
    # Example keys make every option read as a sentence: "APP-1 blocks APP-2".
    here = integration.workspace.prefix if integration.workspace_id else "REC"
    jira = (
        selectors.effective_project(integration).key
        or (configuration.get("project") or {}).get("key")
        or "JIRA"
    )
    for pair in pairs:
        pair["jira_link"] = f"{pair['jira_link_type_id']}:{pair['jira_direction']}"
    return {
        "management_form": RelationshipPairFormSet(
            prefix="pairs", initial=[{} for _ in pairs]
        ).management_form,
        "local_link_options": [
            (value, f"{here}-1 {label.lower()} {here}-2") for value, label in LinkType.choices
        ],
        "jira_link_options": _jira_link_options(link_types, f"{jira}-1", f"{jira}-2"),
        "integration": integration,
        "can_admin": wizard_context(integration, membership, Step.MAPPINGS)["can_admin"],
        "kind": kind,
        "plural": kind_plural(kind),
        "label": kind_label(kind),
        "pairs": pairs,
        "local_link_types": LinkType.choices,
        "jira_link_types": [
            {
                "id": str(t.get("id")),
                "name": t.get("name", ""),
                "outward": t.get("outward", ""),
                "inward": t.get("inward", ""),
            }
            for t in link_types
        ],
        "link_types_loaded": bool(link_types),
        "jira_directions": RelationshipMapping.JiraDirection.choices,
        "sync_directions": [
            (Direction.BOTH, "↔ Both ways"),
            (Direction.TO_JIRA, "→ To Jira"),
            (Direction.FROM_JIRA, "← From Jira"),
        ],
        "error": error,
        "saved": saved,
    }


def _stored_pairs(integration, kind) -> list[dict]:
    return [
        {
            "id": str(r.pk),
            "link_type": r.link_type,
            "jira_link_type_id": r.jira_link_type_id,
            "jira_direction": r.jira_direction,
            "sync_direction": r.sync_direction,
        }
        for r in selectors.relationship_mappings_effective(integration, kind)
    ]


def _new_pair(integration, pairs) -> dict:
    """A new pair starts sensibly: the first link type here not paired yet, with the Jira
    link type that reads like it (Blocks with Blocks), this record as the source."""
    used = {p["link_type"] for p in pairs}
    value, label = next(
        ((v, lbl) for v, lbl in LinkType.choices if v not in used), LinkType.choices[0]
    )
    configuration = selectors.effective_configuration(integration)
    jira = rules.suggest_jira_link_type(label, configuration.get("link_types") or []) or {}
    return {
        "id": "",
        "link_type": value,
        "jira_link_type_id": str(jira.get("id", "")),
        "jira_direction": "outward",
        "sync_direction": Direction.BOTH,
    }


def _relationship_kind(kind: str) -> str:
    if kind not in rules.RELATIONSHIP_KINDS:
        raise Http404("Record links can be mapped for initiatives, releases, epics and features.")
    return kind


@login_required
@require_GET
def record_links_modal(request: HttpRequest, integration_id: int, kind: str) -> HttpResponse:
    integration, membership = integration_for(request, integration_id)
    kind = _relationship_kind(kind)
    pairs = _stored_pairs(integration, kind)
    return render(
        request,
        "integrations/partials/links_modal.html",
        _links_context(integration, membership, kind, pairs),
    )


@login_required
@require_POST
def record_links_save(request: HttpRequest, integration_id: int, kind: str) -> HttpResponse:
    """The modal's form: "add", "up:i", "down:i", "remove:i" re-render it with what was typed;
    "done" saves the whole ordered list (or shows the error next to the pair at fault)."""
    integration, membership = integration_for(request, integration_id, write=True)
    kind = _relationship_kind(kind)
    pairs, parse_error = _link_pairs_from_post(request)
    if parse_error is not None:
        context = _links_context(integration, membership, kind, pairs, error=parse_error)
        return render(request, "integrations/partials/links_form.html", context, status=400)
    command = request.POST.get("command", "done")
    verb, _, arg = command.partition(":")
    if verb == "add":
        pairs.append(_new_pair(integration, pairs))
    elif verb in ("up", "down", "remove") and arg.isdigit() and int(arg) < len(pairs):
        index = int(arg)
        if verb == "remove":
            pairs.pop(index)
        else:
            other = index - 1 if verb == "up" else index + 1
            if 0 <= other < len(pairs):
                pairs[index], pairs[other] = pairs[other], pairs[index]
    elif verb == "done":
        try:
            rel_services.relationship_mappings_replace(
                integration=integration, record_kind=kind, pairs=pairs
            )
        except ApplicationError as exc:
            # The service names the input at fault as pairs[<index>].<field>.
            at_fault = re.match(r"pairs\[(\d+)\](?:\.(\w+))?", next(iter(exc.fields), ""))
            context = _links_context(
                integration,
                membership,
                kind,
                pairs,
                error={
                    "index": int(at_fault.group(1)) if at_fault else None,
                    "message": exc.message,
                    "field": at_fault.group(2) if at_fault else None,
                },
            )
            return render(request, "integrations/partials/links_form.html", context, status=400)
        integration.refresh_from_db()
        response = _render_table(
            request,
            integration,
            membership,
            notice=f"Record links for {kind_plural(kind).lower()} saved ({len(pairs)} "
            f"pair{'s' if len(pairs) != 1 else ''}).",
        )
        response["HX-Retarget"] = "#mappings"
        response["HX-Reswap"] = "outerHTML"
        response["HX-Trigger-After-Swap"] = "links-saved"
        return response
    context = _links_context(integration, membership, kind, pairs)
    return render(request, "integrations/partials/links_form.html", context)
