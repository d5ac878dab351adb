"""Reads of integrations and their mappings.

Template inheritance is resolved here: each ``*_effective`` selector reads a part from the
account template unless the workspace integration overrode that part (copy-on-write, see
integrations.models). The sync engine and the API read mappings only through these.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet

from accounts.policy import member_account_ids
from records.kinds import kind_plural

from . import rules
from .fields import LOCAL_FIELDS, VERSION_FIELDS, issue_type_fields
from .models import FieldMapping, Integration, LinkedTo, RecordMapping, RelationshipMapping

Part = Integration.Part


def integration_list_for_user(*, user: AbstractBaseUser) -> QuerySet[Integration]:
    """Integrations (templates included) of every account the user belongs to."""
    return Integration.objects.filter(account_id__in=member_account_ids(user)).select_related(
        "account", "workspace", "template"
    )


def integration_get_for_user(*, user: AbstractBaseUser, integration_id) -> Integration | None:
    try:
        integration_id = int(integration_id)
    except (TypeError, ValueError):
        return None
    return integration_list_for_user(user=user).filter(pk=integration_id).first()


# -- inheritance -----------------------------------------------------------------------------


def part_source(integration: Integration, part: str) -> Integration:
    """The integration whose values serve ``part``: the template while it is inherited."""
    if integration.inherits(part) and integration.template is not None:
        return integration.template
    return integration


def configuration_source(integration: Integration) -> Integration:
    """Where Reload configuration stores what it fetched: the template while both the
    connection and the project come from it, else the integration itself."""
    if (
        integration.template is not None
        and integration.inherits(Part.CONNECTION)
        and integration.inherits(Part.PROJECT)
    ):
        return integration.template
    return integration


def effective_configuration(integration: Integration) -> dict:
    return configuration_source(integration).configuration or {}


@dataclass(frozen=True)
class ConnectionView:
    deployment: str
    base_url: str
    email: str
    api_token_set: bool
    personal_access_token_set: bool
    inherited: bool

    @property
    def complete(self) -> bool:
        if not self.base_url:
            return False
        if self.deployment == Integration.Deployment.DATA_CENTER:
            return self.personal_access_token_set
        return bool(self.email) and self.api_token_set


def effective_connection(integration: Integration) -> ConnectionView:
    source = part_source(integration, Part.CONNECTION)
    return ConnectionView(
        deployment=source.deployment,
        base_url=source.base_url,
        email=source.email,
        api_token_set=bool(source.api_token_encrypted),
        personal_access_token_set=bool(source.personal_access_token_encrypted),
        inherited=source is not integration,
    )


@dataclass(frozen=True)
class ProjectView:
    id: str
    key: str
    name: str
    inherited: bool


def effective_project(integration: Integration) -> ProjectView:
    source = part_source(integration, Part.PROJECT)
    return ProjectView(
        source.project_id, source.project_key, source.project_name, source is not integration
    )


def record_mappings_effective(integration: Integration) -> list[RecordMapping]:
    source = part_source(integration, Part.RECORD_MAPPINGS)
    return list(
        RecordMapping.objects.filter(integration=source)
        .order_by("position", "id")
        .prefetch_related(
            Prefetch("linked_to", queryset=LinkedTo.objects.order_by("position", "id")),
            Prefetch(
                "field_mappings",
                queryset=FieldMapping.objects.order_by("position", "id").prefetch_related(
                    "value_mappings"
                ),
            ),
        )
    )


def record_mapping_for_kind(integration: Integration, record_kind: str) -> RecordMapping | None:
    for mapping in record_mappings_effective(integration):
        if mapping.record_kind == record_kind:
            return mapping
    return None


def relationship_mappings_effective(
    integration: Integration, record_kind: str | None = None
) -> list[RelationshipMapping]:
    source = part_source(integration, Part.RELATIONSHIP_MAPPINGS)
    qs = RelationshipMapping.objects.filter(integration=source)
    if record_kind:
        qs = qs.filter(record_kind=record_kind)
    return list(qs.order_by("record_kind", "position", "id"))


# -- rows for the rules ----------------------------------------------------------------------


def row_from_mapping(mapping: RecordMapping) -> rules.Row:
    return rules.Row(
        kind=mapping.record_kind,
        target=mapping.target,
        issue_types=tuple(mapping.issue_types or ()),
        default_issue_type_id=mapping.default_issue_type_id,
        linked_to=tuple(
            rules.Link(link.parent_kind, link.jira_field) for link in mapping.linked_to.all()
        ),
    )


# -- first match wins ------------------------------------------------------------------------


def _relationship_pairs(integration: Integration, record_kind: str) -> list[rules.RelationshipPair]:
    return [
        rules.RelationshipPair(
            m.link_type, m.jira_link_type_id, m.jira_direction, m.sync_direction, ref=m
        )
        for m in relationship_mappings_effective(integration, record_kind)
    ]


def relationship_for_outgoing(
    integration: Integration, record_kind: str, link_type: str
) -> RelationshipMapping | None:
    """The Jira link type a record link of ``link_type`` becomes: the first matching pair."""
    pair = rules.relationship_outgoing(_relationship_pairs(integration, record_kind), link_type)
    return pair.ref if pair else None


def relationship_for_incoming(
    integration: Integration, record_kind: str, jira_link_type_id: str, jira_direction: str
) -> RelationshipMapping | None:
    """The record link type a Jira issue link becomes: the first matching pair."""
    link_types = {
        str(t.get("id")): t for t in effective_configuration(integration).get("link_types") or []
    }
    known = link_types.get(str(jira_link_type_id))
    symmetric = (
        bool(known) and (known.get("inward") or "").lower() == (known.get("outward") or "").lower()
    )
    pair = rules.relationship_incoming(
        _relationship_pairs(integration, record_kind),
        str(jira_link_type_id),
        jira_direction,
        symmetric=symmetric,
    )
    return pair.ref if pair else None


# -- warnings --------------------------------------------------------------------------------


def _field_label(key: str) -> str:
    local = LOCAL_FIELDS.get(key)
    return local.label if local else key


def _configuration_reference_problems(
    integration: Integration, mappings: list[RecordMapping], configuration: dict
) -> list[rules.Problem]:
    problems: list[rules.Problem] = []
    if not configuration:
        return problems
    project_key = (configuration.get("project") or {}).get("key", "")
    fields = {str(f.get("id")): f for f in issue_type_fields(configuration)}
    statuses = {str(s.get("id")) for s in configuration.get("statuses") or []}
    for index, mapping in enumerate(mappings):
        where = f"Row {index + 1} ({kind_plural(mapping.record_kind)})"
        for fm in mapping.field_mappings.all():
            if mapping.target == rules.VERSION:
                if fm.jira_field_id not in VERSION_FIELDS:
                    problems.append(
                        rules.Problem(
                            f"{where} maps {fm.local_field} to '{fm.jira_field_id}', which is "
                            "not a Jira version attribute.",
                            index,
                            "error",
                            "field_gone",
                        )
                    )
                continue
            if fm.jira_field_id not in fields:
                problems.append(
                    rules.Problem(
                        f"{where} maps {_field_label(fm.local_field)} "
                        f"to field '{fm.jira_field_name or fm.jira_field_id}' "
                        f"({fm.jira_field_id}), which Jira no longer has in project {project_key}.",
                        index,
                        "warning",
                        "field_gone",
                    )
                )
                continue
            if fm.local_field == "status":
                for vm in fm.value_mappings.all():
                    if vm.jira_value_id and vm.jira_value_id not in statuses:
                        problems.append(
                            rules.Problem(
                                f"{where} maps status '{vm.local_value}' to Jira status "
                                f"'{vm.jira_value_name}' ({vm.jira_value_id}), which Jira no "
                                f"longer has in project {project_key}.",
                                index,
                                "warning",
                                "status_gone",
                            )
                        )
    link_types = {str(t.get("id")) for t in configuration.get("link_types") or []}
    for rel in relationship_mappings_effective(integration):
        if rel.jira_link_type_id not in link_types:
            problems.append(
                rules.Problem(
                    f"{kind_plural(rel.record_kind)}: record links '{rel.get_link_type_display()}' "
                    f"map to issue link type '{rel.jira_link_type_name}' "
                    f"({rel.jira_link_type_id}), which Jira no longer has.",
                    None,
                    "warning",
                    "link_type_gone",
                )
            )
    return problems


def integration_warnings(integration: Integration) -> list[rules.Problem]:
    """Every problem with the integration, in words, with where it is."""
    problems: list[rules.Problem] = []
    connection = effective_connection(integration)
    project = effective_project(integration)
    configuration = effective_configuration(integration)
    if not connection.complete:
        problems.append(
            rules.Problem(
                "The Jira connection is not complete: enter the site URL and credentials on the "
                "Connect step.",
                None,
                "error",
                "no_connection",
            )
        )
    if not project.key:
        problems.append(
            rules.Problem(
                "No Jira project is chosen: choose one on the Project step.",
                None,
                "error",
                "no_project",
            )
        )
    if not configuration:
        problems.append(
            rules.Problem(
                "No Jira configuration is loaded yet: click Reload configuration to fetch the "
                "project's issue types, fields, statuses, versions and link types.",
                None,
                "warning",
                "no_configuration",
            )
        )
    mappings = record_mappings_effective(integration)
    rows = [row_from_mapping(m) for m in mappings]
    if not rows:
        problems.append(
            rules.Problem(
                "There are no record mappings: add rows, or apply the recommended defaults.",
                None,
                "error",
                "no_record_mappings",
            )
        )
    deployment = connection.deployment
    problems.extend(rules.linked_to_problems(rows, deployment))
    problems.extend(rules.configuration_problems(rows, configuration))
    problems.extend(_configuration_reference_problems(integration, mappings, configuration))
    return problems


def validate_mapping(integration: Integration) -> dict:
    """What the wizard's "Save and continue" needs: problems per row, and whether any blocks."""
    problems = integration_warnings(integration)
    mappings = record_mappings_effective(integration)
    rows = []
    for index, mapping in enumerate(mappings):
        rows.append(
            {
                "id": mapping.id,
                "record_kind": mapping.record_kind,
                "problems": [p.as_dict() for p in problems if p.row == index],
            }
        )
    general = [p.as_dict() for p in problems if p.row is None]
    return {
        "valid": not any(p.severity == "error" for p in problems),
        "rows": rows,
        "problems": general,
    }
