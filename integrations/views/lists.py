"""Settings > Account > Integrations and Settings > Workspace > Integrations: the lists, and
disable / delete with a confirmation that says what happens to linked records."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import account_list_for_user
from core.exceptions import ApplicationError

from .. import extensions, selectors
from ..models import Integration
from ..services import integrations as services
from .common import back_url, integration_for, is_admin, next_step, step_url, workspace_for


def _rows(integrations) -> list[dict]:
    # The list page shows each integration's sync state beside its set-up, from the summary
    # the sync engine contributes (one query per figure, not per row).
    summaries = extensions.sync_summaries([i.pk for i in integrations])
    return [_row(i, summaries[i.pk]) for i in integrations]


def _row(integration: Integration, summary) -> dict:
    warnings = selectors.integration_warnings(integration)
    project = selectors.effective_project(integration)
    step = next_step(integration)
    return {
        "integration": integration,
        "project": project,
        "warnings": len(warnings),
        "errors": sum(1 for w in warnings if w.severity == "error"),
        "last_sync": summary.last_sync,
        "linked_records": summary.linked_records,
        "sync_errors": summary.errors,
        "open_url": step_url(integration, step),
        "next_step": Integration.Step(step),
        "steps_done": integration.last_completed_step,
    }


@login_required
@require_GET
def account_integrations(request: HttpRequest) -> HttpResponse:
    """Account templates, and every workspace's integrations, of one of the user's accounts."""
    accounts = list(account_list_for_user(user=request.user).order_by("name", "id"))
    account = None
    wanted = request.GET.get("account")
    for candidate in accounts:
        if wanted and str(candidate.pk) == wanted:
            account = candidate
    account = account or (accounts[0] if accounts else None)
    membership = None
    groups = []
    if account is not None:
        from accounts.selectors import membership_get

        membership = membership_get(user=request.user, account_id=account.pk)
        integrations = list(
            selectors.integration_list_for_user(user=request.user)
            .filter(account=account)
            .order_by("name", "id")
        )
        groups.append(
            {
                "title": "Account templates",
                "help": "Set up once; workspace integrations start from a template and inherit "
                "its connection, project and mappings.",
                "rows": _rows([i for i in integrations if i.is_template]),
                "workspace": None,
            }
        )
        for workspace in account.workspaces.order_by("name", "id"):
            groups.append(
                {
                    "title": f"{workspace.name} workspace",
                    "help": "",
                    "rows": _rows([i for i in integrations if i.workspace_id == workspace.pk]),
                    "workspace": workspace,
                }
            )
    return render(
        request,
        "integrations/list.html",
        {
            "title": "Account integrations",
            "accounts": accounts,
            "account": account,
            "groups": groups,
            "can_admin": is_admin(membership),
            "scope": "account",
        },
    )


@login_required
@require_GET
def workspace_integrations(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace, membership = workspace_for(request, workspace_id)
    integrations = (
        selectors.integration_list_for_user(user=request.user)
        .filter(workspace=workspace)
        .order_by("name", "id")
    )
    return render(
        request,
        "integrations/list.html",
        {
            "title": f"{workspace.name} integrations",
            "workspace": workspace,
            "account": workspace.account,
            "groups": [
                {
                    "title": "Integrations of this workspace",
                    "help": "",
                    "rows": _rows(list(integrations)),
                    "workspace": workspace,
                }
            ],
            "can_admin": is_admin(membership),
            "scope": "workspace",
        },
    )


@login_required
@require_GET
def integration_open(request: HttpRequest, integration_id: int) -> HttpResponse:
    """Opening an integration resumes the wizard at the step after the last one saved."""
    integration, _ = integration_for(request, integration_id)
    return redirect(step_url(integration, next_step(integration)))


@login_required
@require_POST
def integration_disable_view(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, _ = integration_for(request, integration_id, write=True)
    try:
        services.integration_disable(integration=integration)
        messages.success(
            request,
            f"{integration.name} is disabled: nothing is sent to Jira or taken from it until you "
            "enable it again.",
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(request.POST.get("next") or back_url(integration))


@login_required
@require_http_methods(["GET", "POST"])
def integration_delete_view(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, _membership = integration_for(request, integration_id, write=True)
    destination = back_url(integration)
    if request.method == "POST":
        name = integration.name
        try:
            services.integration_delete(integration=integration)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect(destination)
        messages.success(
            request,
            f"{name} is deleted. Your records are kept; nothing was deleted in Jira.",
        )
        return redirect(destination)
    return render(
        request,
        "integrations/confirm_delete.html",
        {
            "integration": integration,
            "linked": _rows([integration])[0]["linked_records"],
            "derived": integration.derived_integrations.count() if integration.is_template else 0,
            "back_url": destination,
        },
    )
