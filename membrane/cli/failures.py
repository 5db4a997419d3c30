"""How a command reports a refusal: its reason on standard error, and the exit status."""

from __future__ import annotations

import sys

from membrane.errors import InvalidInputError


def report(error: Exception) -> int:
    """Exit status 2 for bad input (as for bad arguments), 1 for anything else refused."""
    print(f"error: {error}", file=sys.stderr)
    return 2 if isinstance(error, InvalidInputError) else 1
