"""Export an integration's whole mapping as a JSON document, and import one into another
integration: validated fully first (every problem reported with its JSON path), then written
in one transaction. No secrets and no ids of this database; Jira's own ids are kept."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from core.exceptions import ApplicationError
from records.kinds import RecordKind

from .. import rules
from ..models import (
    FieldMapping,
    Integration,
    LinkedTo,
    RecordMapping,
    RelationshipMapping,
    ValueMapping,
)
from ..selectors import (
    effective_configuration,
    effective_project,
    record_mappings_effective,
    relationship_mappings_effective,
)
from .field_mappings import check_direction, check_local_field, resolve_jira_field, resolve_value
from .integrations import ensure_part_owned
from .relationships import (
    check_directions,
    check_link_type,
    check_record_kind,
    resolve_jira_link_type,
)

FORMAT = "roadmap-jira-mapping"
VERSION = 1
Part = Integration.Part


def mapping_export(*, integration: Integration) -> dict[str, Any]:
    project = effective_project(integration)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "source": {"project_key": project.key, "integration_name": integration.name},
        "record_mappings": [
            {
                "record_kind": m.record_kind,
                "target": m.target,
                "issue_types": [
                    {k: t.get(k) for k in ("id", "name", "hierarchy_level", "subtask")}
                    for t in m.issue_types or []
                ],
                "default_issue_type_id": m.default_issue_type_id,
                "linked_to": [
                    {"parent_kind": link.parent_kind, "jira_field": link.jira_field}
                    for link in m.linked_to.all()
                ],
                "field_mappings": [
                    {
                        "local_field": fm.local_field,
                        "jira_field_id": fm.jira_field_id,
                        "jira_field_name": fm.jira_field_name,
                        "direction": fm.direction,
                        "value_mappings": [
                            {
                                "local_value": vm.local_value,
                                "jira_value_id": vm.jira_value_id,
                                "jira_value_name": vm.jira_value_name,
                            }
                            for vm in fm.value_mappings.all()
                        ],
                    }
                    for fm in m.field_mappings.all()
                ],
            }
            for m in record_mappings_effective(integration)
        ],
        "relationship_mappings": [
            {
                "record_kind": r.record_kind,
                "link_type": r.link_type,
                "jira_link_type_id": r.jira_link_type_id,
                "jira_link_type_name": r.jira_link_type_name,
                "jira_direction": r.jira_direction,
                "sync_direction": r.sync_direction,
            }
            for r in relationship_mappings_effective(integration)
        ],
        "settings": {
            "auto_import": integration.auto_import,
            "require_approval": integration.require_approval,
        },
    }


class _Collector:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def check(self, path: str, fn, *args, **kwargs):
        """Run a service check; its refusal is recorded at ``path`` (plus its field)."""
        try:
            return fn(*args, **kwargs)
        except ApplicationError as exc:
            for name, messages in (exc.fields or {"": [exc.message]}).items():
                where = f"{path}.{name}" if name else path
                for message in messages:
                    self.add(where, message)
            return None


def _obj(value: Any, path: str, errors: _Collector) -> dict | None:
    if not isinstance(value, dict):
        errors.add(path, "Expected an object.")
        return None
    return value


def _list(value: Any, path: str, errors: _Collector) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(path, "Expected a list.")
        return []
    return value


def _validate(
    document: Any, configuration: dict
) -> tuple[list[dict], list[dict], dict, _Collector]:
    """Check everything, resolving names and ids against the target's configuration."""
    errors = _Collector()
    doc = _obj(document, "$", errors)
    if doc is None:
        return [], [], {}, errors
    if doc.get("format") != FORMAT:
        errors.add("$.format", f"This is not a mapping export: 'format' must be '{FORMAT}'.")
    if doc.get("version") != VERSION:
        errors.add(
            "$.version",
            f"Version {doc.get('version')!r} is not supported: this product reads {VERSION}.",
        )
    if errors.errors:
        return [], [], {}, errors
    if not configuration.get("issue_types"):
        errors.add(
            "$",
            "This integration has no Jira configuration loaded: choose its project and click "
            "Reload configuration, then import again.",
        )
        return [], [], {}, errors
    known_types = {str(t.get("id")): t for t in configuration.get("issue_types") or []}
    types_by_name = {str(t.get("name", "")).lower(): t for t in known_types.values()}

    rows: list[dict] = []
    seen: set[str] = set()
    for i, raw in enumerate(_list(doc.get("record_mappings"), "$.record_mappings", errors)):
        path = f"$.record_mappings[{i}]"
        row = _obj(raw, path, errors)
        if row is None:
            continue
        kind = row.get("record_kind")
        if kind not in RecordKind.values:
            errors.add(f"{path}.record_kind", f"'{kind}' is not a record type.")
            continue
        if kind in seen:
            errors.add(f"{path}.record_kind", f"{kind} appears twice: a record type appears once.")
            continue
        seen.add(kind)
        target = row.get("target") or RecordMapping.Target.ISSUE_TYPE
        if target not in RecordMapping.Target.values:
            errors.add(f"{path}.target", "The target is 'issue_type' or 'version'.")
            continue
        if target == RecordMapping.Target.VERSION and kind != RecordKind.RELEASE:
            errors.add(f"{path}.target", "Only releases can map to Jira versions.")
            continue
        refs: list[dict] = []
        if target == RecordMapping.Target.ISSUE_TYPE:
            issue_types = _list(row.get("issue_types"), f"{path}.issue_types", errors)
            if not issue_types:
                errors.add(f"{path}.issue_types", "Map the row to at least one Jira issue type.")
            for j, it in enumerate(issue_types):
                it_path = f"{path}.issue_types[{j}]"
                if not isinstance(it, dict):
                    errors.add(it_path, "Expected an object with 'id' and 'name'.")
                    continue
                found = known_types.get(str(it.get("id"))) or types_by_name.get(
                    str(it.get("name", "")).lower()
                )
                if found is None:
                    errors.add(
                        it_path,
                        f"Jira has no issue type '{it.get('name')}' ({it.get('id')}) in this "
                        "integration's project.",
                    )
                    continue
                refs.append(rules.issue_type_ref(found))
        default = str(row.get("default_issue_type_id") or "")
        if refs and default not in {r["id"] for r in refs}:
            # The default's Jira id may differ on another site: follow it by name.
            old = next(
                (
                    t
                    for t in row.get("issue_types") or []
                    if isinstance(t, dict) and str(t.get("id")) == default
                ),
                None,
            )
            match = next(
                (r for r in refs if old and r["name"].lower() == str(old.get("name", "")).lower()),
                None,
            )
            if match:
                default = match["id"]
            elif default:
                errors.add(
                    f"{path}.default_issue_type_id",
                    "The default issue type must be one of the row's issue types.",
                )
            else:
                default = refs[0]["id"]
        links = []
        for j, raw_link in enumerate(_list(row.get("linked_to"), f"{path}.linked_to", errors)):
            link = _obj(raw_link, f"{path}.linked_to[{j}]", errors)
            if link is not None:
                links.append(
                    (j, rules.Link(str(link.get("parent_kind")), str(link.get("jira_field"))))
                )
        fields = []
        for j, raw_fm in enumerate(
            _list(row.get("field_mappings"), f"{path}.field_mappings", errors)
        ):
            fm_path = f"{path}.field_mappings[{j}]"
            fm = _obj(raw_fm, fm_path, errors)
            if fm is None:
                continue
            local_field = str(fm.get("local_field", ""))
            ok = errors.check(fm_path, check_local_field, kind, local_field)
            ok_dir = errors.check(fm_path, check_direction, str(fm.get("direction", "both")))
            resolved = errors.check(
                fm_path,
                resolve_jira_field,
                record_kind=kind,
                target=target,
                issue_type_ids=[r["id"] for r in refs],
                configuration=configuration,
                jira_field_id=str(fm.get("jira_field_id", "")),
            )
            values = []
            for k, raw_vm in enumerate(
                _list(fm.get("value_mappings"), f"{fm_path}.value_mappings", errors)
            ):
                vm_path = f"{fm_path}.value_mappings[{k}]"
                vm = _obj(raw_vm, vm_path, errors)
                if vm is None:
                    continue
                value = errors.check(
                    vm_path,
                    resolve_value,
                    record_kind=kind,
                    target=target,
                    local_field=local_field,
                    configuration=configuration,
                    local_value=vm.get("local_value", ""),
                    jira_value_id=vm.get("jira_value_id", ""),
                    jira_value_name=vm.get("jira_value_name", ""),
                )
                if value:
                    values.append(value)
            if resolved and any(
                f["local_field"] == local_field and f["jira_field_id"] == resolved[0]
                for f in fields
            ):
                errors.add(fm_path, f"{local_field} is mapped to {resolved[1]} twice on this row.")
            elif ok is None and ok_dir is None and resolved:
                fields.append(
                    {
                        "local_field": local_field,
                        "jira_field_id": resolved[0],
                        "jira_field_name": resolved[1],
                        "direction": str(fm.get("direction", "both")),
                        "values": values,
                    }
                )
        rows.append(
            {
                "path": path,
                "row": rules.Row(
                    kind, target, tuple(refs), default, tuple(link for _, link in links)
                ),
                "link_paths": [j for j, _ in links],
                "fields": fields,
            }
        )
    # Linked to, now that every row is known.
    all_rows = [r["row"] for r in rows]
    for index, entry in enumerate(rows):
        for j, link in zip(entry["link_paths"], entry["row"].linked_to, strict=True):
            link_path = f"{entry['path']}.linked_to[{j}]"
            without = rules.Row(
                entry["row"].kind,
                entry["row"].target,
                entry["row"].issue_types,
                entry["row"].default_issue_type_id,
                tuple(
                    x
                    for x in entry["row"].linked_to
                    if x is not link and x.parent_kind != link.parent_kind
                ),
            )
            candidate = [*all_rows[:index], without, *all_rows[index + 1 :]]
            check = rules.check_new_linked_to(candidate, index, link)
            if not check.ok:
                errors.add(f"{link_path}.{check.field}", check.message)

    relationships = []
    for i, raw in enumerate(
        _list(doc.get("relationship_mappings"), "$.relationship_mappings", errors)
    ):
        path = f"$.relationship_mappings[{i}]"
        rel = _obj(raw, path, errors)
        if rel is None:
            continue
        a = errors.check(path, check_record_kind, str(rel.get("record_kind")))
        b = errors.check(path, check_link_type, str(rel.get("link_type")))
        c = errors.check(
            path,
            check_directions,
            str(rel.get("jira_direction", "outward")),
            str(rel.get("sync_direction", "both")),
        )
        resolved = errors.check(
            path, resolve_jira_link_type, configuration, str(rel.get("jira_link_type_id", ""))
        )
        if a is None and b is None and c is None and resolved:
            relationships.append(
                {
                    "record_kind": rel["record_kind"],
                    "link_type": rel["link_type"],
                    "jira_link_type_id": resolved[0],
                    "jira_link_type_name": resolved[1],
                    "jira_direction": str(rel.get("jira_direction", "outward")),
                    "sync_direction": str(rel.get("sync_direction", "both")),
                }
            )
    settings = doc.get("settings") or {}
    if not isinstance(settings, dict):
        errors.add("$.settings", "Expected an object.")
        settings = {}
    for key in ("auto_import", "require_approval"):
        if key in settings and not isinstance(settings[key], bool):
            errors.add(f"$.settings.{key}", "Expected true or false.")
    return rows, relationships, settings, errors


