"""kombu's file-system transport (the embedded default's broker), publishing atomically.

kombu creates the message file in place and then writes it, while a worker that polls at that
moment moves it away regardless of the writer's lock: it reads an empty or half-written file and
the message is lost (the sweep re-sends it, minutes later). The faster the worker polls, the
likelier. Here the file is written under a name no queue reads, then renamed into place: a
rename within one directory is atomic, so a worker sees a whole message or none.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        folder = self.data_folder_out
        # kombu's own name (time first: workers take files in name order).
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        partial = os.path.join(folder, f".partial-{uuid.uuid4()}")  # matches no queue
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(folder, name))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
