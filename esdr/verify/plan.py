"""Which checks ``esdr verify`` runs on which host, and what each expects: all derived from the
inventory through the model and the code the deploy itself renders and creates with
(``esdr.render``, ``esdr.gateway.render``, ``esdr.layout``, ``esdr.desired``). Pure: no host is
asked anything here; ``esdr.verify.suite`` runs the checks with pytest-testinfra.

Every check is one test whose id names the host and the check
(``dc1-data-az1: mode /etc/elasticsearch/certs/node.key``), so a failure says where and what.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from esdr import host_tuning, layout
from esdr.desired import desired_for
from esdr.gateway import render as gateway_render
from esdr.gateway.cluster_user import FileRealmPaths
from esdr.gateway.model import LB_GROUP, GatewayHost, GatewayTier
from esdr.model import Node, SshRoute, Topology
from esdr.render import RenderedFile, kernel_files, node_files
from esdr.security import config as security

HEALTH = ("red", "yellow", "green")
# Made, read and deleted by the check that every data zone holds one copy of a shard: a name of
# its own, so the check never touches a user's index.
ZONE_TEST_INDEX = "esdr-verify-zone-copies"

# systemd's Limit*= directives (systemd.exec(5), "Process Properties") and the row of
# /proc/PID/limits (proc(5)) that shows each in the running process.
UNIT_LIMITS = {
    "LimitNOFILE": "Max open files",
    "LimitNPROC": "Max processes",
    "LimitAS": "Max address space",
    "LimitFSIZE": "Max file size",
    "LimitMEMLOCK": "Max locked memory",
    "LimitCORE": "Max core file size",
    "LimitDATA": "Max data size",
    "LimitSTACK": "Max stack size",
    "LimitRSS": "Max resident set",
    "LimitCPU": "Max cpu time",
}
_LIMIT_LINE = re.compile(r"^(Limit[A-Z]+)=(\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Check:
    """One check on one host (``host``), or on the cluster (``host`` is ``cluster <name>`` and
    ``via`` lists the hosts whose node API it may ask, in order)."""

    host: str
    name: str
    kind: str
    expected: Mapping[str, Any] = field(default_factory=dict)
    via: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.host}: {self.name}"


@dataclass(frozen=True)
class Target:
    """A host the suite connects to: its inventory name, what runs on it, its SSH route and the
    privilege escalation pyinfra uses on it (``_sudo``, ``_sudo_user``)."""

    name: str
    kinds: tuple[str, ...]  # "elasticsearch" / "opensearch", "gateway", "nginx"
    ssh: SshRoute
    sudo: bool = False
    sudo_user: str | None = None


@dataclass(frozen=True)
class Plan:
    targets: tuple[Target, ...]
    checks: tuple[Check, ...]
    # What the nodes' certificates must chain to: the estate CA (during a rotation the bundle of
    # both), PEM; None when the controller has none (the TLS checks then fail, saying so).
    ca_pem: str | None = None

    def target(self, name: str) -> Target:
        return next(t for t in self.targets if t.name == name)

    def by_kind(self) -> dict[str, int]:
        """Number of checks per kind of host (a host of two kinds counts for the first)."""
        counts: dict[str, int] = {}
        kinds = {t.name: t.kinds[0] for t in self.targets}
        for check in self.checks:
            kind = kinds.get(check.host, "cluster")
            counts[kind] = counts.get(kind, 0) + 1
        return counts


def unit_limits(unit: str) -> dict[str, str]:
    """``Limit*=`` of a rendered unit, e.g. ``{"LimitNOFILE": "65535"}``."""
    return {key: value for key, value in _LIMIT_LINE.findall(unit)}


def _service(host: str, service: str) -> list[Check]:
    return [Check(host, f"service {service} running", "service-running", {"service": service}),
            Check(host, f"service {service} enabled", "service-enabled", {"service": service})]


def _account(host: str, user: str, home: str) -> list[Check]:
    return [
        Check(host, f"group {user}", "group", {"group": user}),
        Check(host, f"user {user}", "account",
              {"user": user, "group": user, "home": home, "shell": layout.SERVICE_SHELL}),
        Check(host, f"user {user} has no password", "no-password", {"user": user}),
    ]


def _managed(host: str, item: layout.Managed) -> Check:
    return Check(host, f"mode {item.path}", "path",
                 {"path": item.path, "user": item.user, "group": item.group,
                  "mode": item.mode, "directory": item.directory, "optional": item.optional})


def _rendered(host: str, rendered: RenderedFile) -> list[Check]:
    """Owner and mode, and the content byte for byte as ``esdr render`` writes it."""
    return [
        _managed(host, layout.Managed(rendered.path, rendered.user, rendered.group,
                                      rendered.mode)),
        Check(host, f"rendered {rendered.path}", "content",
              {"path": rendered.path, "content": rendered.content}),
    ]


def _kernel(host: str, data: Mapping[str, Any]) -> list[Check]:
    checks: list[Check] = []
    for rendered in kernel_files(data):
        checks += _rendered(host, rendered)
    for key, value in host_tuning.kernel_parameters(data).items():
        checks.append(Check(host, f"sysctl {key} = {value}", "sysctl",
                            {"key": key, "op": "==", "value": value}))
    return checks


def _listening(host: str, what: str, address: str, port: int) -> Check:
    return Check(host, f"{what} listening on {address}:{port}", "listening",
                 {"address": address, "port": int(port)})


def node_checks(topology: Topology, node: Node, data: Mapping[str, Any]) -> list[Check]:
    """Everything about one engine node and its host."""
    cluster = topology.cluster
    engine = cluster.engine
    host = node.host
    user = cluster["es_user"]
    http, transport = int(cluster["es_http_port"]), int(cluster["es_transport_port"])
    files = node_files(topology, node, bootstrap=False)  # what a formed cluster's nodes hold
    unit = next(f for f in files if f.path.endswith(".service"))
    realm = FileRealmPaths(str(cluster["es_conf_dir"]))
    file_realm = ((realm.roles, realm.users, realm.users_roles)
                  if engine.name == "elasticsearch" else ())
    checks = [
        *_service(host, engine.service),
        _listening(host, "HTTP", node.address, http),
        _listening(host, "transport", node.address, transport),
        *_account(host, user, cluster["es_data_dir"]),
        *(_managed(host, d) for d in layout.node_directories(cluster)),
        _managed(host, layout.keystore(cluster)),
        *(_managed(host, m) for m in layout.node_security(cluster, file_realm)),
        *(_managed(host, m) for m in layout.opensearch_security(cluster)),
        *(_managed(host, d) for d in layout.snapshot_directories(topology, node)),
    ]
    for rendered in files:
        checks += _rendered(host, rendered)
    checks.append(_managed(host, layout.max_map_count_conf()))
    checks.append(Check(host, f"content {layout.MAX_MAP_COUNT_FILE}", "content",
                        {"path": layout.MAX_MAP_COUNT_FILE, "content": layout.MAX_MAP_COUNT_LINE,
                         "optional": True}))
    for directive, value in unit_limits(unit.content).items():
        checks.append(Check(host, f"{directive}={value} in force", "limit",
                            {"service": engine.service, "row": UNIT_LIMITS.get(directive, ""),
                             "directive": directive, "value": value}))
    checks.append(Check(host, f"sysctl vm.max_map_count >= {layout.MAX_MAP_COUNT}", "sysctl",
                        {"key": "vm.max_map_count", "op": ">=", "value": layout.MAX_MAP_COUNT}))
    checks += _kernel(host, data)
    api = {"address": node.address, "port": http, "scheme": security.scheme(cluster),
           "curl_config": security.CURL_CONFIG if security.enabled(cluster) else None}
    if security.enabled(cluster):
        checks.append(Check(host, f"TLS on {node.address}:{http} from the estate CA", "tls",
                            {"address": node.address, "port": http}))
        checks.append(Check(host, f"plain HTTP refused on {node.address}:{http}",
                            "plain-http-refused", {"address": node.address, "port": http}))
    attribute = cluster["es_awareness_attribute"]
    view = [
        ("node name", "name", node.name),
        ("node roles", "roles", sorted(engine.render_role(r) for r in node.roles)),
        (f"node attribute {attribute}", f"attributes.{attribute}", node.zone),
        ("cluster name", "cluster_name", cluster.name),
    ]
    for label, key, expected in view:
        checks.append(Check(host, f"{label} = {expected}", "node-view",
                            {**api, "field": key, "value": expected}))
    return checks


def cluster_checks(topology: Topology, min_health: str) -> list[Check]:
    """Run once, through the first node whose host answers."""
    cluster = topology.cluster
    label = f"cluster {cluster.name}"
    via = tuple(n.host for n in cluster.nodes)
    api = {"port": int(cluster["es_http_port"]), "scheme": security.scheme(cluster),
           "curl_config": security.CURL_CONFIG if security.enabled(cluster) else None,
           "addresses": {n.host: n.address for n in cluster.nodes}}

    def check(name: str, kind: str, **expected: Any) -> Check:
        return Check(label, name, kind, {**api, **expected}, via=via)

    checks = [
        check(f"health at least {min_health}", "health", status=min_health),
        check("exactly the inventory's nodes", "nodes",
              names=sorted(n.name for n in cluster.nodes)),
        check("exactly the inventory's master-eligible nodes", "masters",
              names=sorted(n.name for n in cluster.master_eligible)),
    ]
    zones = cluster.data_zones
    if zones:  # data nodes without a zone: nothing to spread copies over
        checks.append(check(f"one copy per data zone ({', '.join(zones)}) of a test index",
                            "zone-copies", index=ZONE_TEST_INDEX, zones=list(zones),
                            attribute=cluster["es_awareness_attribute"]))
    estate = topology.estate
    if estate is None or estate.alias_of(cluster.name) is None:
        return checks
    desired = desired_for(estate, topology)
    engine = cluster.engine.name
    for key, value in desired.awareness.items():
        checks.append(check(f"persistent {key} = {value}", "persistent-setting",
                            key=key, value=value))
    for alias in sorted(desired.remotes):
        checks.append(check(f"remote cluster {alias}", "remote", alias=alias))
    for name in sorted(desired.repositories):
        checks.append(check(f"snapshot repository {name}", "present",
                            path=f"_snapshot/{name}"))
    for policy in sorted(desired.slm):
        checks.append(check(f"SLM policy {policy}", "present", path=f"_slm/policy/{policy}"))
    for index in sorted(desired.followers):
        checks.append(check(f"follower index {index}", "present", path=index))
    if engine == "elasticsearch":  # OpenSearch's autofollow rules have no GET by name
        for name in sorted(desired.auto_follow):
            checks.append(check(f"auto-follow pattern {name}", "present",
                                path=f"_ccr/auto_follow/{name}"))
    for index in desired.indices:
        checks.append(check(f"index {index}", "present", path=index))
    for alias in sorted(desired.aliases):
        checks.append(check(f"alias {alias}", "present", path=f"_alias/{alias}"))
    return checks


def gateway_checks(tier: GatewayTier, host: GatewayHost) -> list[Check]:
    """A gateway host: the INFINI Gateway, and keepalived when it is the front door."""
    name = host.name
    user = tier["gateway_user"]
    checks: list[Check] = []
    installed = bool((tier["gateway_archive_url"] or tier["gateway_archive_local"])
                     and tier["gateway_version"])
    if installed:  # without an archive the deploy writes the unit but starts nothing
        checks += _service(name, gateway_render.SERVICE)
        checks.append(_listening(name, "gateway entry", str(tier["gateway_listen_address"]),
                                 tier["gateway_entry_port"]))
        checks.append(_listening(name, "gateway API", str(tier["gateway_api_listen_address"]),
                                 tier["gateway_api_port"]))
        checks.append(Check(name, "the entry answers keepalived's probe", "command",
                            {"words": gateway_render.check_command(tier)}))
    checks += _account(name, user, tier["gateway_data_dir"])
    checks += [_managed(name, d) for d in layout.gateway_directories(tier)]
    checks += [_managed(name, m) for m in layout.gateway_files(tier)]
    fd = tier.front_door
    if fd is not None and fd.kind == "keepalived":
        checks += _service(name, "keepalived")
    for rendered in gateway_render.host_files(tier, host):
        if LB_GROUP in host.groups and rendered.path == gateway_render.NGINX_SITE:
            continue  # the nginx host's own checks have it
        checks += _rendered(name, rendered)
    return checks


def nginx_checks(tier: GatewayTier, host: GatewayHost) -> list[Check]:
    fd = tier.front_door
    if fd is None or fd.kind != "nginx":
        return []
    name = host.name
    site = next(f for f in gateway_render.host_files(tier, host)
                if f.path == gateway_render.NGINX_SITE)
    return [
        *_service(name, "nginx"),
        _listening(name, "front door", "0.0.0.0", fd.settings["listen_port"]),
        *(_managed(name, m) for m in layout.nginx_files(tier)),
        *_rendered(name, site),
    ]


def _sudo(data: Mapping[str, Any]) -> tuple[bool, str | None]:
    return bool(data.get("_sudo")), (str(data["_sudo_user"]) if data.get("_sudo_user")
                                     else None)


def build_plan(topology: Topology, tier: GatewayTier | None,
               host_data: Mapping[str, Mapping[str, Any]], *, min_health: str = "green",
               ca_pem: str | None = None, gateway_only: bool = False) -> Plan:
    """The checks for every host of the inventory: its engine nodes (unless it holds gateways
    alone), its gateway-tier hosts, and the cluster-level checks once."""
    if min_health not in HEALTH:
        raise ValueError(f"health {min_health!r} is not one of {', '.join(HEALTH)}")
    targets: dict[str, Target] = {}
    checks: list[Check] = []

    def target(name: str, kind: str, ssh: SshRoute | None) -> None:
        data = host_data.get(name, {})
        sudo, sudo_user = _sudo(data)
        known = targets.get(name)
        kinds = (*known.kinds, kind) if known else (kind,)
        targets[name] = Target(name, kinds, ssh or SshRoute(hostname=name), sudo, sudo_user)

    if not gateway_only:
        cluster = topology.cluster
        for node in cluster.nodes:
            target(node.host, cluster.engine.name, node.ssh)
            checks += node_checks(topology, node, host_data.get(node.host, {}))
    if tier is not None:
        for host in tier.gateways:
            target(host.name, "gateway", host.ssh)
            if not any(c.host == host.name and c.kind == "sysctl" for c in checks):
                checks += _kernel(host.name, host_data.get(host.name, {}))
            checks += gateway_checks(tier, host)
        for host in tier.balancers:
            target(host.name, "nginx", host.ssh)
            if not any(c.host == host.name and c.kind == "sysctl" for c in checks):
                checks += _kernel(host.name, host_data.get(host.name, {}))
            checks += nginx_checks(tier, host)
    if not gateway_only:
        checks += cluster_checks(topology, min_health)
    return Plan(tuple(targets.values()), tuple(checks), ca_pem)


