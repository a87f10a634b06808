"""Test-wide settings.

Every test runs the multi-threaded code paths (:mod:`compplan.threads`): parts of a single item and three
threads, so the tiny trees and order lists of the property tests are split at every possible boundary and the
engine still has to agree with the reference implementation. ``tests/test_threads.py`` checks that any thread
count gives byte-identical results. (Set at import time rather than in a fixture: hypothesis tests cannot use
function-scoped fixtures.)

Likewise every array that :mod:`compplan.arrays` allocates is pooled, however small (as member-sized arrays
are at millions of members), and a reused buffer is first filled with garbage: a pass that read an array
before writing it would then disagree with the reference implementation.
"""

from __future__ import annotations

import os

from compplan import arrays, threads

threads.MIN_PART = 1
arrays.POOL_MIN_BYTES = 1
arrays.POISON = 0xA5
os.environ["COMPPLAN_THREADS"] = "3"
