"""Shared test setup: a deterministic hypothesis profile.

Every property test runs the same examples on every run (``derandomize``),
with no per-example deadline (the first call of an op may compile) and few
examples by default. ``HYPOTHESIS_PROFILE=thorough`` runs more.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("fnflow", derandomize=True, deadline=None, max_examples=10, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("thorough", parent=settings.get_profile("fnflow"), max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fnflow"))
