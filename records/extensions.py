"""What the apps above records add to its reads, without records importing them.

records sits below integrations and sync: it must not know their models. An app that keeps
data about records (the sync engine's Jira links) registers here, from its ``AppConfig.ready``:

- ``record_prefetch_add("jira_links")``: loaded with every record a selector returns, in one
  query per list;
- ``record_api_field_add("jira", factory)``: a read-only field of every record serializer
  (placed before the timestamps), built by ``factory()`` so each serializer gets its own.
"""

from __future__ import annotations

from collections.abc import Callable

from rest_framework import serializers

_prefetches: list[str] = []
_api_fields: dict[str, Callable[[], serializers.Field]] = {}


def record_prefetch_add(lookup: str) -> None:
    if lookup not in _prefetches:
        _prefetches.append(lookup)


def record_prefetches() -> tuple[str, ...]:
    return tuple(_prefetches)


def record_api_field_add(name: str, factory: Callable[[], serializers.Field]) -> None:
    _api_fields[name] = factory


def record_api_fields() -> dict[str, serializers.Field]:
    return {name: factory() for name, factory in _api_fields.items()}
