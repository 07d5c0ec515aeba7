"""Bounded probes and timers for the front-door drills (lab addresses and loopback only)."""

from __future__ import annotations

import ipaddress
import statistics
import time
import urllib.error
import urllib.request

LAB = ipaddress.IPv4Network("10.88.0.0/24")


def _check(url: str) -> None:
    host = url.split("//", 1)[1].split("/", 1)[0].split(":", 1)[0]
    address = ipaddress.IPv4Address(host)
    if address not in LAB and not address.is_loopback:
        raise ValueError(f"{url}: the drills only send to the lab subnet or loopback")


def who(url: str, timeout: float = 0.5, body: bytes | None = None) -> str | None:
    """The host name a stand-in answers with, or None (refused, timed out, HTTP error).
    With ``body`` the request is a POST (a write, which nginx never resends once sent)."""
    _check(url)
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().decode().strip()
    except (urllib.error.URLError, OSError, ValueError):
        return None


def wait_for_answer(url: str, wanted: str, limit: float = 30.0, step: float = 0.05) -> float:
    """Seconds until ``url`` answers with ``wanted``; AssertionError after ``limit`` seconds."""
    start = time.monotonic()
    last = None
    for _ in range(int(limit / step) + 1):
        last = who(url, timeout=min(0.5, limit))
        if last == wanted:
            return time.monotonic() - start
        if time.monotonic() - start > limit:
            break
        time.sleep(step)
    raise AssertionError(f"{url} did not answer {wanted!r} within {limit}s (last: {last!r})")


def burst(
    urls: list[str], timeout: float = 2.0, body: bytes | None = None
) -> tuple[int, dict[str, int]]:
    """One request per URL, in order: (failed requests, answers per host name)."""
    failed = 0
    answers: dict[str, int] = {}
    for url in urls:
        name = who(url, timeout=timeout, body=body)
        if name is None:
            failed += 1
        else:
            answers[name] = answers.get(name, 0) + 1
    return failed, answers


def median(values: list[float]) -> float:
    return statistics.median(values)


def ssh(host: str, command: str, timeout: float = 60) -> str:
    """``command`` on a lab host; its stdout, or the test fails naming host and command."""
    from esdr_lab import api

    result = api.ssh(host, command, timeout=timeout)
    assert result.returncode == 0, f"{host}: {command}: {result.stdout} {result.stderr}"
    return result.stdout
