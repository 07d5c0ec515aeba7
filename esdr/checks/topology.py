"""The topology rules of one cluster: settings, nodes, masters, zones and awareness, owned keys,
install source; and no host in two clusters. Pure; ``esdr.checks.validate`` runs them with the
other domains' checks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import PurePosixPath

from esdr.engines import ENGINES
from esdr.model import (
    _ZONE,
    KNOWN_ROLES,
    Cluster,
    Topology,
    flat_settings,
    parse_size,
)
from esdr.problems import Problem
from esdr.security import config as security

MAX_HEAP = 31 * 1024**3  # above ~31g the JVM loses compressed object pointers

# elasticsearch.yml keys esdr computes from the model; users set the model, not these.
OWNED_SETTINGS: dict[str, str] = {
    "cluster.name": "es_cluster_name",
    "node.name": "the inventory host name (or es_node_name)",
    "node.roles": "inventory groups (es_master, es_data, es_tiebreaker, ...)",
    "node.attr.zone": "the host's `zone`",
    "network.host": "ssh_hostname (or es_network_host)",
    "http.port": "es_http_port",
    "transport.port": "es_transport_port",
    "path.data": "es_data_dir",
    "path.logs": "es_log_dir",
    "path.repo": "es_path_repo",
    "discovery.seed_hosts": "the master-eligible hosts of the inventory",
    "cluster.initial_master_nodes": "nothing: esdr bootstraps the cluster once by itself",
    "cluster.initial_cluster_manager_nodes": "nothing: esdr bootstraps the cluster once",
    "cluster.routing.allocation.awareness.attributes": "es_awareness_attribute",
    "xpack.security.enabled": "es_security (on; False only in a lab inventory)",
}
_OWNED_PREFIXES = {
    "xpack.security.transport.ssl.": "the estate CA and node certificates (esdr/security)",
    "xpack.security.http.ssl.": "the estate CA and node certificates (esdr/security)",
    "cluster.routing.allocation.awareness.force.": "es_forced_awareness(_values)",
    "node.attr.": "host data (node attributes are derived from the model)",
}


def check_topology(cluster: Cluster, where: str) -> list[Problem]:
    """The cluster's own rules: settings, nodes, masters, zones, owned keys, install source."""
    problems: list[Problem] = []
    for check in (
        _check_cluster_settings,
        _check_nodes,
        _check_masters,
        _check_zones_and_awareness,
        _check_owned_settings,
        _check_install_source,
    ):
        problems.extend(check(cluster, where))
    return problems


