"""Bounded retries with backoff for a cluster that is briefly unavailable (a master election,
a node restarting). Anything else (a 4xx from a bad request) is raised at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import opensearchpy
from elasticsearch import ApiError, ConnectionError, ConnectionTimeout

from esdr.errors import EsdrError
from esdr.es.client import status_of

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({429, 502, 503, 504})


def is_transient(error: Exception) -> bool:
    """No answer, or an answer that says "later", from either engine's client library."""
    if isinstance(error, (ConnectionError, ConnectionTimeout, opensearchpy.ConnectionError)):
        return True  # opensearchpy.ConnectionTimeout is a ConnectionError
    if isinstance(error, (ApiError, opensearchpy.TransportError)):
        return status_of(error) in TRANSIENT_STATUS
    return False


def with_retries(
    what: str,
    call: Callable[[], T],
    *,
    attempts: int = 5,
    first_delay: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call()``; on a transient error wait 1, 2, 4, 8 s (bounded) and retry, then give up."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as error:  # classified right below; non-transient ones propagate
            if not is_transient(error):
                raise
            if attempt == attempts:
                raise EsdrError(
                    f"{what}: the cluster stayed unavailable after {attempts} attempts ({error})",
                    hint="check the cluster's health and that this machine reaches its HTTP port, "
                    "then rerun",
                ) from error
            sleep(delay)
            delay = min(delay * 2, 30.0)
    raise AssertionError("unreachable")
