"""How a command reports a refusal: its reason on standard error, and the exit status."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

from membrane.errors import DomainError, InvalidInputError


def report(error: Exception) -> int:
    """Exit status 2 for bad input (as for bad arguments), 1 for anything else refused."""
    print(f"error: {error}", file=sys.stderr)
    return 2 if isinstance(error, InvalidInputError) else 1


def run(work: Coroutine[Any, Any, int]) -> int:
    """Run a command's work on a tenant's store: its exit status, or a refusal or a database
    failure reported (in one line, without SQL or URLs)."""
    from sqlalchemy.exc import DBAPIError

    from membrane.secrets import SecretError
    from membrane.tenancy.provisioning import describe_failure

    try:
        return int(asyncio.run(work))
    except (DomainError, SecretError) as error:
        return report(error)
    except (DBAPIError, OSError) as error:
        print(f"error: the tenant's database failed ({describe_failure(error)})", file=sys.stderr)
        return 1
