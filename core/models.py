from django.db import models


class WorkerHeartbeat(models.Model):
    """Written by a Celery task: proves a worker consumed from the broker and reached the
    database. The health page shows the latest; tests use it to prove a real worker runs."""

    token = models.CharField(max_length=64, db_index=True)
    hostname = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"{self.hostname} at {self.created_at:%Y-%m-%d %H:%M:%S}"
