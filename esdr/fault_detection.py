"""How fast a cluster notices a node, or its elected master, that went silent. Pure.

A zone lost without a word (no RST, no FIN) is noticed only by timeouts. With the engines'
defaults the lab's writes stopped for 90 s when the zone holding the elected master was cut:
followers retried the dead master's leader checks (3 x 10 s), the new master's first publication
waited ``cluster.publish.timeout`` (30 s) on it, and the follower checks (3 x 10 s) ran before
the dead nodes left and their shard copies were failed. Elastic documents each setting and what
it trades (false positives under long GC pauses or a slow network against detection time):
https://www.elastic.co/guide/en/elasticsearch/reference/current/modules-discovery-settings.html
OpenSearch 2.x has the same settings under the same names.

``es_fault_detection`` picks a profile: ``default`` renders nothing (the engine's own values),
``fast`` renders the values below. A key also set in ``es_settings`` keeps the user's value; the
checks read the values in force, whichever wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from esdr.model import Cluster, flat_settings

PROFILE_KEY = "es_fault_detection"
LEADER_CHECK = "cluster.fault_detection.leader_check"
FOLLOWER_CHECK = "cluster.fault_detection.follower_check"
PUBLISH_TIMEOUT = "cluster.publish.timeout"
FOLLOWER_LAG_TIMEOUT = "cluster.follower_lag.timeout"


@dataclass(frozen=True)
class Bound:
    """One setting: the engine's default and the least value it starts with (its
    ``Setting.timeSetting``/``intSetting`` minimum; below it the node refuses to start)."""

    default: str | int
    minimum_ms: int | None = None  # durations
    minimum_count: int | None = None  # retry counts


# The settings a profile may set, with the engines' defaults and minimums (Elasticsearch's
# LeaderChecker, FollowersChecker, Coordinator and LagDetector; OpenSearch kept them).
SETTINGS: dict[str, Bound] = {
    f"{LEADER_CHECK}.interval": Bound("1s", minimum_ms=100),
    f"{LEADER_CHECK}.timeout": Bound("10s", minimum_ms=1),
    f"{LEADER_CHECK}.retry_count": Bound(3, minimum_count=1),
    f"{FOLLOWER_CHECK}.interval": Bound("1s", minimum_ms=100),
    f"{FOLLOWER_CHECK}.timeout": Bound("10s", minimum_ms=1),
    f"{FOLLOWER_CHECK}.retry_count": Bound(3, minimum_count=1),
    PUBLISH_TIMEOUT: Bound("30s", minimum_ms=1),
    FOLLOWER_LAG_TIMEOUT: Bound("90s", minimum_ms=1),
}

# ``fast``: a silent node is given up after 2 missed checks, sent every 500 ms and waiting 1 s
# each (at most 3 s), instead of 3 missed checks of 10 s; a publication waits at most 1.5 s on
# a node that does not answer. In the lab's drills the gap in acknowledged writes came mostly from
# publications waiting on the dead master: the new master's first one, and one by the voting-only
# tie-breaker, which may win an election but whose publication cannot be committed
# (docs/silent-failures.md has the timeline). Elastic's caution stands: a stop-the-world pause or
# a network stall longer than about a second can now remove a healthy node (it rejoins by itself),
# and a cluster state that takes longer than 1.5 s to commit makes the master stand down: right
# for a small cluster on a low-latency network, wrong for one with a large cluster state.
PROFILES: dict[str, dict[str, str | int]] = {
    "default": {},
    "fast": {
        f"{LEADER_CHECK}.interval": "500ms",
        f"{LEADER_CHECK}.timeout": "1s",
        f"{LEADER_CHECK}.retry_count": 2,
        f"{FOLLOWER_CHECK}.interval": "500ms",
        f"{FOLLOWER_CHECK}.timeout": "1s",
        f"{FOLLOWER_CHECK}.retry_count": 2,
        PUBLISH_TIMEOUT: "1500ms",
    },
}
DEFAULT_PROFILE = "default"

# Elasticsearch's time units (common-options "Time units"); d, h, m, s, ms, micros, nanos.
_DURATION = re.compile(r"^(\d+)(d|h|m|s|ms|micros|nanos)$")
_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1,
       "micros": 0.001, "nanos": 0.000001}


def duration_ms(value: Any) -> float | None:
    """A duration as the engine reads it (``"500ms"``, ``"2s"``), in ms; None if it is not one."""
    match = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if not match:
        return None
    return int(match.group(1)) * _MS[match.group(2)]


def profile_name(cluster: Cluster) -> Any:
    return cluster.settings.get(PROFILE_KEY, DEFAULT_PROFILE)


def profile_settings(cluster: Cluster) -> list[tuple[str, str | int]]:
    """What the profile renders into the node's config: its values minus those ``es_settings``
    sets itself (one line per key in elasticsearch.yml)."""
    profile = _profile(cluster)
    own = {key for key, _ in _user_settings(cluster)}
    return [(key, value) for key, value in profile.items() if key not in own]


def in_force(cluster: Cluster) -> dict[str, Any]:
    """Every fault-detection setting as the nodes will run it: the engine's default, the
    profile's value, or ``es_settings``' value, in that order of precedence."""
    values: dict[str, Any] = {key: bound.default for key, bound in SETTINGS.items()}
    values.update(_profile(cluster))
    values.update({key: value for key, value in _user_settings(cluster) if key in SETTINGS})
    return values


def detection_seconds(values: Mapping[str, Any], check: str) -> float | None:
    """Worst case before a silent peer is given up by ``check`` (LEADER_CHECK or
    FOLLOWER_CHECK): ``retry_count`` checks, each sent ``interval`` after the last ended and
    waiting ``timeout``."""
    interval = duration_ms(values[f"{check}.interval"])
    timeout = duration_ms(values[f"{check}.timeout"])
    count = values[f"{check}.retry_count"]
    if interval is None or timeout is None or not isinstance(count, int):
        return None
    return count * (interval + timeout) / 1000


def _profile(cluster: Cluster) -> dict[str, str | int]:
    """The chosen profile's values (none for an unknown name: the checks refuse it)."""
    return PROFILES.get(str(profile_name(cluster)), {})


def _user_settings(cluster: Cluster) -> list[tuple[str, Any]]:
    settings = cluster.settings.get("es_settings")
    return flat_settings(settings) if isinstance(settings, Mapping) else []
