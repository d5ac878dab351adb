import pytest

from accounts.models import Role
from tests.factories import add_member, make_account, make_user, make_workspace


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache (per process): each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def owner(db):
    return make_user("owner")


@pytest.fixture
def account(owner):
    return make_account(owner=owner, name="Acme")


@pytest.fixture
def workspace(account):
    return make_workspace(account=account, prefix="APP", name="App")


@pytest.fixture
def viewer(account):
    return add_member(account, role=Role.VIEWER)


@pytest.fixture
def contributor(account):
    return add_member(account, role=Role.CONTRIBUTOR)


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """A real Celery worker process on the configured broker (Redis or the embedded file
    system one) and the test database. Yields the WorkerProcess; stops it afterwards."""
    from tests.workers import WorkerProcess

    worker = WorkerProcess(log_path=tmp_path / "worker.log").start()
    try:
        yield worker
    finally:
        worker.stop()


def pytest_sessionfinish(session, exitstatus):
    """Remove this run's folder of the embedded broker (test_settings gives each run one)."""
    import shutil

    from django.conf import settings

    broker_dir = getattr(settings, "TEST_BROKER_DIR", None)
    if broker_dir:
        shutil.rmtree(broker_dir, ignore_errors=True)
