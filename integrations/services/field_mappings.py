"""Field mappings below each record mapping row, and the value mappings of status, choice
and tag fields (SPEC.md "Field mappings"). Ordered; in each direction the first match wins."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from core.exceptions import ApplicationError
from records.kinds import kind_plural
from records.workflows import is_valid_status, statuses_for

from .. import rules
from ..fields import (
    ISSUE_DEFAULT_FIELD_MAPPINGS,
    LOCAL_FIELDS,
    VERSION_DEFAULT_FIELD_MAPPINGS,
    VERSION_FIELDS,
    issue_type_fields,
    local_fields_for,
)
from ..models import Direction, FieldMapping, Integration, RecordMapping, ValueMapping
from ..selectors import effective_configuration
from ..transform import default_status_value_map
from .integrations import UNSET, ensure_part_owned, owned_row

Part = Integration.Part


def next_position(qs) -> int:
    top = qs.aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def writable_record_mapping(*, integration: Integration, record_mapping_id) -> RecordMapping:
    return owned_row(
        integration=integration,
        part=Part.RECORD_MAPPINGS,
        copies_of="record_mappings",
        rows=RecordMapping.objects.filter(integration=integration),
        row_id=record_mapping_id,
        missing="That record mapping row is not in this integration.",
        field="record_mapping",
    )


def writable_field_mapping(*, integration: Integration, field_mapping_id) -> FieldMapping:
    return owned_row(
        integration=integration,
        part=Part.RECORD_MAPPINGS,
        copies_of="field_mappings",
        rows=FieldMapping.objects.select_related("record_mapping").filter(
            record_mapping__integration=integration
        ),
        row_id=field_mapping_id,
        missing="That field mapping is not in this integration.",
        field="field_mapping",
    )


# -- checks ----------------------------------------------------------------------------------


def check_local_field(record_kind: str, local_field: str, *, field: str = "local_field") -> None:
    if local_field not in {f.key for f in local_fields_for(record_kind)}:
        choices = ", ".join(f.key for f in local_fields_for(record_kind))
        raise ApplicationError(
            f"{kind_plural(record_kind)} have no field '{local_field}'. Choose one of: {choices}.",
            field=field,
        )


def check_direction(direction: str, *, field: str = "direction") -> None:
    if direction not in Direction.values:
        raise ApplicationError(
            f"The direction is one of: {', '.join(Direction.values)}.", field=field
        )


def resolve_jira_field(
    *,
    record_kind: str,
    target: str,
    issue_type_ids: list[str],
    configuration: dict,
    jira_field_id: str,
    field: str = "jira_field_id",
) -> tuple[str, str]:
    """(id, name) of the Jira field, which must exist for the row's issue types (or be a
    version attribute for a row mapped to versions). System fields every issue type has
    (status) count as existing although createmeta does not list them."""
    jira_field_id = str(jira_field_id or "").strip()
    if not jira_field_id:
        raise ApplicationError("Choose the Jira field.", field=field)
    if target == rules.VERSION:
        if jira_field_id not in VERSION_FIELDS:
            raise ApplicationError(
                f"A row mapped to Jira versions can map only to a version's "
                f"{', '.join(VERSION_FIELDS)}; '{jira_field_id}' is not one of them.",
                field=field,
            )
        return jira_field_id, VERSION_FIELDS[jira_field_id]
    fields = issue_type_fields(configuration)
    if not fields:
        raise ApplicationError(
            "No Jira fields are loaded for this integration: click Reload configuration first.",
            field=field,
        )
    for jira_field in fields:
        if str(jira_field.get("id")) != jira_field_id:
            continue
        scoped = [str(i) for i in jira_field.get("issue_type_ids") or []]
        if scoped and issue_type_ids and not set(scoped) & set(issue_type_ids):
            raise ApplicationError(
                f"Jira field '{jira_field.get('name')}' ({jira_field_id}) is not on the issue "
                f"types the {kind_plural(record_kind)} row maps to.",
                field=field,
            )
        return jira_field_id, str(jira_field.get("name") or jira_field_id)
    raise ApplicationError(
        f"Jira has no field '{jira_field_id}' in this project. Choose one from the list, or "
        "Reload configuration if it was added recently.",
        field=field,
    )


def resolve_value(
    *,
    record_kind: str,
    target: str,
    local_field: str,
    configuration: dict,
    local_value: str,
    jira_value_id: str = "",
    jira_value_name: str = "",
    path: str = "",
) -> tuple[str, str, str]:
    """(local value, jira id, jira name) of one value pair, checked."""
    local_value = str(local_value or "").strip()
    jira_value_id = str(jira_value_id or "").strip()
    jira_value_name = str(jira_value_name or "").strip()
    spec = LOCAL_FIELDS.get(local_field)
    if spec is None or not spec.value_mappable:
        raise ApplicationError(
            f"'{local_field}' has no values to configure: only status, choice-list and tag "
            "fields do.",
            field=f"{path}local_field" if path else "field_mapping",
        )
    if not local_value:
        raise ApplicationError("Enter the value here.", field=f"{path}local_value")
    if local_field == "status":
        if not is_valid_status(record_kind, local_value):
            keys = ", ".join(s.key for s in statuses_for(record_kind))
            raise ApplicationError(
                f"'{local_value}' is not a {kind_plural(record_kind)[:-1].lower()} status. "
                f"Use one of: {keys}.",
                field=f"{path}local_value",
            )
        if target == rules.VERSION:
            flag = (jira_value_id or jira_value_name).lower()
            if flag not in ("true", "false"):
                raise ApplicationError(
                    "A version is either released or not: the Jira value is 'true' or 'false'.",
                    field=f"{path}jira_value_name",
                )
            return local_value, flag, flag
        statuses = configuration.get("statuses") if configuration else None
        if not statuses:
            raise ApplicationError(
                "No Jira statuses are loaded for this integration: click Reload configuration "
                "first.",
                field=f"{path}jira_value_id",
            )
        for status in statuses:
            if (jira_value_id and str(status.get("id")) == jira_value_id) or (
                not jira_value_id
                and jira_value_name
                and str(status.get("name", "")).lower() == jira_value_name.lower()
            ):
                return local_value, str(status["id"]), str(status.get("name", ""))
        shown = jira_value_name or jira_value_id
        raise ApplicationError(
            f"Jira has no status '{shown}' in this project. Choose one from the list, or "
            "Reload configuration if it was added recently.",
            field=f"{path}jira_value_id" if jira_value_id else f"{path}jira_value_name",
        )
    if not jira_value_name and not jira_value_id:
        raise ApplicationError("Enter the Jira value.", field=f"{path}jira_value_name")
    return local_value, jira_value_id, jira_value_name or jira_value_id


# -- field mappings --------------------------------------------------------------------------


def _issue_type_ids(mapping: RecordMapping) -> list[str]:
    return [str(t.get("id")) for t in mapping.issue_types or []]


@transaction.atomic
def field_mapping_add(
    *,
    integration: Integration,
    record_mapping_id,
    local_field: str,
    jira_field_id: str,
    direction: str = Direction.BOTH,
) -> FieldMapping:
    mapping = writable_record_mapping(integration=integration, record_mapping_id=record_mapping_id)
    check_local_field(mapping.record_kind, local_field)
    check_direction(direction)
    jira_id, jira_name = resolve_jira_field(
        record_kind=mapping.record_kind,
        target=mapping.target,
        issue_type_ids=_issue_type_ids(mapping),
        configuration=effective_configuration(integration),
        jira_field_id=jira_field_id,
    )
    if mapping.field_mappings.filter(local_field=local_field, jira_field_id=jira_id).exists():
        raise ApplicationError(
            f"{local_field} is already mapped to {jira_name} on this row.", field="jira_field_id"
        )
    return FieldMapping.objects.create(
        record_mapping=mapping,
        position=next_position(mapping.field_mappings.all()),
        local_field=local_field,
        jira_field_id=jira_id,
        jira_field_name=jira_name,
        direction=direction,
    )


@transaction.atomic
def field_mapping_update(
    *,
    integration: Integration,
    field_mapping_id,
    local_field: str = UNSET,
    jira_field_id: str = UNSET,
    direction: str = UNSET,
) -> FieldMapping:
    fm = writable_field_mapping(integration=integration, field_mapping_id=field_mapping_id)
    mapping = fm.record_mapping
    if local_field is not UNSET:
        check_local_field(mapping.record_kind, local_field)
        fm.local_field = local_field
    if jira_field_id is not UNSET:
        fm.jira_field_id, fm.jira_field_name = resolve_jira_field(
            record_kind=mapping.record_kind,
            target=mapping.target,
            issue_type_ids=_issue_type_ids(mapping),
            configuration=effective_configuration(integration),
            jira_field_id=jira_field_id,
        )
    if direction is not UNSET:
        check_direction(direction)
        fm.direction = direction
    duplicate = (
        FieldMapping.objects.filter(
            record_mapping=mapping, local_field=fm.local_field, jira_field_id=fm.jira_field_id
        )
        .exclude(pk=fm.pk)
        .exists()
    )
    if duplicate:
        raise ApplicationError(
            f"{fm.local_field} is already mapped to {fm.jira_field_name} on this row.",
            field="jira_field_id",
        )
    if not (LOCAL_FIELDS[fm.local_field].value_mappable):
        fm.value_mappings.all().delete()
    fm.save()
    return fm


@transaction.atomic
def field_mapping_remove(*, integration: Integration, field_mapping_id) -> None:
    writable_field_mapping(integration=integration, field_mapping_id=field_mapping_id).delete()


def _reorder(qs, ordered_ids: list[Any], *, what: str, field: str = "ids") -> None:
    existing = list(qs.order_by("position", "id"))
    by_id = {obj.pk: obj for obj in existing}
    try:
        ids = [int(i) for i in ordered_ids]
    except (TypeError, ValueError):
        raise ApplicationError(f"Send the {what} ids as a list of numbers.", field=field) from None
    if sorted(ids) != sorted(by_id) or len(set(ids)) != len(ids):
        raise ApplicationError(
            f"Send every {what} id exactly once, in the new order (expected {sorted(by_id)}).",
            field=field,
        )
    for position, pk in enumerate(ids):
        obj = by_id[pk]
        if obj.position != position:
            obj.position = position
            obj.save(update_fields=["position"])


def _translate_ids(ids: list[Any], id_map: dict) -> list[Any]:
    out = []
    for value in ids:
        try:
            key = int(value)
        except (TypeError, ValueError):
            out.append(value)
            continue
        out.append(id_map[key].pk if key in id_map else key)
    return out


@transaction.atomic
def field_mappings_reorder(
    *, integration: Integration, record_mapping_id, ordered_ids: list[Any]
) -> None:
    id_map = ensure_part_owned(integration=integration, part=Part.RECORD_MAPPINGS)
    mapping = writable_record_mapping(integration=integration, record_mapping_id=record_mapping_id)
    ordered_ids = _translate_ids(ordered_ids, id_map.get("field_mappings", {}))
    _reorder(mapping.field_mappings.all(), ordered_ids, what="field mapping")


# -- value mappings --------------------------------------------------------------------------


@transaction.atomic
def value_mapping_add(
    *,
    integration: Integration,
    field_mapping_id,
    local_value: str,
    jira_value_id: str = "",
    jira_value_name: str = "",
) -> ValueMapping:
    fm = writable_field_mapping(integration=integration, field_mapping_id=field_mapping_id)
    mapping = fm.record_mapping
    local, jid, jname = resolve_value(
        record_kind=mapping.record_kind,
        target=mapping.target,
        local_field=fm.local_field,
        configuration=effective_configuration(integration),
        local_value=local_value,
        jira_value_id=jira_value_id,
        jira_value_name=jira_value_name,
    )
    return ValueMapping.objects.create(
        field_mapping=fm,
        position=next_position(fm.value_mappings.all()),
        local_value=local,
        jira_value_id=jid,
        jira_value_name=jname,
    )


def _writable_value_mapping(*, integration: Integration, value_mapping_id) -> ValueMapping:
    return owned_row(
        integration=integration,
        part=Part.RECORD_MAPPINGS,
        copies_of="value_mappings",
        rows=ValueMapping.objects.select_related("field_mapping__record_mapping").filter(
            field_mapping__record_mapping__integration=integration
        ),
        row_id=value_mapping_id,
        missing="That value mapping is not in this integration.",
        field="value_mapping",
    )


@transaction.atomic
def value_mapping_update(
    *,
    integration: Integration,
    value_mapping_id,
    local_value: str = UNSET,
    jira_value_id: str = UNSET,
    jira_value_name: str = UNSET,
) -> ValueMapping:
    vm = _writable_value_mapping(integration=integration, value_mapping_id=value_mapping_id)
    fm = vm.field_mapping
    new_jira_id = vm.jira_value_id if jira_value_id is UNSET else jira_value_id
    new_jira_name = vm.jira_value_name if jira_value_name is UNSET else jira_value_name
    if jira_value_name is not UNSET and jira_value_id is UNSET:
        new_jira_id = ""  # a new name alone is looked up by name
    vm.local_value, vm.jira_value_id, vm.jira_value_name = resolve_value(
        record_kind=fm.record_mapping.record_kind,
        target=fm.record_mapping.target,
        local_field=fm.local_field,
        configuration=effective_configuration(integration),
        local_value=vm.local_value if local_value is UNSET else local_value,
        jira_value_id=new_jira_id,
        jira_value_name=new_jira_name,
    )
    vm.save()
    return vm


@transaction.atomic
def value_mapping_remove(*, integration: Integration, value_mapping_id) -> None:
    _writable_value_mapping(integration=integration, value_mapping_id=value_mapping_id).delete()


@transaction.atomic
def value_mappings_reorder(
    *, integration: Integration, field_mapping_id, ordered_ids: list[Any]
) -> None:
    id_map = ensure_part_owned(integration=integration, part=Part.RECORD_MAPPINGS)
    fm = writable_field_mapping(integration=integration, field_mapping_id=field_mapping_id)
    ordered_ids = _translate_ids(ordered_ids, id_map.get("value_mappings", {}))
    _reorder(fm.value_mappings.all(), ordered_ids, what="value mapping")


# -- defaults --------------------------------------------------------------------------------


def create_default_field_mappings(*, mapping: RecordMapping, configuration: dict) -> int:
    """The default field mappings for a row, with a status value map by category. Jira
    fields the project does not have are left out. Returns how many were created."""
    defaults = (
        VERSION_DEFAULT_FIELD_MAPPINGS
        if mapping.target == rules.VERSION
        else ISSUE_DEFAULT_FIELD_MAPPINGS
    )
    local_keys = {f.key for f in local_fields_for(mapping.record_kind)}
    known_fields = {str(f.get("id")) for f in issue_type_fields(configuration)}
    created = 0
    for position, default in enumerate(defaults):
        if default.local_field not in local_keys:
            continue
        if mapping.target != rules.VERSION and default.jira_field_id not in known_fields:
            continue
        fm = FieldMapping.objects.create(
            record_mapping=mapping,
            position=position,
            local_field=default.local_field,
            jira_field_id=default.jira_field_id,
            jira_field_name=default.jira_field_name,
            direction=default.direction,
        )
        created += 1
        if default.local_field == "status":
            ValueMapping.objects.bulk_create(
                ValueMapping(
                    field_mapping=fm,
                    position=i,
                    local_value=local_value,
                    jira_value_id=jira_id,
                    jira_value_name=jira_name,
                )
                for i, (local_value, jira_id, jira_name) in enumerate(
                    _default_status_pairs(mapping, configuration)
                )
            )
    return created


def _default_status_pairs(
    mapping: RecordMapping, configuration: dict
) -> list[tuple[str, str, str]]:
    """(local status, Jira id, Jira name): a version's released flag, or for issue types the
    recommended map by name then category over the statuses the row's issue types have."""
    if mapping.target == rules.VERSION:
        pairs = rules.version_status_pairs(mapping.record_kind)
        return [(p.local_value, p.jira_value_id, p.jira_value_name) for p in pairs]
    statuses = configuration.get("statuses") or []
    types = set(_issue_type_ids(mapping))
    on_types = [
        s for s in statuses if not s.get("issue_type_ids") or types & set(s["issue_type_ids"])
    ]
    # The stored configuration keeps Jira's category key flat; Jira nests it.
    jira_statuses = [
        {"id": s.get("id"), "name": s.get("name"), "statusCategory": {"key": s.get("category")}}
        for s in on_types or statuses
    ]
    return default_status_value_map(mapping.record_kind, jira_statuses)


@transaction.atomic
def field_mappings_apply_defaults(*, integration: Integration, record_mapping_id) -> RecordMapping:
    """Replace a row's field mappings with the defaults for its record type."""
    mapping = writable_record_mapping(integration=integration, record_mapping_id=record_mapping_id)
    configuration = effective_configuration(integration)
    if mapping.target != rules.VERSION and not configuration.get("fields"):
        raise ApplicationError(
            "No Jira fields are loaded for this integration: click Reload configuration first.",
            field="record_mapping",
        )
    mapping.field_mappings.all().delete()
    create_default_field_mappings(mapping=mapping, configuration=configuration)
    return mapping
