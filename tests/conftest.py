"""Test-wide settings.

Every test runs the multi-threaded code paths (:mod:`compplan.threads`): parts of a single item and three
threads, so the tiny trees and order lists of the property tests are split at every possible boundary and the
engine still has to agree with the reference implementation. ``tests/test_threads.py`` checks that any thread
count gives byte-identical results. (Set at import time rather than in a fixture: hypothesis tests cannot use
function-scoped fixtures.)
"""

from __future__ import annotations

import os

from compplan import threads

threads.MIN_PART = 1
os.environ["COMPPLAN_THREADS"] = "3"