def mapping_import(*, integration: Integration, document: Any) -> Integration:
    """Replace the integration's record mappings (with Linked to, field and value mappings),
    record link mappings and settings with the document's, or refuse with every problem."""
    rows, relationships, settings, errors = _validate(
        document, effective_configuration(integration)
    )
    if errors.errors:
        count = sum(len(m) for m in errors.errors.values())
        first_path, first = next(iter(errors.errors.items()))
        raise ApplicationError(
            f"The mapping was not imported: {count} problem(s). First, at {first_path}: {first[0]}",
            fields=errors.errors,
            code="import_invalid",
        )
    with transaction.atomic():
        ensure_part_owned(integration=integration, part=Part.RECORD_MAPPINGS)
        ensure_part_owned(integration=integration, part=Part.RELATIONSHIP_MAPPINGS)
        RecordMapping.objects.filter(integration=integration).delete()
        RelationshipMapping.objects.filter(integration=integration).delete()
        for position, entry in enumerate(rows):
            row: rules.Row = entry["row"]
            mapping = RecordMapping.objects.create(
                integration=integration,
                position=position,
                record_kind=row.kind,
                target=row.target,
                issue_types=list(row.issue_types),
                default_issue_type_id=row.default_issue_type_id,
            )
            for i, link in enumerate(row.linked_to):
                LinkedTo.objects.create(
                    record_mapping=mapping,
                    parent_kind=link.parent_kind,
                    jira_field=link.jira_field,
                    position=i,
                )
            for i, fm in enumerate(entry["fields"]):
                field_mapping = FieldMapping.objects.create(
                    record_mapping=mapping,
                    position=i,
                    local_field=fm["local_field"],
                    jira_field_id=fm["jira_field_id"],
                    jira_field_name=fm["jira_field_name"],
                    direction=fm["direction"],
                )
                for k, (local, jid, jname) in enumerate(fm["values"]):
                    ValueMapping.objects.create(
                        field_mapping=field_mapping,
                        position=k,
                        local_value=local,
                        jira_value_id=jid,
                        jira_value_name=jname,
                    )
        positions: dict[str, int] = {}
        for rel in relationships:
            position = positions.get(rel["record_kind"], 0)
            positions[rel["record_kind"]] = position + 1
            RelationshipMapping.objects.create(integration=integration, position=position, **rel)
        if "auto_import" in settings:
            integration.auto_import = settings["auto_import"]
        if "require_approval" in settings:
            integration.require_approval = settings["require_approval"]
        integration.save()
    return integration
