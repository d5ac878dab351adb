"""Integrations themselves: create (workspace, template, or from a template), settings,
connection, project, state, webhook credentials, and copy-on-write template inheritance."""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.models import Account, Workspace
from core.exceptions import ApplicationError, NotFoundError

from ..models import (
    FieldMapping,
    Integration,
    LinkedTo,
    RecordMapping,
    RelationshipMapping,
    ValueMapping,
    new_webhook_token,
)
from ..providers.jira.client import AddressPolicy
from ..signals import integration_deleting, integration_webhook_changed

logger = logging.getLogger(__name__)

UNSET: Any = object()
Part = Integration.Part
Deployment = Integration.Deployment

# Path segments that start Jira's own pages: what follows a Data Center context path.
_JIRA_PAGE_SEGMENTS = {
    "browse",
    "secure",
    "projects",
    "plugins",
    "issues",
    "rest",
    "jira",
    "software",
    "servicedesk",
    "login.jsp",
    "dashboard.jspa",
}


def normalize_site_url(url: str, *, deployment: str) -> str:
    """https://team.atlassian.net, whatever was pasted: scheme added, trailing slash, pages
    and query dropped. A Data Center context path (https://host/jira) is kept."""
    text = (url or "").strip()
    if not text:
        raise ApplicationError("Enter the Jira site URL.", field="base_url")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ApplicationError(
            f"The Jira site URL must start with https:// (or http://), not {scheme}://.",
            field="base_url",
        )
    if not parts.hostname:
        raise ApplicationError(
            "The Jira site URL has no host name: enter it like https://your-team.atlassian.net.",
            field="base_url",
        )
    if parts.username or parts.password:
        raise ApplicationError(
            "Put the credentials in the email and token fields, not in the site URL.",
            field="base_url",
        )
    host = parts.hostname.lower()
    if host.endswith(".atlassian.net"):
        scheme = "https"
    # Checked again at every connection (the name may resolve elsewhere later); refused
    # names and literal addresses are said now.
    refusal = AddressPolicy.from_settings().host_refusal(
        host, parts.port or (443 if scheme == "https" else 80)
    )
    if refusal:
        raise ApplicationError(refusal, field="base_url")
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    path = ""
    if deployment == Deployment.DATA_CENTER:
        kept = []
        for segment in [s for s in parts.path.split("/") if s]:
            if segment.lower() in _JIRA_PAGE_SEGMENTS and kept:
                break
            if segment.lower() in _JIRA_PAGE_SEGMENTS - {"jira"}:
                break
            kept.append(segment)
        path = "/" + "/".join(kept) if kept else ""
    return f"{scheme}://{netloc}{path}"


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the integration a name.", field="name")
    if len(name) > 200:
        raise ApplicationError("The name is at most 200 characters.", field="name")
    return name


# -- create / update / delete ----------------------------------------------------------------


@transaction.atomic
def integration_create(
    *,
    account: Account,
    name: str,
    workspace: Workspace | None = None,
    is_template: bool = False,
    template: Integration | None = None,
    created_by: AbstractBaseUser | None = None,
    auto_import: bool = False,
    require_approval: bool = False,
) -> Integration:
    """A workspace integration, an account template ("Use as template"), or a workspace
    integration from a template, which inherits connection, project and mappings."""
    name = _check_name(name)
    if is_template:
        if workspace is not None:
            raise ApplicationError(
                "A template belongs to the account, not to a workspace: leave the workspace out.",
                field="workspace",
            )
        if template is not None:
            raise ApplicationError(
                "A template cannot itself inherit from a template.", field="template"
            )
    else:
        if workspace is None:
            raise ApplicationError(
                "Choose the workspace this integration is for, or make it a template.",
                field="workspace",
            )
        if workspace.account_id != account.id:
            raise ApplicationError("That workspace is not in this account.", field="workspace")
    if template is not None:
        if not template.is_template:
            raise ApplicationError(
                f"'{template.name}' is not a template: only account templates can be inherited.",
                field="template",
            )
        if template.account_id != account.id:
            raise ApplicationError("That template is not in this account.", field="template")
    integration = Integration(
        account=account,
        workspace=workspace,
        is_template=is_template,
        template=template,
        name=name,
        created_by=created_by,
        auto_import=auto_import,
        require_approval=require_approval,
        last_completed_step=Integration.Step.NAME,
    )
    integration.set_webhook_secret(secrets.token_urlsafe(32))
    integration.save()
    logger.info("Integration %s created in account %s", integration.pk, account.pk)
    return integration


