"""Shared by the integration pages: loading an integration the user may see (404 otherwise),
refusing writes to non-admins (403, like the API), the wizard stepper, and rendering an
htmx partial or the whole page for the same view."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from accounts import policy
from accounts.models import Account, Membership, Workspace
from accounts.policy import Action
from accounts.selectors import membership_get

from .. import selectors
from ..models import Integration

ADMIN_REFUSAL = (
    "Only an account owner or admin can change integrations. You can look, but ask an admin "
    "to make changes."
)
Step = Integration.Step

STEP_URLS = {
    Step.NAME: "integration_name",
    Step.CONNECT: "integration_connect",
    Step.PROJECT: "integration_project",
    Step.MAPPINGS: "integration_mappings",
    Step.ENABLE: "integration_enable",
}


def is_admin(membership: Membership | None) -> bool:
    return policy.role_allows(getattr(membership, "role", None), Action.ADMINISTER)


def integration_for(
    request: HttpRequest, integration_id, *, write: bool = False
) -> tuple[Integration, Membership]:
    """The integration if it is in one of the user's accounts (else 404); with ``write``,
    only for an owner or admin (else 403). Read for members, write for admins, as the API."""
    integration = selectors.integration_get_for_user(
        user=request.user, integration_id=integration_id
    )
    if integration is None:
        raise Http404("No such integration in your accounts.")
    membership = membership_get(user=request.user, account_id=integration.account_id)
    if write:
        policy.require(getattr(membership, "role", None), Action.ADMINISTER, refusal=ADMIN_REFUSAL)
    return integration, membership


def account_for(request: HttpRequest, account_id) -> tuple[Account, Membership]:
    try:
        account_id = int(account_id)
    except (TypeError, ValueError):
        raise Http404("No such account.") from None
    membership = membership_get(user=request.user, account_id=account_id)
    if membership is None:
        raise Http404("No such account in your memberships.")
    return membership.account, membership


def workspace_for(request: HttpRequest, workspace_id) -> tuple[Workspace, Membership]:
    from accounts.selectors import workspace_list_for_user

    try:
        workspace_id = int(workspace_id)
    except (TypeError, ValueError):
        raise Http404("No such workspace.") from None
    workspace = workspace_list_for_user(user=request.user).filter(pk=workspace_id).first()
    if workspace is None:
        raise Http404("No such workspace in your accounts.")
    return workspace, membership_get(user=request.user, account_id=workspace.account_id)


def next_step(integration: Integration) -> int:
    """Where opening the integration resumes: the step after the last one saved."""
    if integration.state != Integration.State.DRAFT:
        return Step.ENABLE
    return min(int(integration.last_completed_step) + 1, Step.ENABLE)


def step_url(integration: Integration, step: int) -> str:
    return reverse(STEP_URLS[Step(step)], args=[integration.pk])


@dataclass
class StepLink:
    number: int
    label: str
    url: str
    state: str  # "done", "current", "open" (reachable, not done), "locked"


def stepper(integration: Integration | None, current: int) -> list[StepLink]:
    done_up_to = integration.last_completed_step if integration else 0
    reachable = next_step(integration) if integration else Step.NAME
    links = []
    for step in (Step.NAME, Step.CONNECT, Step.PROJECT, Step.MAPPINGS, Step.ENABLE):
        if step == current:
            state = "current"
        elif step <= done_up_to:
            state = "done"
        elif integration is not None and step <= reachable:
            state = "open"
        else:
            state = "locked"
        url = step_url(integration, step) if integration and state != "locked" else ""
        links.append(StepLink(int(step), step.label, url, state))
    return links


def back_url(integration: Integration | None, account: Account | None = None) -> str:
    """The list the integration is shown in."""
    if integration is not None and integration.workspace_id:
        return reverse("integrations_workspace", args=[integration.workspace_id])
    account_id = integration.account_id if integration else (account.pk if account else None)
    url = reverse("integrations_account")
    return f"{url}?account={account_id}" if account_id else url


def wizard_context(integration: Integration | None, membership, step: int, **extra) -> dict:
    context = {
        "integration": integration,
        "membership": membership,
        "can_admin": is_admin(membership),
        "steps": stepper(integration, step),
        "current_step": step,
        "back_url": back_url(integration, getattr(membership, "account", None)),
    }
    context.update(extra)
    return context


def render_page_or_partial(
    request: HttpRequest,
    page_template: str,
    partial_template: str,
    context: dict,
    *,
    status: int = 200,
) -> HttpResponse:
    """The same view answers a full page, or only the part htmx asked to swap."""
    template = partial_template if getattr(request, "htmx", False) else page_template
    return render(request, template, context, status=status)


def htmx_redirect(request: HttpRequest, url: str) -> HttpResponse:
    from django.shortcuts import redirect

    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
