"""A Jira Cloud emulator over real HTTP, for tests and local development.

Serves the subset of Jira's REST API (v2 and v3) the product uses and sends
Jira's webhooks over HTTP. No Django dependency.

    from jira_emulator import JiraEmulator
    emu = JiraEmulator(port=0).start()
    ...
    emu.stop()

Faults (``emu.faults``, see ``server.Faults``) make it behave as Jira does on a
bad day: ``latency_seconds``; ``queue(...)`` for the next matching requests: an
error status (429/503 with ``Retry-After``, 500), a connection dropped before
the write, or an answer lost after the write was applied; ``search_lag_seconds``
for JQL search that trails writes (``search_index.py``); ``queue_webhook(...)``
and ``hold_webhooks`` with ``emu.release_webhooks(...)`` for duplicated, late and
reordered webhook deliveries.
"""

from .emulator import JiraEmulator
from .store import JiraError
from .webhooks import WebhookDelivery

__all__ = ["JiraEmulator", "JiraError", "WebhookDelivery"]
