"""How many examples a property test tries: its full count under Hypothesis's default profile (`make test`,
CI), a fifth of it under the "fast" profile that `make test-fast` selects (tests/conftest.py registers it).
A test that names its own count scales it here, since an explicit count would override any profile."""

from __future__ import annotations

from hypothesis import settings

FULL = settings.get_profile("default").max_examples


def examples(full: int) -> int:
    """`full` examples in the full profile, proportionally fewer (at least 10) in a lighter one."""
    return max(10, full * settings().max_examples // FULL)  # settings(): the active profile's
