"""OpenSearch's cross-cluster-replication plugin behind the replication interface.

API reference: https://opensearch.org/docs/latest/tuning-your-cluster/replication-plugin/api/
(checked against the plugin's REST handlers, tag 2.19.6.0). What differs from Elasticsearch CCR:

- ``PUT _plugins/_replication/<follower>/_start`` needs ``use_roles`` when the security plugin
  is on (403 "Follower roles are mandatory for replication"; ignored without security) and the
  follower index must not exist yet.
- ``POST .../_stop {}`` turns a follower into a regular writable index in one call (no close,
  unfollow, open). A follower paused for more than 12 hours cannot be resumed.
- ``GET .../_status`` answers ``SYNCING``/``BOOTSTRAPPING``/``PAUSED``/``FAILED`` or ``REPLICATION
  NOT IN PROGRESS`` (also for an index that does not exist: a HEAD tells the two apart).
- Auto-follow rules (``POST``/``DELETE _plugins/_replication/_autofollow``) take one ``pattern``,
  name followers like their leaders and have no exclusions (``esdr.checks.estate`` refuses
  an estate that asks for more); a rule cannot be updated in place: change = delete + create.
  They are listed by ``GET _plugins/_replication/autofollow_stats`` (name and pattern only); the
  leader alias is in the id of the rule's persistent task ``autofollow:<alias>:<name>``.
- Aliases of a follower are copied from its leader and cannot be changed on the follower.
- No licence: the plugin must be installed on every node of the leader and the follower
  (https://opensearch.org/docs/latest/tuning-your-cluster/replication-plugin/getting-started/).

Replication writes go through the replication user's client (least privilege,
https://opensearch.org/docs/latest/tuning-your-cluster/replication-plugin/permissions/: its
roles allow start/pause/resume/stop/status and rule updates, not the stats reads); replication
reads through the superuser's client on remote-cluster-client nodes (``reader``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from esdr.es import client
from esdr.es.client import path
from esdr.changes import Change
from esdr.replication.base import FeatureCheck, Lag, Replication, observed_follower
from esdr.security.config import REPLICATION_FOLLOWER_ROLE, REPLICATION_LEADER_ROLE

PLUGIN = "opensearch-cross-cluster-replication"
BASE = ("_plugins", "_replication")
ACTIVE = frozenset({"SYNCING", "BOOTSTRAPPING", "RUNNING"})
TASK_PREFIX = "autofollow:"
USE_ROLES = {"leader_cluster_role": REPLICATION_LEADER_ROLE,
             "follower_cluster_role": REPLICATION_FOLLOWER_ROLE}


def start_body(remote: str, leader_index: str) -> dict[str, Any]:
    return {"leader_alias": remote, "leader_index": leader_index, "use_roles": dict(USE_ROLES)}


def rule_body(name: str, remote: str, pattern: str) -> dict[str, Any]:
    return {"leader_alias": remote, "name": name, "pattern": pattern, "use_roles": dict(USE_ROLES)}


def follower_from_status(status: dict[str, Any] | None, exists: bool | None) -> dict[str, Any] | None:
    """``_status`` -> the engine-neutral follower view; ``exists`` matters only when no
    replication is in progress (``{}`` a regular index, ``None`` no index)."""
    state = str((status or {}).get("status", ""))
    if state in ACTIVE or state in ("PAUSED", "FAILED"):
        kind = "active" if state in ACTIVE else state.lower()
        return {**observed_follower(status.get("leader_alias"), status.get("leader_index"), kind),
                "reason": status.get("reason")}
    return {} if exists else None


def lag_from(index: str, status: dict[str, Any] | None,
             follower_stats: dict[str, Any] | None = None) -> Lag:
    """The lag from ``_status.syncing_details``, else from ``follower_stats.index_stats.<index>``;
    both sum the checkpoints over the shards (plugin source, tag 2.19.6.0:
    action/status/TransportReplicationStatusAction.kt, task/shard/FollowerClusterStats.kt).

    ``_status`` answers ``syncing_details`` only while replication runs, and then asks the
    leader's primaries for their global checkpoint on the spot (``leader_checkpoint``, live;
    ``follower_checkpoint`` is the follower's last synced global checkpoint); with the leader
    unreachable the whole call fails (500 "failed to fetch replication status").
    ``follower_stats`` is local: ``leader_checkpoint`` is the one the last successful changes
    fetch returned, and a shard task that (re)starts sets it to the follower's own checkpoint
    (task/shard/ShardReplicationTask.kt), so it reads "0 behind" without ever having heard from
    the leader. Neither API reports a time of the last read or of being in sync."""
    entry = (status or {}).get("syncing_details")
    live = bool(entry)
    if not entry:
        entry = ((follower_stats or {}).get("index_stats") or {}).get(index)
    if not entry or "leader_checkpoint" not in entry:
        return Lag(index, None, None)
    follower = int(entry["follower_checkpoint"])
    return Lag(index, max(0, int(entry["leader_checkpoint"]) - follower), None, live=live,
               follower_checkpoint=follower)


def rule_remotes(state: dict[str, Any] | None) -> dict[str, str]:
    """Rule name -> leader alias, from the persistent tasks in the cluster state."""
    tasks = (((state or {}).get("metadata") or {}).get("persistent_tasks") or {}).get("tasks") or []
    out = {}
    for task in tasks:
        task_id = str(task.get("id", ""))
        if task_id.startswith(TASK_PREFIX):
            alias, _, name = task_id[len(TASK_PREFIX):].partition(":")
            out[name] = alias
    return out


def auto_follows_from(stats: dict[str, Any] | None, remotes: dict[str, str]) -> dict[str, dict]:
    """``autofollow_stats`` -> name -> the estate's auto-follow shape (one pattern, followers
    named like their leaders, no exclusions, always active: the plugin has no pause)."""
    return {
        entry["name"]: {
            "remote_cluster": remotes.get(entry["name"]),
            "leader_index_patterns": [entry.get("pattern")],
            "leader_index_exclusion_patterns": [],
            "follow_index_pattern": "{{leader_index}}",
            "active": True,
        }
        for entry in (stats or {}).get("autofollow_stats", [])
    }


def plugin_problem(nodes: dict[str, Any] | None, cluster: str) -> str | None:
    """``GET _nodes/plugins`` -> one line when a node lacks the replication plugin."""
    found = (nodes or {}).get("nodes") or {}
    missing = sorted(str(n.get("name", node_id)) for node_id, n in found.items()
                     if PLUGIN not in {p.get("name") for p in n.get("plugins", [])})
    if found and not missing:
        return None
    where = f"node(s) {', '.join(missing)}" if missing else "no node reported its plugins"
    return (f"cross-cluster replication is not available on cluster {cluster}: {where} without "
            f"the {PLUGIN} plugin; add it to es_plugins (OpenSearch's full distribution bundles "
            "it) on every node of the leader and follower clusters and deploy, or remove the "
            "followers/auto_follow/bidirectional entries for this cluster from the estate")


def slm_problem(cluster: str) -> str:
    return (f"snapshot lifecycle management (SLM) is an Elasticsearch API; cluster {cluster} runs "
            "OpenSearch, whose snapshot management esdr does not drive yet: remove the slm "
            "entries for this cluster from the estate")


class OpenSearchReplication(Replication):
    engine = "opensearch"
    WRITABLE = ("stop",)
    RESUME = ("resume",)
    BEFORE_RECREATE = ("stop",)
    # Seen on 2.19.4: the plugin copies the leader's aliases onto the follower and refuses alias
    # changes there (403 "index read-only (cross-cluster-replication)").
    ALIASES_FROM_LEADER = True
    # Seen in the lab: with the leader's DC black-holed (no RST ever comes), `_stop` tries to
    # release its retention lease on the leader and waits on the open transport connections;
    # it did not finish in 4 x 30 s, and finished at once after the remote link was removed.
    WRITABLE_WAITS_ON_LEADER = True

    def needs(self, wanted: frozenset[str], leads: bool) -> set[str]:
        return set(wanted) | ({"ccr"} if leads else set())

    def status(self, index: str) -> dict[str, Any]:
        return client.request(self.reader, "GET", path(*BASE, index, "_status"))

    def follower(self, index: str) -> dict[str, Any] | None:
        try:
            status = self.status(index)
        except client.API_ERRORS as error:
            # The status of a syncing follower asks the leader too: with the leader down the
            # plugin answers 500 "failed to fetch replication status". Nothing to decide then.
            if (client.status_of(error) or 0) < 500:
                raise
            return {**observed_follower(None, None, "unknown"), "reason": client.describe(error)}
        state = str(status.get("status", ""))
        needs_head = state not in ACTIVE and state not in ("PAUSED", "FAILED")
        return follower_from_status(
            status, client.index_exists(self.es, index) if needs_head else None)

    def follower_stats(self) -> dict[str, Any]:
        return client.request(self.reader, "GET", path(*BASE, "follower_stats"))

    def lag(self, index: str) -> Lag:
        try:
            status = self.status(index)
        except client.API_ERRORS as error:
            # The leader does not answer the plugin: only follower_stats is left, whose leader
            # checkpoint is the last one read (seen on 2.19.4: "0 behind" while 30000 operations
            # written on the leader just before it was lost never arrived).
            return replace(self._seen(index), note=(
                f"the follower cannot read the leader's checkpoint now "
                f"({client.status_of(error) or 'no answer'})"))
        found = lag_from(index, status)
        if found.operations is not None:
            return found
        state = status.get("status") or "no status"
        return replace(self._seen(index), note=(
            f"replication is {state}: no live leader checkpoint"))

    def _seen(self, index: str) -> Lag:
        """The follower's own memory of the lag (``follower_stats``), not live; never raises:
        a promotion must not stop for want of a statistic."""
        try:
            stats = self.follower_stats()
        except client.API_ERRORS:
            stats = None
        return lag_from(index, None, stats)

    def auto_follows(self) -> dict[str, dict[str, Any]]:
        stats = client.request(self.reader, "GET", path(*BASE, "autofollow_stats"))
        if not stats.get("autofollow_stats"):
            return {}
        state = client.request(self.es, "GET", "/_cluster/state/metadata",
                               params={"filter_path": "metadata.persistent_tasks.tasks.id"})
        return auto_follows_from(stats, rule_remotes(state))

    def check_feature(self, feature: str, cluster: str, licence_choice: str) -> FeatureCheck:
        if feature == "slm":
            return FeatureCheck(feature, slm_problem(cluster))
        return FeatureCheck(feature, plugin_problem(client.get_node_plugins(self.es), cluster))

    def follow(self, index: str, remote: str, leader_index: str) -> Any:
        return client.request(self.replicator, "PUT", path(*BASE, index, "_start"),
                              body=start_body(remote, leader_index))

    def _post(self, index: str, action: str) -> Any:
        return client.request(self.replicator, "POST", path(*BASE, index, action), body={})

    def steps(self) -> dict[str, Any]:
        return {step: (lambda i, s=step: self._post(i, f"_{s}"))
                for step in ("pause", "resume", "stop")}

    def create_rule(self, name: str, remote: str, pattern: str) -> Any:
        return client.request(self.replicator, "POST", path(*BASE, "_autofollow"),
                              body=rule_body(name, remote, pattern))

    def delete_rule(self, name: str, remote: str) -> Any:
        return client.request(self.replicator, "DELETE", path(*BASE, "_autofollow"),
                              body={"leader_alias": remote, "name": name})

    def apply_auto_follow(self, change: Change) -> None:
        if change.action in ("deleted", "changed") and change.before:
            # A rule whose task is not listed has no known alias: the estate's is the best guess.
            remote = change.before.get("remote_cluster") or (change.after or {}).get("remote_cluster")
            self.delete_rule(change.name, remote)
        if change.action in ("created", "changed"):
            after = change.after
            for pattern in after["leader_index_patterns"]:  # one (validated)
                self.create_rule(change.name, after["remote_cluster"], pattern)
