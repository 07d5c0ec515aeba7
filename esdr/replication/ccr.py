"""Elasticsearch cross-cluster replication (x-pack CCR) behind the replication interface.

API reference: https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-apis.html.
A follower becomes a regular index with pause_follow, close, unfollow, open
(https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-post-unfollow.html: the
follower must be paused and closed first). CCR needs a Platinum/Enterprise/trial licence and its
module (``esdr.licence``).
"""

from __future__ import annotations

from typing import Any

from esdr import licence
from esdr.es import client
from esdr.changes import Change
from esdr.replication.base import FeatureCheck, Lag, Replication

OWNED = ("remote_cluster", "leader_index_patterns", "leader_index_exclusion_patterns",
         "follow_index_pattern")


def lag_from_stats(index: str, stats: dict[str, Any] | None) -> Lag:
    """``GET /<index>/_ccr/stats`` -> the lag: leader_global_checkpoint - follower_global_checkpoint.

    All of it is the follower's own view (https://www.elastic.co/guide/en/elasticsearch/reference/
    current/ccr-get-follow-stats.html): ``leader_global_checkpoint`` is "the current global
    checkpoint on the leader known to the follower task", kept from the last successful read;
    ``time_since_last_read_millis`` is the time since a read request was SENT (a caught-up
    follower's long poll lets it grow to read_poll_timeout; a failed read retried resets it:
    ShardFollowNodeTask.sendShardChangesRequest sets lastFetchTime before each try), so it is
    not when the follower last caught up; ``read_exceptions`` lists the reads failing now and
    ``fatal_exception`` one that stopped the task."""
    shards = [s for i in (stats or {}).get("indices", []) if i.get("index") == index
              for s in i.get("shards", [])]
    if not shards:
        return Lag(index, None, None)
    ops = sum(max(0, s["leader_global_checkpoint"] - s["follower_global_checkpoint"]) for s in shards)
    reads = [s["time_since_last_read_millis"] for s in shards
             if isinstance(s.get("time_since_last_read_millis"), int)
             and s["time_since_last_read_millis"] >= 0]  # -1: never sent one
    failures = sum(len(s.get("read_exceptions") or []) + (1 if s.get("fatal_exception") else 0)
                   for s in shards)
    return Lag(index, ops, max(reads) if len(reads) == len(shards) else None,
               note=f"{failures} read(s) from the leader failing" if failures else None,
               follower_checkpoint=sum(s["follower_global_checkpoint"] for s in shards),
               read_failures=failures)


def auto_follows_from(patterns: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``GET /_ccr/auto_follow`` entries -> name -> owned fields plus ``active``."""
    out = {}
    for entry in patterns:
        pattern = entry.get("pattern", {})
        out[entry["name"]] = {
            **{k: pattern.get(k, [] if k.endswith("patterns") else None) for k in OWNED},
            "active": pattern.get("active", True),
        }
    return out


# The key Elasticsearch adds to the error of an unfollow whose follower WAS unfollowed but whose
# retention leases on the leader could not be removed (its "es." metadata, printed without the
# prefix: ElasticsearchException.toXContent).
LEASES_LEFT = "failed_to_remove_retention_leases"


def leases_left(error: BaseException) -> str | None:
    """The retention lease id an unfollow error says it left on the leader; None for any other
    error (TransportUnfollowAction.onLeaseRemovalFailure)."""
    answer = getattr(error, "body", None)
    found = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(found, dict):
        return None
    lease = found.get(LEASES_LEFT)
    if isinstance(lease, list):
        lease = lease[0] if lease else None
    return str(lease) if lease else None


class CcrReplication(Replication):
    engine = "elasticsearch"
    WRITABLE = ("pause_follow", "close", "unfollow", "open")
    RESUME = ("resume_follow",)
    BEFORE_RECREATE = ("pause_follow", "close", "unfollow")
    # Unfollow removes the follower's retention leases on the leader once the index is a regular
    # one, through a remote client that reconnects if disconnected (TransportUnfollowAction,
    # DisconnectedStrategy.RECONNECT_IF_DISCONNECTED): with the leader's DC black-holed it waits
    # on the connect timeout of each seed. With the link detached first it fails at once
    # (no such remote cluster), which ``_unfollow`` accepts once the index is unfollowed.
    WRITABLE_WAITS_ON_LEADER = True

    def follower(self, index: str) -> dict[str, Any] | None:
        """``GET /<index>/_ccr/info``: its entry already carries remote_cluster, leader_index
        and status ("active" | "paused"); None (no such index) or {} (a regular index)."""
        return client.get_follower_info(self.es, index)

    def followers(self, names: set[str]) -> dict[str, dict[str, Any] | None]:
        """One ``GET /_all/_ccr/info`` for every follower, not one read per index; only a name
        it does not list is asked on its own (HEAD: ``{}`` a regular index, None no index)."""
        if not names:
            return {}
        listed = client.get_all_follower_info(self.es)
        return {name: listed[name] if name in listed
                else ({} if client.index_exists(self.es, name) else None)
                for name in sorted(names)}

    def auto_follows(self) -> dict[str, dict[str, Any]]:
        return auto_follows_from(client.get_auto_follow_patterns(self.es))

    def lag(self, index: str) -> Lag:
        return lag_from_stats(index, client.get_follow_stats(self.es, index))

    def check_feature(self, feature: str, cluster: str, licence_choice: str) -> FeatureCheck:
        status = licence.feature_status(self.es, feature)
        trial = licence.trial_wanted(status, licence_choice)
        return FeatureCheck(feature, licence.message(status, cluster, trial_planned=trial), trial,
                            status.licence_type)

    def follow(self, index: str, remote: str, leader_index: str) -> Any:
        return client.follow(self.replicator, index, remote, leader_index)

    def steps(self) -> dict[str, Any]:
        return {
            "pause_follow": lambda i: client.pause_follow(self.replicator, i),
            "resume_follow": lambda i: client.resume_follow(self.replicator, i),
            "unfollow": self._unfollow,
        }

    def _unfollow(self, index: str) -> Any:
        """``POST /<index>/_ccr/unfollow``. Elasticsearch unfollows the index first, then removes
        its retention leases on the leader, and answers an error when that fails (the leader's
        DC is lost, or its link detached): the index is a regular one all the same. The leases
        expire on the leader by themselves (index.soft_deletes.retention_lease.period, 12 h)
        or are removed with the forget-follower API (https://www.elastic.co/guide/en/
        elasticsearch/reference/current/ccr-post-forget-follower.html), so a promotion goes on
        once the index is seen unfollowed."""
        try:
            return client.unfollow(self.replicator, index)
        except client.API_ERRORS as error:
            lease = leases_left(error)
            if lease is None or client.get_follower_info(self.es, index) != {}:
                raise
            return {"acknowledged": True, LEASES_LEFT: lease, "reason": client.describe(error)}

    def apply_auto_follow(self, change: Change) -> None:
        if change.action == "deleted":
            client.delete_auto_follow_pattern(self.replicator, change.name)
            return
        if change.action not in ("created", "changed"):
            return
        before = change.before or {}
        if any(before.get(k) != change.after[k] for k in OWNED) or not before:
            client.put_auto_follow_pattern(
                self.replicator, change.name, {k: change.after[k] for k in OWNED})
        if before and not before.get("active", True):
            client.resume_auto_follow_pattern(self.replicator, change.name)
