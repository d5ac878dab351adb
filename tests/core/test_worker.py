import time

from core.models import WorkerHeartbeat
from core.tasks import heartbeat


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def test_a_real_worker_process_consumes_tasks_from_the_broker(celery_worker):
    heartbeat.delay("from-test")
    row = wait_for(lambda: WorkerHeartbeat.objects.filter(token="from-test").first())
    assert row is not None, f"no heartbeat from the worker; its log:\n{celery_worker.log()}"
    assert row.hostname.startswith("test-")


def test_health_reports_database_and_worker(client, db):
    body = client.get("/health/").json()
    assert body["ok"] is True
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["worker"]["ok"] is False  # no heartbeat yet
    WorkerHeartbeat.objects.create(token="beat", hostname="w1")
    assert client.get("/health/").json()["checks"]["worker"]["ok"] is True