@transaction.atomic
def integration_update(
    *,
    integration: Integration,
    name: str = UNSET,
    auto_import: bool = UNSET,
    require_approval: bool = UNSET,
    last_completed_step: int = UNSET,
) -> Integration:
    if name is not UNSET:
        integration.name = _check_name(name)
    if auto_import is not UNSET:
        integration.auto_import = bool(auto_import)
    if require_approval is not UNSET:
        integration.require_approval = bool(require_approval)
    if last_completed_step is not UNSET:
        integration_step_complete(integration=integration, step=last_completed_step, save=False)
    integration.save()
    return integration


def integration_step_complete(
    *, integration: Integration, step: int, save: bool = True
) -> Integration:
    """Record that a wizard step was saved; the wizard resumes after the highest one."""
    try:
        step = int(step)
    except (TypeError, ValueError):
        step = -1
    if step not in Integration.Step.values:
        raise ApplicationError(
            "The wizard step is a number from 0 (not started) to 5 (Enable).",
            field="last_completed_step",
        )
    integration.last_completed_step = max(integration.last_completed_step, step)
    if save:
        integration.save(update_fields=["last_completed_step", "updated_at"])
    return integration


@transaction.atomic
def integration_delete(*, integration: Integration) -> None:
    """Deleting a template first gives each derived integration its own copy of every part
    it still inherited, so they keep working."""
    if integration.is_template:
        for derived in Integration.objects.filter(template=integration):
            for part in Part.values:
                ensure_part_owned(integration=derived, part=part)
    integration_deleting.send(sender=Integration, integration=integration)
    logger.info("Integration %s deleted", integration.pk)
    integration.delete()


# -- copy-on-write ---------------------------------------------------------------------------


def _copy_record_mappings(source: Integration, target: Integration) -> dict[str, dict]:
    id_map: dict[str, dict] = {"record_mappings": {}, "field_mappings": {}, "value_mappings": {}}
    for mapping in RecordMapping.objects.filter(integration=source).order_by("position", "id"):
        copy = RecordMapping.objects.create(
            integration=target,
            position=mapping.position,
            record_kind=mapping.record_kind,
            target=mapping.target,
            issue_types=mapping.issue_types,
            default_issue_type_id=mapping.default_issue_type_id,
        )
        id_map["record_mappings"][mapping.pk] = copy
        LinkedTo.objects.bulk_create(
            LinkedTo(
                record_mapping=copy,
                parent_kind=link.parent_kind,
                jira_field=link.jira_field,
                position=link.position,
                automatic=link.automatic,
            )
            for link in mapping.linked_to.all()
        )
        for fm in mapping.field_mappings.all():
            fm_copy = FieldMapping.objects.create(
                record_mapping=copy,
                position=fm.position,
                local_field=fm.local_field,
                jira_field_id=fm.jira_field_id,
                jira_field_name=fm.jira_field_name,
                direction=fm.direction,
            )
            id_map["field_mappings"][fm.pk] = fm_copy
            for vm in fm.value_mappings.all():
                id_map["value_mappings"][vm.pk] = ValueMapping.objects.create(
                    field_mapping=fm_copy,
                    position=vm.position,
                    local_value=vm.local_value,
                    jira_value_id=vm.jira_value_id,
                    jira_value_name=vm.jira_value_name,
                )
    return id_map


def _copy_relationship_mappings(source: Integration, target: Integration) -> dict[str, dict]:
    id_map: dict[str, dict] = {"relationship_mappings": {}}
    for rel in RelationshipMapping.objects.filter(integration=source):
        old_pk = rel.pk
        rel.pk = None
        rel.id = None
        rel.integration = target
        rel.save()
        id_map["relationship_mappings"][old_pk] = rel
    return id_map


