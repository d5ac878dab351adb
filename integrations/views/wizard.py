"""Wizard steps Name, Connect, Project and Enable. Each step saves through the services and
records itself done (``integration_step_complete``); the Mappings step is in mappings.py."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Workspace
from core.exceptions import ApplicationError

from .. import extensions, selectors
from ..forms import SECRET_SET_PLACEHOLDER, ConnectForm, NameForm, apply_application_error
from ..models import Integration
from ..services import configuration as configuration_services
from ..services import integrations as services
from .common import (
    account_for,
    integration_for,
    is_admin,
    render_page_or_partial,
    step_url,
    wizard_context,
)

logger = logging.getLogger(__name__)
Step = Integration.Step


# -- 1. Name ----------------------------------------------------------------------------------


def _templates(account, exclude=None):
    qs = account.integrations.filter(is_template=True).order_by("name", "id")
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return list(qs)


@login_required
@require_http_methods(["GET", "POST"])
def integration_new(request: HttpRequest) -> HttpResponse:
    """Step 1 for a new integration, in the account of ``?account=`` or ``?workspace=``."""
    workspace = None
    if request.GET.get("workspace"):
        from .common import workspace_for

        workspace, membership = workspace_for(request, request.GET["workspace"])
        account = workspace.account
    else:
        account, membership = account_for(request, request.GET.get("account"))
    if not is_admin(membership):
        from django.core.exceptions import PermissionDenied

        from .common import ADMIN_REFUSAL

        raise PermissionDenied(ADMIN_REFUSAL)
    templates = _templates(account)
    if workspace is None:
        # With one workspace, the integration a newcomer wants is that workspace's: a
        # template is never enabled itself, so it is only the default when there is no choice.
        workspaces = list(account.workspaces.all()[:2])
        if len(workspaces) == 1:
            workspace = workspaces[0]
    initial = {
        "scope": str(workspace.pk) if workspace else "account",
        "name": "Jira" if workspace is None else f"Jira — {workspace.name}",
        # A template's Enable step links here with ?template= to start from it.
        "template": request.GET.get("template", ""),
    }
    form = NameForm(request.POST or None, account=account, templates=templates, initial=initial)
    if request.method == "POST" and form.is_valid():
        scope = form.cleaned_data["scope"]
        target_ws = None
        if scope != "account":
            target_ws = Workspace.objects.filter(account=account, pk=scope).first()
        template = None
        template_id = form.cleaned_data.get("template")
        if template_id:
            template = next((t for t in templates if str(t.pk) == template_id), None)
        try:
            integration = services.integration_create(
                account=account,
                name=form.cleaned_data["name"],
                workspace=target_ws,
                is_template=scope == "account",
                template=template,
                created_by=request.user,
            )
        except ApplicationError as exc:
            apply_application_error(form, exc)
        else:
            return redirect(step_url(integration, Step.CONNECT))
    context = wizard_context(None, membership, Step.NAME, form=form, account=account)
    return render(request, "integrations/step_name.html", context, status=_status(form))


def _status(form) -> int:
    return 400 if form.is_bound and form.errors else 200


@login_required
@require_http_methods(["GET", "POST"])
def integration_name(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, membership = integration_for(
        request, integration_id, write=request.method == "POST"
    )
    initial = {
        "name": integration.name,
        "scope": "account" if integration.is_template else str(integration.workspace_id),
        "template": str(integration.template_id or ""),
    }
    templates = _templates(integration.account, exclude=integration)
    form = NameForm(
        request.POST or None,
        account=integration.account,
        templates=templates,
        locked=True,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.integration_update(
                integration=integration,
                name=form.cleaned_data["name"],
                last_completed_step=Step.NAME,
            )
        except ApplicationError as exc:
            apply_application_error(form, exc)
        else:
            return redirect(step_url(integration, Step.CONNECT))
    context = wizard_context(integration, membership, Step.NAME, form=form)
    return render(request, "integrations/step_name.html", context, status=_status(form))


# -- 2. Connect -------------------------------------------------------------------------------


def _connect_form(integration, data=None):
    connection = selectors.effective_connection(integration)
    return ConnectForm(
        data,
        api_token_set=connection.api_token_set,
        pat_set=connection.personal_access_token_set,
        initial={
            "deployment": connection.deployment,
            "base_url": connection.base_url,
            "email": connection.email,
        },
    ), connection


def _save_connection(integration, form) -> bool:
    """Save what was typed. Secrets go first, on their own, so a mistake in the URL does not
    make the user type the token again (it is never rendered back)."""
    data = form.cleaned_data
    try:
        secrets = {
            key: data[key] for key in ("api_token", "personal_access_token") if data.get(key)
        }
        if secrets:
            services.integration_set_connection(integration=integration, **secrets)
        services.integration_set_connection(
            integration=integration,
            deployment=data["deployment"],
            base_url=data["base_url"],
            email=data["email"] if data["deployment"] == Integration.Deployment.CLOUD else "",
        )
    except ApplicationError as exc:
        apply_application_error(form, exc)
        integration.refresh_from_db()
        _mark_secrets_set(form, selectors.effective_connection(integration))
        return False
    integration.refresh_from_db()
    return True


def _mark_secrets_set(form, connection) -> None:
    if connection.api_token_set:
        form.fields["api_token"].widget.attrs["placeholder"] = SECRET_SET_PLACEHOLDER
    if connection.personal_access_token_set:
        form.fields["personal_access_token"].widget.attrs["placeholder"] = SECRET_SET_PLACEHOLDER


def _require_complete(form, connection) -> bool:
    ok = True
    if connection.deployment == Integration.Deployment.DATA_CENTER:
        if not connection.personal_access_token_set:
            form.add_error("personal_access_token", "Enter a personal access token.")
            ok = False
    else:
        if not connection.email:
            form.add_error("email", "Enter the email of the Jira user the API token belongs to.")
            ok = False
        if not connection.api_token_set:
            form.add_error("api_token", "Enter an API token.")
            ok = False
    return ok


@login_required
@require_http_methods(["GET", "POST"])
def integration_connect(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, membership = integration_for(
        request, integration_id, write=request.method == "POST"
    )
    form, connection = _connect_form(integration, request.POST or None)
    if request.method == "POST" and form.is_valid() and _save_connection(integration, form):
        form, connection = _connect_form(integration, request.POST)
        form.is_valid()
        if _require_complete(form, connection):
            services.integration_step_complete(integration=integration, step=Step.CONNECT)
            return redirect(step_url(integration, Step.PROJECT))
    elif request.method == "POST":
        connection = selectors.effective_connection(integration)
    context = wizard_context(
        integration, membership, Step.CONNECT, form=form, connection=connection
    )
    return render(request, "integrations/step_connect.html", context, status=_status(form))


@login_required
@require_POST
def integration_connect_test(request: HttpRequest, integration_id: int) -> HttpResponse:
    """Test connection (htmx): save what was typed, ask Jira, answer in plain words next to
    the form. Field mistakes appear beside their fields."""
    integration, membership = integration_for(request, integration_id, write=True)
    form, _ = _connect_form(integration, request.POST)
    result = None
    if form.is_valid() and _save_connection(integration, form):
        form, connection = _connect_form(integration, request.POST)
        form.is_valid()
        if _require_complete(form, connection):
            try:
                result = configuration_services.connection_test(integration=integration)
            except ApplicationError as exc:
                apply_application_error(form, exc)
    else:
        connection = selectors.effective_connection(integration)
    context = wizard_context(
        integration, membership, Step.CONNECT, form=form, connection=connection, result=result
    )
    return render_page_or_partial(
        request,
        "integrations/step_connect.html",
        "integrations/partials/connect_form.html",
        context,
    )


# -- 3. Project -------------------------------------------------------------------------------


def _projects(integration, query: str) -> tuple[list[dict], str]:
    try:
        return configuration_services.project_list(integration=integration, query=query), ""
    except ApplicationError as exc:
        return [], exc.message


@login_required
@require_http_methods(["GET", "POST"])
def integration_project(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, membership = integration_for(
        request, integration_id, write=request.method == "POST"
    )
    error = ""
    chosen = request.POST.get("project_key", "") if request.method == "POST" else ""
    if request.method == "POST":
        key, _, rest = chosen.partition("|")
        project_id, _, name = rest.partition("|")
        try:
            services.integration_set_project(
                integration=integration, project_key=key, project_id=project_id, project_name=name
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            services.integration_step_complete(integration=integration, step=Step.PROJECT)
            # The Mappings step needs the project's issue types: fetch them now.
            try:
                configuration_services.configuration_reload(integration=integration)
            except ApplicationError as exc:
                messages.warning(
                    request,
                    f"The project is saved, but its configuration could not be loaded: "
                    f"{exc.message} Use Reload configuration on this step.",
                )
            return redirect(step_url(integration, Step.MAPPINGS))
    query = request.GET.get("q", "")
    projects, load_error = _projects(integration, query)
    current = selectors.effective_project(integration)
    context = wizard_context(
        integration,
        membership,
        Step.PROJECT,
        projects=projects,
        load_error=load_error,
        error=error,
        query=query,
        current=current,
        chosen=chosen.partition("|")[0] or current.key,
    )
    return render(
        request,
        "integrations/step_project.html",
        context,
        status=400 if error else 200,
    )


@login_required
@require_GET
def integration_project_search(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, membership = integration_for(request, integration_id)
    query = request.GET.get("q", "")[:100]
    projects, load_error = _projects(integration, query)
    current = selectors.effective_project(integration)
    return render(
        request,
        "integrations/partials/project_results.html",
        {
            "integration": integration,
            "projects": projects,
            "load_error": load_error,
            "query": query,
            "chosen": request.GET.get("chosen") or current.key,
            "can_admin": is_admin(membership),
        },
    )


# -- 5. Enable --------------------------------------------------------------------------------


def _enable_context(integration, membership, request=None, **extra):
    project = selectors.effective_project(integration)
    validation = selectors.validate_mapping(integration)
    problems = list(validation["problems"])
    for row in validation["rows"]:
        problems += row["problems"]
    return wizard_context(
        integration,
        membership,
        Step.ENABLE,
        project=project,
        workspaces=list(integration.account.workspaces.order_by("name"))
        if integration.is_template
        else [],
        blocking=[p for p in problems if p["severity"] == "error"],
        job=extensions.bulk_send_latest(integration),
        panels=extensions.enable_panels(request, integration),
        **extra,
    )


@login_required
@require_http_methods(["GET", "POST"])
def integration_enable(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration, membership = integration_for(
        request, integration_id, write=request.method == "POST"
    )
    error = ""
    job = None
    if request.method == "POST":
        if integration.state != Integration.State.ENABLED:
            try:
                services.integration_enable(integration=integration)
            except ApplicationError as exc:
                error = exc.message
        if not error and request.POST.get("send_all"):
            try:
                job = extensions.bulk_send_start(integration=integration, user=request.user)
            except ApplicationError as exc:
                error = exc.message
        if not error and job is None:
            messages.success(
                request,
                f"{integration.name} is enabled: changes now sync with Jira.",
            )
            return redirect(step_url(integration, Step.ENABLE))
        integration.refresh_from_db()
    context = _enable_context(integration, membership, request, error=error)
    if job is not None:
        context["job"] = job
    return render(request, "integrations/step_enable.html", context, status=400 if error else 200)


@login_required
@require_POST
def integration_sync_options(request: HttpRequest, integration_id: int) -> HttpResponse:
    """Approval of outgoing changes and automatic import: two switches of the Enable step."""
    integration, _ = integration_for(request, integration_id, write=True)
    services.integration_update(
        integration=integration,
        require_approval=request.POST.get("require_approval") == "1",
        auto_import=request.POST.get("auto_import") == "1",
    )
    messages.success(
        request,
        "Saved: changes made here "
        + ("wait for approval" if integration.require_approval else "go to Jira at once")
        + "; new Jira issues "
        + ("are imported automatically." if integration.auto_import else "wait as candidates."),
    )
    return redirect(step_url(integration, Step.ENABLE))


@login_required
@require_POST
def integration_webhook_secret(request: HttpRequest, integration_id: int) -> HttpResponse:
    """Reveal the webhook secret, on demand, to an owner or admin only."""
    integration, _ = integration_for(request, integration_id, write=True)
    secret = services.integration_webhook_secret(integration=integration)
    response = render(
        request,
        "integrations/partials/webhook_secret.html",
        {"integration": integration, "secret": secret},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def integration_bulk_progress(request: HttpRequest, integration_id: int, job_id: int):
    integration, _ = integration_for(request, integration_id)
    job = extensions.bulk_send_get(integration, job_id)
    if job is None:
        raise Http404("No such send.")
    response = render(
        request,
        "integrations/partials/bulk_progress.html",
        {"integration": integration, "job": job},
    )
    if job.status != job.Status.RUNNING:
        # htmx stops polling on 286.
        response.status_code = 286
    return response
