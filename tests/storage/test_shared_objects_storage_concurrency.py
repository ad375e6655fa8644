"""The tests of test_storage_concurrency.py, run again with the sandbox's objects shared."""

from __future__ import annotations

import test_storage_concurrency
from shared_objects_helpers import app, live, rerun, spool  # noqa: F401 - fixtures

globals().update(rerun(test_storage_concurrency))