def check_hosts_unique(topologies: Sequence[Topology]) -> list[Problem]:
    """No host in two clusters. Keyed by topology, not cluster name: two data centres may reuse
    a cluster name."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, topology in enumerate(topologies):
        for node in topology.cluster.nodes:
            for key in dict.fromkeys((node.name, node.address)):
                first = seen.setdefault(key, index)
                if first != index:
                    problems.append(
                        Problem(
                            f"host {node.name}",
                            "host-in-two-clusters",
                            f"{key} is in cluster {_label(topologies[first])} and in cluster "
                            f"{_label(topology)}; a host belongs to exactly one cluster: "
                            "remove it from one inventory",
                        )
                    )
    return problems


def _label(topology: Topology) -> str:
    return f"{topology.cluster.name or '?'} ({topology.source or topology.datacentre})"


def _check_cluster_settings(cluster: Cluster, where: str) -> list[Problem]:
    out: list[Problem] = []
    if not cluster.nodes:
        out.append(
            Problem(where, "no-nodes", "no host is in an es_* group (es_master, es_data, ...)")
        )
    if not cluster.name:
        out.append(Problem(where, "cluster-name-missing", "set es_cluster_name in group_data"))
    if not cluster.version:
        out.append(Problem(where, "version-missing", "set es_version in group_data, e.g. 8.19.21"))
    if "es_engine" in cluster.unknown_keys:
        out.append(
            Problem(
                where,
                "unknown-engine",
                f"es_engine {cluster['es_engine']!r} is not one of {sorted(ENGINES)}",
            )
        )
    for key in cluster.inconsistent_keys:
        out.append(
            Problem(
                where,
                "cluster-setting-differs",
                f"{key} differs between hosts; it is cluster-wide: set it once in group_data",
            )
        )
    http, transport = cluster["es_http_port"], cluster["es_transport_port"]
    if http == transport:
        out.append(
            Problem(where, "port-clash", f"es_http_port and es_transport_port are both {http}")
        )
    replicas = cluster["es_index_replicas"]
    if not isinstance(replicas, int) or replicas < 0:
        out.append(
            Problem(where, "replicas-invalid", f"es_index_replicas must be >= 0, not {replicas!r}")
        )
    for path in cluster["es_path_repo"] or []:
        if not PurePosixPath(str(path)).is_absolute():
            out.append(
                Problem(where, "path-repo-relative", f"es_path_repo entry {path!r} is not absolute")
            )
    if not isinstance(cluster["es_settings"], dict):
        out.append(Problem(where, "settings-not-a-mapping", "es_settings must be a dict"))
    return out


def _check_nodes(cluster: Cluster, where: str) -> list[Problem]:
    out: list[Problem] = []
    for key, count in Counter(n.name for n in cluster.nodes).items():
        if count > 1:
            out.append(
                Problem(
                    f"host {key}",
                    "duplicate-node-name",
                    f"node name {key} is used by {count} hosts; node names must be unique",
                )
            )
    for key, count in Counter(n.address for n in cluster.nodes).items():
        if count > 1:
            names = ", ".join(n.name for n in cluster.nodes if n.address == key)
            out.append(
                Problem(
                    f"hosts {names}",
                    "duplicate-address",
                    f"address {key} is used by {count} nodes; give each node its own host",
                )
            )
    for node in cluster.nodes:
        here = f"host {node.name}"
        if not node.zone:
            out.append(
                Problem(here, "zone-missing", "no `zone` in its host data: every node has a zone")
            )
        elif not _ZONE.match(str(node.zone)):
            out.append(
                Problem(
                    here, "zone-invalid", f"zone {node.zone!r}: use lower-case letters, digits, -_"
                )
            )
        for role in node.roles:
            if role not in KNOWN_ROLES:
                out.append(
                    Problem(
                        here,
                        "unknown-role",
                        f"role {role!r} is not a node role; known: {', '.join(sorted(KNOWN_ROLES))}",
                    )
                )
        if node.is_voting_only and not node.is_master_eligible:
            out.append(
                Problem(
                    here,
                    "voting-only-without-master",
                    "voting_only needs the master role too (node.roles: [master, voting_only])",
                )
            )
        if node.is_voting_only and not cluster.engine.supports_voting_only:
            out.append(
                Problem(
                    here,
                    "voting-only-unsupported",
                    f"{cluster.engine.name} has no voting_only role; use a plain "
                    f"{cluster.engine.master_role} node as the tie-breaker",
                )
            )
        if node.is_voting_only and node.holds_data:
            out.append(
                Problem(
                    here,
                    "tiebreaker-holds-data",
                    "the voting-only tie-breaker must not hold data; remove it from es_data",
                )
            )
        for key in node.unknown_keys:
            out.append(
                Problem(here, "unknown-setting", f"{key} is not an esdr setting (typo?)")
            )
        out.extend(_check_heap(node, here))
    return out


def _check_heap(node, here: str) -> list[Problem]:
    heap = parse_size(node.heap)
    if heap is None:
        return [Problem(here, "heap-invalid", f"es_heap {node.heap!r}: use a JVM size like 4g")]
    out: list[Problem] = []
    if heap > MAX_HEAP:
        out.append(
            Problem(
                here,
                "heap-above-31g",
                f"es_heap {node.heap} is above 31g: the JVM loses compressed pointers; use <= 31g",
            )
        )
    if node.ram is not None:
        ram = parse_size(node.ram)
        if ram is None:
            out.append(Problem(here, "ram-invalid", f"ram {node.ram!r}: use a size like 64g"))
        elif heap > ram // 2:
            out.append(
                Problem(
                    here,
                    "heap-above-half-ram",
                    f"es_heap {node.heap} is more than half of the host's ram {node.ram}; "
                    "leave half to the filesystem cache",
                )
            )
    return out


def _check_masters(cluster: Cluster, where: str) -> list[Problem]:
    masters = cluster.master_eligible
    if not cluster.nodes:
        return []
    out: list[Problem] = []
    if len(masters) < 3:
        out.append(
            Problem(
                where,
                "too-few-masters",
                f"{len(masters)} master-eligible node(s); an HA cluster needs at least 3 "
                "(add hosts to es_master or es_tiebreaker)",
            )
        )
    full = [n for n in masters if not n.is_voting_only]
    if len(full) < 2:
        out.append(
            Problem(
                where,
                "too-few-full-masters",
                f"{len(full)} master-eligible node(s) that are not voting-only; "
                "at least 2 are needed, or no node can be elected",
            )
        )
    majority = len(masters) // 2 + 1
    for zone, count in Counter(n.zone for n in masters if n.zone).items():
        if len(masters) - count < majority:
            out.append(
                Problem(
                    f"zone {zone}",
                    "zone-holds-master-majority",
                    f"{count} of {len(masters)} master-eligible nodes are in zone {zone}; losing "
                    "it loses the master majority: spread masters one per zone, or add a "
                    "tie-breaker in a third zone",
                )
            )
        elif len(full) >= 2 and all(n.zone == zone for n in full):  # < 2: reported above
            out.append(
                Problem(
                    f"zone {zone}",
                    "zone-holds-every-electable-master",
                    f"every master-eligible node that is not voting-only is in zone {zone}; "
                    "losing it leaves only voting-only nodes, which are never elected: put a "
                    "full master in another zone",
                )
            )
    return out


def _check_zones_and_awareness(cluster: Cluster, where: str) -> list[Problem]:
    out: list[Problem] = []
    data_zones = set(cluster.data_zones)
    zones_with_data = {n.zone for n in cluster.data_nodes if n.zone}
    declared = cluster["es_data_zones"]
    if declared:
        for zone in sorted(set(declared) - zones_with_data):
            out.append(
                Problem(
                    f"zone {zone}",
                    "data-zone-without-data",
                    f"zone {zone} is a data zone (es_data_zones) but no data node is in it",
                )
            )
        for zone in sorted(zones_with_data - set(declared)):
            out.append(
                Problem(
                    f"zone {zone}",
                    "data-outside-data-zones",
                    f"zone {zone} has data nodes but is not in es_data_zones",
                )
            )
    for node in cluster.nodes:
        if node.is_tiebreaker and node.zone in zones_with_data:
            out.append(
                Problem(
                    f"host {node.name}",
                    "tiebreaker-in-data-zone",
                    f"the tie-breaker is in data zone {node.zone}; put it in a third zone that "
                    "holds no data, or losing that zone loses two votes",
                )
            )
    if cluster["es_forced_awareness"]:
        explicit = cluster["es_forced_awareness_values"]
        if explicit and set(explicit) != data_zones:
            out.append(
                Problem(
                    where,
                    "forced-values-not-data-zones",
                    f"es_forced_awareness_values {sorted(explicit)} must be exactly the data "
                    f"zones {sorted(data_zones)} (a tie-breaker zone holds no shards)",
                )
            )
        replicas = cluster["es_index_replicas"]
        if isinstance(replicas, int) and len(data_zones) > 1 and replicas < len(data_zones) - 1:
            out.append(
                Problem(
                    where,
                    "replicas-below-zones",
                    f"es_index_replicas {replicas} < data zones - 1 ({len(data_zones) - 1}): "
                    "with forced awareness a zone would hold no copy",
                )
            )
    if len(data_zones) < 2 and cluster.data_nodes:
        out.append(
            Problem(
                where,
                "single-data-zone",
                "all data is in one zone: losing it loses the data; add data nodes in a second zone",
                "warning",
            )
        )
    if data_zones and len(cluster.data_nodes) % len(data_zones):
        out.append(
            Problem(
                where,
                "data-nodes-not-balanced",
                f"{len(cluster.data_nodes)} data nodes over {len(data_zones)} zones: keep the "
                "count a multiple of the zones so each zone can hold a full copy",
                "warning",
            )
        )
    return out


def _check_owned_settings(cluster: Cluster, where: str) -> list[Problem]:
    settings = cluster["es_settings"]
    if not isinstance(settings, dict):
        return []
    out: list[Problem] = []
    # The security section esdr writes (TLS, authentication): a key set there and in es_settings
    # would be written twice, and the engine refuses a config file with a duplicate key.
    # (OpenSearch's are all under plugins.security., refused by the engine checks.)
    security_keys = ({key for key, _ in security.yml_settings(cluster)}
                     if cluster.engine.name != "opensearch" else set())
    for key in sorted(k for k, _ in flat_settings(settings)):
        owner = OWNED_SETTINGS.get(key) or next(
            (v for prefix, v in _OWNED_PREFIXES.items() if key.startswith(prefix)), None
        ) or ("es_security and the estate CA (esdr/security)" if key in security_keys else None)
        if owner:
            out.append(
                Problem(
                    where,
                    "owned-setting",
                    f"es_settings sets {key}, which esdr derives from {owner}; set that instead",
                )
            )
    return out


def _check_install_source(cluster: Cluster, where: str) -> list[Problem]:
    url, local = cluster["es_archive_url"], cluster["es_archive_local"]
    if not url and not local:
        return [
            Problem(
                where,
                "archive-missing",
                "set es_archive_url (your internal mirror) or es_archive_local (a file on this "
                "machine) for the Elasticsearch archive",
            )
        ]
    if url and not str(url).startswith(("http://", "https://", "file://")):
        return [Problem(where, "archive-url-invalid", f"es_archive_url {url!r} is not a URL")]
    # Over plain http whoever can alter the archive in transit can alter the .sha512 fetched
    # beside it the same way: only a digest pinned in the inventory proves the archive. A lab
    # inventory (es_lab) may rely on its own mirror.
    unpinned = url and str(url).startswith("http://") and not cluster["es_archive_sha512"]
    if unpinned and not cluster["es_lab"]:
        return [
            Problem(
                where,
                "archive-unpinned",
                "es_archive_url is plain http and es_archive_sha512 is unset: the .sha512 "
                "beside it comes over the same unauthenticated channel; set es_archive_sha512 "
                "to the published digest (128 hex digits) or use an https:// URL",
            )
        ]
    return []
