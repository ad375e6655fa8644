"""The tests of test_object_reads.py, run again with the sandbox's objects in a ``SharedObjectStore``."""

from __future__ import annotations

import test_object_reads
from shared_objects_helpers import app, live, rerun, spool  # noqa: F401 - fixtures

globals().update(rerun(test_object_reads))
