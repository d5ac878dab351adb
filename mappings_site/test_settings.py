"""Settings for the test suite: the real settings, with a Celery queue (and, on the embedded
broker, a folder) of the run's own, so a test run never shares tasks with a dev worker or
with another run. Worker processes started by tests get the same names through the
environment (tests/workers.py)."""

import os
import uuid

from .settings import *  # noqa: F403
from .settings import CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_BROKER_URL, VAR_DIR

CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE") or f"test-{uuid.uuid4().hex[:12]}"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "test-broker" / CELERY_TASK_DEFAULT_QUEUE
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,  # the transport's own (polling); the run's folders
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
    TEST_BROKER_DIR = str(_broker_dir)

# A test database of the run's own, so two runs at once (a developer's and an agent's, or CI's
# two passes) never share one.
_test_db = DATABASES["default"].setdefault("TEST", {})  # noqa: F405
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    if not os.environ.get("SQLITE_TEST_PATH"):
        _test_db["NAME"] = str(VAR_DIR / f"{CELERY_TASK_DEFAULT_QUEUE}.sqlite3")
else:
    _test_db["NAME"] = f"test_{DATABASES['default']['NAME']}_{CELERY_TASK_DEFAULT_QUEUE[5:]}"  # noqa: F405

# pytest-django runs tests with DEBUG off, where a real key is required: use a fixed test key.
FIELD_ENCRYPTION_KEYS = ["i5bG3mDpTLJQd6vVqLq0V8b8wqfJmH3g9Wl0F5n8mKQ="]

# Fast password hashing: tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
