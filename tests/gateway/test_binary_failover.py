"""The real INFINI Gateway binary, its primary dying silently (no RST, no FIN): how long do
writes fail? (docs/gateway-failover.md)

Each case runs tests/gateway/silent_primary.py inside a private network namespace of its own
(``unshare -n``: only ``lo``, on which tc drops every packet to and from the primary's
127.0.0.2). One client writes through the gateway, each write retried under its id until
acknowledged. Then:

- esdr's rendered gateway.yml (defaults: gateway_connect_timeout 1s, gateway_request_timeout
  10s, gateway_connect_failover on): writes fail for at most 15 s (the write in flight when the
  network went, until the client's 5 s timeout), then go to the backup, queued for the primary,
  long before the framework marks the primary down; once the primary is back, every
  acknowledged write is in both clusters;
- the control, without the fall-back and with the framework's own timeouts (3s connect, 30s):
  no write is acknowledged for the whole observation (20 s), the framework marks the primary
  down only after ~60 s (63-65 s in the lab). This is what the first case would show if the
  fall-back stopped working.

Skipped, with the reason, where the vendored archive is missing or a network namespace with tc
cannot be made here (not root, no unshare/ip/tc).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TARGET = 15.0  # seconds: the longest a write may fail when the primary goes silent
OBSERVE = 20.0  # seconds of writing after the cut


def _netns_skip_reason() -> str | None:
    missing = [tool for tool in ("unshare", "ip", "tc") if shutil.which(tool) is None]
    if missing:
        return f"no {', '.join(missing)} here: cannot make a private network namespace"
    probe = subprocess.run(
        ["unshare", "-n", "sh", "-c",
         "ip link set lo up && tc qdisc add dev lo root handle 1: htb default 10 && "
         "tc class add dev lo parent 1: classid 1:20 htb rate 10gbit && "
         "tc qdisc add dev lo parent 1:20 handle 20: pfifo limit 0 && tc qdisc show dev lo"],
        capture_output=True, text=True, timeout=30)
    if probe.returncode != 0 or "pfifo" not in probe.stdout:
        return ("cannot make a network namespace with tc htb and pfifo here (needs root or user "
                f"namespaces): {(probe.stderr or probe.stdout).strip()[:200]}")
    return None


def _silent_primary(binary, workdir, settings: dict) -> dict:
    done = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "tests.gateway.silent_primary",
         "--binary", str(binary), "--workdir", str(workdir), "--settings", json.dumps(settings),
         "--observe", str(OBSERVE)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(result, indent=1))  # the numbers, with -s
    return result


@pytest.fixture(scope="module")
def netns() -> None:
    reason = _netns_skip_reason()
    if reason:
        pytest.skip(reason)


def test_silent_primary_writes_fail_at_most_15_s_and_none_is_lost(gateway_binary, netns,
                                                                  tmp_path) -> None:
    result = _silent_primary(gateway_binary, tmp_path, {})
    assert result["acked_after_cut"] > 0, result
    assert result["longest_window"] <= TARGET, result
    # the primary was not marked down yet: the writes went to the backup by the fall-back
    assert not result["marked_down"], result
    assert result["caught_up_after"] is not None, result
    assert result["missing_in_primary"] == [] and result["missing_in_backup"] == [], result


def test_without_the_fall_back_writes_fail_until_the_framework_marks_the_primary_down(
        gateway_binary, netns, tmp_path) -> None:
    result = _silent_primary(gateway_binary, tmp_path, {
        "gateway_connect_failover": False, "gateway_connect_timeout": None,
        "gateway_request_timeout": None})
    assert result["acked_after_cut"] == 0, result
    assert result["longest_window"] > TARGET, result
    assert not result["marked_down"], result
    assert result["missing_in_primary"] == [] and result["missing_in_backup"] == [], result
