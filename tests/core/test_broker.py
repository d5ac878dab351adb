"""The embedded default's broker: kombu's file-system transport, publishing atomically."""

import json
import os
import subprocess
import sys

from kombu import Connection

from core.broker import Transport


def test_a_message_file_never_shows_in_the_queue_before_it_is_whole(tmp_path):
    """A polling worker takes any file named for its queue; one it finds empty or half-written
    is lost. So while the message is being written, no file of the queue may exist."""
    seen_while_writing = []

    class Probe:
        def __json__(self):  # called by kombu's JSON encoder in the middle of the write
            seen_while_writing.extend(p.name for p in tmp_path.iterdir())
            return "probe"

    folders = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    with Connection("filesystem://", transport=Transport, transport_options=folders) as conn:
        channel = conn.default_channel
        channel._put("jobs", {"body": Probe()})
        assert not [name for name in seen_while_writing if name.endswith(".jobs.msg")]
        [name] = [p.name for p in tmp_path.iterdir()]  # the partial file was renamed, not left
        assert name.endswith(".jobs.msg")
        assert json.loads((tmp_path / name).read_text()) == {"body": "probe"}
        assert channel._get("jobs") == {"body": "probe"}


def test_the_embedded_default_publishes_through_it_and_polls_often(tmp_path):
    """What scripts/dev runs (no DATABASE_URL, no CELERY_BROKER_URL): the worker looks for new
    messages every 50 ms, not kombu's 1 s that made each edit wait on the embedded default."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="mappings_site.settings",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        CELERY_FILESYSTEM_DIR=str(tmp_path / "broker"),
    )
    code = (
        "import django; django.setup(); from mappings_site.celery import app; "
        "t = app.connection_for_write().transport; "
        "print(type(t).__module__, type(t).__name__, t.polling_interval)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["core.broker", "Transport", "0.05"]
