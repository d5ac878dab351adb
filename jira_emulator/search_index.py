"""What JQL search sees: an index that trails the issues by a configurable lag.

Jira Cloud's ``/search/jql`` is eventually consistent (Atlassian, "Search after
write with search and reconcile"): an issue created a moment ago can be missing
from the results, one changed a moment ago can match (and render) as it was, and
one deleted a moment ago can still be found. ``lag_seconds`` (0 = no lag, the
default) makes the emulator behave so. Issue ids passed in ``reconcileIssues``
are read live, as on Jira.

The store notes every issue change (create, edit, transition, delete); while a
lag is set, each note keeps a copy of the issue as it then was, and a search
reads, per issue, the newest copy older than the lag. Issue links are always
read live.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import Issue, Store

# A copy noted at this time is older than any lag: the state before the lag was set.
_ALWAYS = float("-inf")


class SearchIndex:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._lag = 0.0
        self._lock = threading.Lock()
        # issue id -> [(monotonic time noted, copy of the issue, or None once deleted)]
        self._history: dict[int, list[tuple[float, Issue | None]]] = {}

    @property
    def lag_seconds(self) -> float:
        return self._lag

    @lag_seconds.setter
    def lag_seconds(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the search-index lag cannot be negative")
        with self._store.lock, self._lock:
            if seconds and not self._lag:
                # Everything that exists now was indexed long ago.
                self._history = {
                    iid: [(_ALWAYS, _copy(issue))] for iid, issue in self._store.issues.items()
                }
            if not seconds:
                self._history.clear()
            self._lag = float(seconds)

    def forget(self) -> None:
        """Drop the history and the lag (the store was cleared)."""
        with self._lock:
            self._history.clear()
            self._lag = 0.0

    def note(self, issue: Issue, *, deleted: bool = False) -> None:
        """Called by the store after every change to ``issue`` (before a delete)."""
        if not self._lag:
            return
        at = time.monotonic()
        with self._lock:
            entries = self._history.setdefault(issue.id, [])
            entries.append((at, None if deleted else _copy(issue)))
            # Keep the newest entry older than the lag and everything newer.
            cutoff = at - self._lag
            older = [n for n, (t, _) in enumerate(entries) if t <= cutoff]
            if older and older[-1] > 0:
                del entries[: older[-1]]

    def issues(self, reconcile: Iterable[int] = ()) -> list[Issue]:
        """The issues a search sees now: live without a lag, else as indexed."""
        live = self._store.issues
        if not self._lag:
            return list(live.values())
        wanted_live = set(reconcile)
        cutoff = time.monotonic() - self._lag
        out: list[Issue] = []
        with self._lock:
            ids = set(live) | set(self._history)
            for iid in sorted(ids):
                if iid in wanted_live:
                    if iid in live:
                        out.append(live[iid])
                    continue
                entries = self._history.get(iid)
                if entries is None:
                    # Never changed since the lag was set: the index has it as it is.
                    out.append(live[iid])
                    continue
                indexed = next((c for t, c in reversed(entries) if t <= cutoff), None)
                if indexed is not None:
                    out.append(self._consistent(indexed))
        return out

    def _consistent(self, indexed: Issue) -> Issue:
        # An old copy may point at a version or parent removed since; the index
        # would show them gone, and the renderer needs them to exist.
        store = self._store
        fix_versions = [v for v in indexed.fix_versions if v in store.versions]
        parent_id = indexed.parent_id if indexed.parent_id in store.issues else None
        if fix_versions == indexed.fix_versions and parent_id == indexed.parent_id:
            return indexed
        return dataclasses.replace(indexed, fix_versions=fix_versions, parent_id=parent_id)


def _copy(issue: Issue) -> Issue:
    return copy.deepcopy(issue)
