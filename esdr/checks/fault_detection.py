"""Fault-detection settings (``es_fault_detection`` and the same keys in ``es_settings``): the
values the engine refuses to start with are errors; the ones Elastic warns about are warnings.
Pure; ``esdr.checks.validate`` includes these.

https://www.elastic.co/guide/en/elasticsearch/reference/current/modules-discovery-settings.html
"""

from __future__ import annotations

from esdr.fault_detection import (
    FOLLOWER_CHECK,
    LEADER_CHECK,
    PROFILE_KEY,
    PROFILES,
    PUBLISH_TIMEOUT,
    SETTINGS,
    detection_seconds,
    duration_ms,
    in_force,
    profile_name,
)
from esdr.model import Cluster
from esdr.problems import Problem

# Below these a healthy node on a busy host is removed by a pause it survives (Elastic:
# "changing these settings ... may make the cluster unstable"). Warnings, not errors: a cluster
# on a fast, quiet network may choose them.
LEAST_SAFE_TIMEOUT_MS = 1000
LEAST_SAFE_PUBLISH_MS = 1000


def check_fault_detection(cluster: Cluster, where: str) -> list[Problem]:
    name = profile_name(cluster)
    if not isinstance(name, str) or name not in PROFILES:
        return [Problem(where, "fault-detection-profile-unknown",
                        f"{PROFILE_KEY} is {name!r}; use one of {', '.join(sorted(PROFILES))}")]
    values = in_force(cluster)
    out = [problem for key, value in values.items()
           if (problem := _engine_refuses(key, value, where)) is not None]
    if out:
        return out
    for check in (LEADER_CHECK, FOLLOWER_CHECK):
        timeout = duration_ms(values[f"{check}.timeout"])
        if timeout is not None and timeout < LEAST_SAFE_TIMEOUT_MS:
            out.append(Problem(where, "fault-detection-hair-trigger",
                               f"{check}.timeout {values[f'{check}.timeout']} is under 1s: a GC "
                               "pause or a network stall that long removes a healthy node",
                               "warning"))
        if values[f"{check}.retry_count"] == 1:
            out.append(Problem(where, "fault-detection-hair-trigger",
                               f"{check}.retry_count 1: one lost check removes a healthy node; "
                               "use 2 or more", "warning"))
    publish = duration_ms(values[PUBLISH_TIMEOUT])
    if publish is not None and publish < LEAST_SAFE_PUBLISH_MS:
        out.append(Problem(where, "fault-detection-hair-trigger",
                           f"{PUBLISH_TIMEOUT} {values[PUBLISH_TIMEOUT]} is under 1s: a master "
                           "whose publication is not committed in time stands down, and a large "
                           "cluster state on a slow link can then never be published", "warning"))
    # A master that gives up on a silent follower only after its publications have each waited
    # longer than the follower checks take is not faster for the fast checks: the node-left
    # update queues behind the publication (cluster state updates are published one at a time).
    follower = detection_seconds(values, FOLLOWER_CHECK)
    if publish is not None and follower is not None and publish / 1000 > 3 * follower:
        out.append(Problem(where, "fault-detection-publish-dominates",
                           f"{PUBLISH_TIMEOUT} {values[PUBLISH_TIMEOUT]} is over 3x the follower "
                           f"checks' {follower:g}s: a silent node leaves only after the "
                           "publication waiting on it times out; lower it with the checks",
                           "warning"))
    return out


def _engine_refuses(key: str, value: object, where: str) -> Problem | None:
    bound = SETTINGS[key]
    if bound.minimum_count is not None:
        if isinstance(value, bool) or not isinstance(value, int) or value < bound.minimum_count:
            return Problem(where, "fault-detection-invalid",
                           f"{key} is {value!r}: the engine refuses to start unless it is a whole "
                           f"number >= {bound.minimum_count}")
        return None
    ms = duration_ms(value)
    if ms is None:
        return Problem(where, "fault-detection-invalid",
                       f"{key} is {value!r}: the engine refuses to start unless it is a duration "
                       "such as \"500ms\" or \"2s\"")
    if bound.minimum_ms is not None and ms < bound.minimum_ms:
        return Problem(where, "fault-detection-invalid",
                       f"{key} is {value}: the engine refuses to start with less than "
                       f"{bound.minimum_ms}ms")
    return None
