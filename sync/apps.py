from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Sync"

    def ready(self) -> None:
        # Record changes -> outbox entries, in the change's transaction.
        from . import receivers  # noqa: F401
