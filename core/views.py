"""Health: what an operator or a load balancer asks. No secrets, no account data."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from .models import WorkerHeartbeat

WORKER_STALE_AFTER = timedelta(minutes=3)


@require_GET
def health(request):
    checks: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True}
    except Exception as exc:  # any driver error means the database is not usable
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}
    latest = (
        WorkerHeartbeat.objects.order_by("-created_at").first()
        if checks["database"]["ok"]
        else None
    )
    checks["worker"] = {
        "ok": bool(latest and timezone.now() - latest.created_at < WORKER_STALE_AFTER),
        "last_seen": latest.created_at.isoformat() if latest else None,
    }
    ok = checks["database"]["ok"]  # the web tier is healthy without a worker; it reports it
    return JsonResponse({"ok": ok, "checks": checks}, status=200 if ok else 503)