def ensure_part_owned(*, integration: Integration, part: str) -> dict[str, dict]:
    """Before the first write to an inherited part: copy the template's values into this
    integration and mark the part overridden. Returns template id -> copy, per row model, so
    a write addressed to a template row lands on its copy."""
    if not integration.inherits(part) or integration.template is None:
        return {}
    # Lock the row so two first writes do not both copy.
    locked = Integration.objects.select_for_update().get(pk=integration.pk)
    if part in locked.overridden_parts:
        integration.overridden_parts = locked.overridden_parts
        return {}
    template = integration.template
    id_map: dict[str, dict] = {}
    if part == Part.CONNECTION:
        integration.deployment = template.deployment
        integration.base_url = template.base_url
        integration.email = template.email
        integration.api_token_encrypted = template.api_token_encrypted
        integration.personal_access_token_encrypted = template.personal_access_token_encrypted
    elif part == Part.PROJECT:
        integration.project_id = template.project_id
        integration.project_key = template.project_key
        integration.project_name = template.project_name
    elif part == Part.RECORD_MAPPINGS:
        id_map = _copy_record_mappings(template, integration)
    elif part == Part.RELATIONSHIP_MAPPINGS:
        id_map = _copy_relationship_mappings(template, integration)
    if part in (Part.CONNECTION, Part.PROJECT) and not integration.configuration:
        # The configuration now lives here (see selectors.configuration_source).
        integration.configuration = template.configuration
        integration.configuration_fetched_at = template.configuration_fetched_at
    integration.overridden_parts = [*locked.overridden_parts, part]
    integration.save()
    logger.info("Integration %s now overrides its template's %s", integration.pk, part)
    return id_map


def owned_row(
    *, integration: Integration, part: str, copies_of: str, rows, row_id, missing: str, field: str
):
    """The row a write addressed by ``row_id`` lands on. On an integration that inherits
    ``part``, the first write copies the template's rows (ensure_part_owned) and an id of a
    template row, as the effective selectors showed it, is followed to its copy.
    ``rows`` is this integration's own queryset of that model."""
    copies = ensure_part_owned(integration=integration, part=part).get(copies_of, {})
    try:
        pk = int(row_id)
    except (TypeError, ValueError):
        pk = None
    if pk in copies:
        return copies[pk]
    row = rows.filter(pk=pk).first()
    if row is None:
        raise NotFoundError(missing, field=field)
    return row


@transaction.atomic
def integration_reset_part(*, integration: Integration, part: str) -> Integration:
    """Reset to template: drop this integration's own values for ``part`` and read the
    template's again."""
    if part not in Part.values:
        raise ApplicationError(
            f"'{part}' is not a part of an integration. Use one of: {', '.join(Part.values)}.",
            field="part",
        )
    if integration.template is None:
        raise ApplicationError("This integration has no template to reset to.", field="part")
    if part not in integration.overridden_parts:
        return integration
    if part == Part.RECORD_MAPPINGS:
        RecordMapping.objects.filter(integration=integration).delete()
    elif part == Part.RELATIONSHIP_MAPPINGS:
        RelationshipMapping.objects.filter(integration=integration).delete()
    elif part == Part.CONNECTION:
        integration.base_url = ""
        integration.email = ""
        integration.api_token_encrypted = ""
        integration.personal_access_token_encrypted = ""
    elif part == Part.PROJECT:
        integration.project_id = integration.project_key = integration.project_name = ""
    integration.overridden_parts = [p for p in integration.overridden_parts if p != part]
    if Part.CONNECTION not in integration.overridden_parts and (
        Part.PROJECT not in integration.overridden_parts
    ):
        integration.configuration = {}
        integration.configuration_fetched_at = None
    integration.save()
    return integration


# -- connection and project ------------------------------------------------------------------


