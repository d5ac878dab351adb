"""A Jira Cloud emulator over real HTTP, for tests and local development.

Serves the subset of Jira's REST API (v2 and v3) the product uses and sends
Jira's webhooks over HTTP. No Django dependency.

    from jira_emulator import JiraEmulator
    emu = JiraEmulator(port=0).start()
    ...
    emu.stop()
"""

from .emulator import JiraEmulator
from .store import JiraError
from .webhooks import WebhookDelivery

__all__ = ["JiraEmulator", "JiraError", "WebhookDelivery"]
