"""The fuzz tests' budget: at least 100,000 inputs a CI run, fed in examples of :data:`BATCH`.

Shared by ``tests/fuzz/test_frame_decoder_fuzz.py`` and ``tests/fuzz/test_profile_loader_fuzz.py``
(docs/fuzzing.md): both run :data:`EXAMPLES` derandomized hypothesis examples of :data:`BATCH`
inputs each, under :func:`fuzz_settings`, and check at the end that :data:`MIN_INPUTS` were fed.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from tiers import examples

__all__ = ["BATCH", "CI_EXAMPLES", "EXAMPLES", "MIN_INPUTS", "fuzz_settings"]

BATCH = 50
"""Inputs per example."""

CI_EXAMPLES = 2_000
"""Examples on the ``ci`` profile: CI_EXAMPLES × BATCH = 100,000 inputs a CI run."""

EXAMPLES = examples(CI_EXAMPLES)
"""Examples this run, scaled by the hypothesis profile (a quarter on ``dev``; docs/testing.md)."""

MIN_INPUTS = 100_000 if EXAMPLES >= CI_EXAMPLES else EXAMPLES * BATCH
"""Inputs a run must have fed: 100,000 on ``ci``, all its examples' inputs on a smaller profile."""


def fuzz_settings(*suppress: HealthCheck) -> settings:
    """:data:`EXAMPLES` examples, the same every run, no deadline and no example database; a batch
    is slow by design (``too_slow`` is suppressed) and so are the health checks in ``suppress``."""
    return settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, *suppress],
    )