@transaction.atomic
def integration_set_connection(
    *,
    integration: Integration,
    deployment: str = UNSET,
    base_url: str = UNSET,
    email: str = UNSET,
    api_token: str | None = UNSET,
    personal_access_token: str | None = UNSET,
) -> Integration:
    """Cloud: site URL, email and API token (basic auth). Data Center: URL and personal
    access token (bearer). A blank secret keeps the stored one; secrets are encrypted."""
    ensure_part_owned(integration=integration, part=Part.CONNECTION)
    if deployment is not UNSET:
        if deployment not in Deployment.values:
            raise ApplicationError(
                "Choose 'cloud' (Jira Cloud) or 'data_center' (Jira Data Center).",
                field="deployment",
            )
        integration.deployment = deployment
    if base_url is not UNSET:
        integration.base_url = normalize_site_url(base_url, deployment=integration.deployment)
    if email is not UNSET:
        email = (email or "").strip()
        if email and ("@" not in email or len(email) > 254):
            raise ApplicationError(
                "Enter the email address of the Jira user the API token belongs to.",
                field="email",
            )
        integration.email = email
    if api_token not in (UNSET, None, ""):
        integration.set_api_token(api_token.strip())
    if personal_access_token not in (UNSET, None, ""):
        integration.set_personal_access_token(personal_access_token.strip())
    integration.save()
    logger.info("Integration %s connection updated", integration.pk)
    return integration


@transaction.atomic
def integration_set_project(
    *, integration: Integration, project_key: str, project_id: str = "", project_name: str = ""
) -> Integration:
    key = (project_key or "").strip().upper()
    if not key or len(key) > 40:
        raise ApplicationError("Choose the Jira project (its key, like DEMO).", field="project_key")
    ensure_part_owned(integration=integration, part=Part.PROJECT)
    changed = key != integration.project_key
    if changed:
        # What was fetched belongs to the old project; Reload configuration fetches anew.
        integration.configuration = {}
        integration.configuration_fetched_at = None
    integration.project_key = key
    integration.project_id = str(project_id or "")
    integration.project_name = (project_name or "")[:255]
    integration.save()
    if changed:
        integration_webhook_changed.send(
            sender=Integration, integration=integration, reason="project"
        )
    return integration


# -- state and webhook -----------------------------------------------------------------------


@transaction.atomic
def integration_enable(*, integration: Integration) -> Integration:
    from ..selectors import validate_mapping

    if integration.is_template:
        raise ApplicationError(
            "A template is not synced itself: enable the workspace integrations made from it.",
            field="state",
        )
    result = validate_mapping(integration)
    if not result["valid"]:
        blocking = [p["message"] for p in result["problems"] if p["severity"] == "error"]
        for row in result["rows"]:
            blocking += [p["message"] for p in row["problems"] if p["severity"] == "error"]
        raise ApplicationError(
            "The integration cannot be enabled until its mapping is complete: "
            + " ".join(blocking),
            field="mappings",
            extra={"validation": result},
        )
    integration.state = Integration.State.ENABLED
    integration.last_completed_step = Integration.Step.ENABLE
    if not integration.webhook_secret_encrypted:
        integration.set_webhook_secret(secrets.token_urlsafe(32))
    integration.save()
    logger.info("Integration %s enabled", integration.pk)
    return integration


@transaction.atomic
def integration_disable(*, integration: Integration) -> Integration:
    if integration.state != Integration.State.ENABLED:
        raise ApplicationError("The integration is not enabled.", field="state")
    integration.state = Integration.State.DISABLED
    integration.save(update_fields=["state", "updated_at"])
    logger.info("Integration %s disabled", integration.pk)
    return integration


@transaction.atomic
def integration_rotate_webhook_token(
    *, integration: Integration, rotate_secret: bool = False
) -> Integration:
    """A new webhook URL (the old one stops working at once); optionally a new secret."""
    integration.webhook_token = new_webhook_token()
    if rotate_secret or not integration.webhook_secret_encrypted:
        integration.set_webhook_secret(secrets.token_urlsafe(32))
    integration.save()
    integration_webhook_changed.send(
        sender=Integration, integration=integration, reason="secret" if rotate_secret else "token"
    )
    logger.info("Integration %s webhook token rotated", integration.pk)
    return integration


def integration_webhook_secret(*, integration: Integration) -> str:
    """The secret Jira signs webhook bodies with, creating it the first time it is asked."""
    if not integration.webhook_secret_encrypted:
        integration.set_webhook_secret(secrets.token_urlsafe(32))
        integration.save(update_fields=["webhook_secret_encrypted", "updated_at"])
    return integration.get_webhook_secret()
