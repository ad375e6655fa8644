"""The tests of test_storage_streaming.py, run again with the sandbox's objects in a ``SharedObjectStore``."""

from __future__ import annotations

import test_storage_streaming
from shared_objects_helpers import app, live, rerun, spool  # noqa: F401 - fixtures

globals().update(rerun(test_storage_streaming))
