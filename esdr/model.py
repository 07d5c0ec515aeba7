"""The topology of one data centre: one cluster, its nodes and zones. Plain data, no I/O.

An inventory file is one data centre. Hosts carry their ``zone``; inventory groups name their
roles (``es_master``, ``es_tiebreaker``, ``es_data``, ...); cluster-wide settings are ``es_*``
keys in group data. ``topology_from_hosts`` turns that into frozen dataclasses which
validation, rendering and the deploy all read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from esdr.crossdc.estate import Estate, parse_estate
from esdr.engines import ENGINES, Engine

# Inventory group -> node roles it grants. A host may be in several (master + data = compact).
ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    "es_master": ("master",),
    "es_tiebreaker": ("master", "voting_only"),
    "es_data": ("data",),
    "es_ingest": ("ingest",),
    "es_coordinating": (),
    "es_remote_cluster_client": ("remote_cluster_client",),
    "es_ml": ("ml",),
    "es_transform": ("transform",),
}

KNOWN_ROLES = frozenset(
    {
        "master",
        "voting_only",
        "data",
        "data_content",
        "data_hot",
        "data_warm",
        "data_cold",
        "data_frozen",
        "ingest",
        "ml",
        "remote_cluster_client",
        "transform",
        "cluster_manager",
    }
)
DATA_ROLES = frozenset(r for r in KNOWN_ROLES if r == "data" or r.startswith("data_"))

# Cluster-wide settings (group data) and their defaults. ``None`` means required or unset.
CLUSTER_DEFAULTS: dict[str, Any] = {
    "es_cluster_name": None,
    "es_engine": "elasticsearch",
    "es_version": None,
    "es_archive_url": None,
    "es_archive_sha512": None,
    "es_archive_local": None,
    "es_java_home": None,
    "es_http_port": 9200,
    "es_transport_port": 9300,
    "es_awareness_attribute": "zone",
    "es_forced_awareness": True,
    "es_forced_awareness_values": None,
    "es_data_zones": None,
    "es_index_replicas": 1,
    "es_path_repo": [],
    "es_settings": {},
    "es_install_root": "/opt/elasticsearch",
    "es_conf_dir": "/etc/elasticsearch",
    "es_data_dir": "/var/lib/elasticsearch",
    "es_log_dir": "/var/log/elasticsearch",
    "es_user": "elasticsearch",
    "es_lab": False,
    "es_restart_timeout": 300,
    "es_service_environment": {},  # extra Environment= lines for the systemd unit
    "es_estate": None,  # the cross-DC design (group_data/estates/*.yml), see esdr/crossdc
    # Security (esdr/security/): on unless a lab inventory opts out loudly, since a cluster
    # without TLS and authentication leaks every document to whoever reaches its ports.
    "es_security": True,
    "es_elastic_password": None,  # {"env": "NAME"} or {"file": "/path"}; never a literal
    "es_admin_password": None,  # OpenSearch's "admin" user; a reference like es_elastic_password
    "es_replication_password": None,  # OpenSearch: the cross-cluster replication user's password
    # Plugins, both engines: [{"name", "url" | "local", "sha512"?}], installed with the engine's
    # plugin tool; a missing sha512 is read from "<url>.sha512" as for the archive.
    "es_plugins": [],
    "es_secrets_dir": None,  # controller-side CA, certificates; default esdr/security/store.py
    "es_ca": None,  # bring your own CA: {"cert": "/path/ca.crt", "key": "/path/ca.key"}
    "es_cert_days": 730,  # validity of a node certificate esdr issues
    "es_ca_days": 3650,  # validity of the estate CA esdr creates
    "es_cert_renew_days": 30,  # reissue when a certificate expires within this many days
    # How the controller's clients reach the HTTP API (esdr/es/tunnel.py, README "How the deploy
    # reaches a cluster's API"): "ssh", a forward through each node; "direct", to 9200 itself.
    "es_api_transport": "ssh",
    "es_remote_connect_timeout": 1,  # seconds to reach another DC (or a node checking one)
    # How fast a silent node or master is given up: "default" (the engine's) or "fast";
    # esdr/fault_detection.py
    "es_fault_detection": "default",
    # OpenSearch followers: plugins.replication.follower.poll_interval (esdr/desired.py)
    "es_replication_poll_interval": None,
}

# Where an engine's own packages put things, so an OpenSearch cluster is laid out as users of
# OpenSearch expect (https://opensearch.org/docs/latest/install-and-configure/install-opensearch/tar/).
ENGINE_DEFAULTS: dict[str, dict[str, Any]] = {
    "opensearch": {
        "es_install_root": "/opt/opensearch",
        "es_conf_dir": "/etc/opensearch",
        "es_data_dir": "/var/lib/opensearch",
        "es_log_dir": "/var/log/opensearch",
        "es_user": "opensearch",
    },
}

# Settings a single host may override.
HOST_KEYS = frozenset(
    {"zone", "es_heap", "es_node_name", "es_network_host", "es_roles", "ram", "es_cert_sans"}
)
HOST_DEFAULTS: dict[str, Any] = {"es_heap": "1g"}

# Host data keys pyinfra or the user's connectors own; never reported as unknown.
_FOREIGN_PREFIXES = ("ssh_", "winrm_", "docker_", "chroot_", "local_", "_")

# The pyinfra ssh connector's host data keys the controller's forwards follow
# (https://docs.pyinfra.com/en/3.x/connectors/ssh.html); Node.ssh keeps them.
SSH_ROUTE_KEYS = {
    "ssh_hostname": "hostname",
    "ssh_port": "port",
    "ssh_user": "user",
    "ssh_key": "key",
    "ssh_key_password": "key_password",
    "ssh_password": "password",
    "ssh_allow_agent": "allow_agent",
    "ssh_look_for_keys": "look_for_keys",
    "ssh_config_file": "config_file",
    "ssh_known_hosts_file": "known_hosts_file",
    "ssh_strict_host_key_checking": "strict_host_key_checking",
}

_SIZE = re.compile(r"^(\d+)([kmgt])$", re.IGNORECASE)
_ZONE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

AWARENESS_ATTRIBUTES = "cluster.routing.allocation.awareness.attributes"


def parse_size(text: str) -> int | None:
    """``"256m"`` -> bytes; ``None`` if not a JVM-style size."""
    match = _SIZE.match(str(text).strip())
    if not match:
        return None
    number, unit = match.groups()
    return int(number) * 1024 ** "kmgt".index(unit.lower()) * 1024


@dataclass(frozen=True)
class SshRoute:
    """How pyinfra reaches a host over SSH: its ssh connector's host data, kept so the
    controller's cluster-API clients take the same route (``esdr.es.tunnel``). ``None`` means
    the host data did not say (pyinfra's and ~/.ssh/config's defaults apply)."""

    hostname: str
    port: int | None = None
    user: str | None = None
    key: str | None = None
    key_password: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    allow_agent: bool | None = None
    look_for_keys: bool | None = None
    config_file: str | None = None
    known_hosts_file: str | None = None
    strict_host_key_checking: str | None = None


def ssh_route(host: str, data: Mapping[str, Any]) -> SshRoute:
    """The route of inventory host ``host`` from its host data (pyinfra: ssh_hostname or the
    host's name)."""
    given = {attr: data[key] for key, attr in SSH_ROUTE_KEYS.items()
             if data.get(key) not in (None, "")}
    given["hostname"] = str(given.get("hostname") or host)
    if "port" in given:
        try:
            given["port"] = int(given["port"])
        except (TypeError, ValueError, OverflowError):
            del given["port"]  # pyinfra's own connect reports it; the model does not validate it
    for attr in ("user", "key", "key_password", "password", "config_file", "known_hosts_file",
                 "strict_host_key_checking"):
        if attr in given:
            given[attr] = str(given[attr])
    for attr in ("allow_agent", "look_for_keys"):
        if attr in given:
            given[attr] = bool(given[attr])
    return SshRoute(**given)


@dataclass(frozen=True)
class Node:
    name: str  # node.name (the inventory host name unless es_node_name says otherwise)
    host: str  # the inventory host it runs on
    address: str  # what the node binds and publishes (network.host)
    zone: str | None
    roles: tuple[str, ...]
    heap: str
    ram: str | None = None
    groups: tuple[str, ...] = ()
    unknown_keys: tuple[str, ...] = ()  # es_* host keys esdr does not know (typos)
    cert_sans: tuple[str, ...] = ()  # extra names/IPs for its certificate (es_cert_sans)
    ssh: SshRoute | None = field(default=None, compare=False)  # the controller's way in

    @property
    def is_master_eligible(self) -> bool:
        return "master" in self.roles or "cluster_manager" in self.roles

    @property
    def is_voting_only(self) -> bool:
        return "voting_only" in self.roles

    @property
    def is_tiebreaker(self) -> bool:
        """A master-eligible node that holds no data and never becomes master."""
        return self.is_voting_only and not self.holds_data

    @property
    def holds_data(self) -> bool:
        return any(role in DATA_ROLES for role in self.roles)


def flat_settings(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``es_settings`` as dotted keys and values, nested mappings flattened in key order, the way
    elasticsearch.yml reads them."""
    if not isinstance(value, Mapping):
        return [(prefix, value)]
    return [
        pair
        for key in sorted(value, key=str)
        for pair in flat_settings(value[key], f"{prefix}.{key}" if prefix else str(key))
    ]


def yml_value_problem(value: Any) -> str | None:
    """Why one value (or list item) of elasticsearch.yml cannot be written as it is: the
    schema refuses it in es_settings, the renderer in whatever else it writes."""
    if isinstance(value, str):
        if "${" in value:
            return ("holds '${', which the engine replaces with an environment variable when it "
                    "starts: remove it")
        return None
    if isinstance(value, bool) or isinstance(value, int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "is not a finite number: give a number"
    if value is None:
        return "is None, which would be written as the word None: remove the key or give a value"
    return (f"is a {type(value).__name__}: give a string, number, boolean or a list of them "
            "(nest a mapping for dotted keys)")


@dataclass(frozen=True)
class Cluster:
    name: str | None
    engine: Engine
    version: str | None
    settings: Mapping[str, Any]  # every es_* cluster-wide key, defaults filled in
    nodes: tuple[Node, ...]
    inconsistent_keys: tuple[str, ...] = ()  # cluster-wide keys whose value differs by host
    unknown_keys: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> Any:
        return self.settings[key]

    @property
    def master_eligible(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.is_master_eligible)

    @property
    def data_nodes(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.holds_data)

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(sorted({n.zone for n in self.nodes if n.zone}))

    @property
    def data_zones(self) -> tuple[str, ...]:
        """Declared ``es_data_zones``, else every zone that has a data node."""
        declared = self.settings.get("es_data_zones")
        if declared:
            return tuple(sorted(declared))
        return tuple(sorted({n.zone for n in self.data_nodes if n.zone}))

    @property
    def forced_awareness_values(self) -> tuple[str, ...]:
        if not self.settings["es_forced_awareness"]:
            return ()
        explicit = self.settings.get("es_forced_awareness_values")
        if explicit:
            return tuple(explicit)
        return self.data_zones

    @property
    def awareness(self) -> dict[str, str | tuple[str, ...]]:
        """The shard allocation awareness settings the model owns: the attribute, and the zones
        forced awareness spreads copies over. elasticsearch.yml writes the zones as a list, the
        persistent cluster setting as one comma-separated string.
        https://www.elastic.co/guide/en/elasticsearch/reference/current/shard-allocation-awareness.html
        """
        attribute = self.settings["es_awareness_attribute"]
        settings: dict[str, str | tuple[str, ...]] = {AWARENESS_ATTRIBUTES: attribute}
        if self.forced_awareness_values:
            key = f"cluster.routing.allocation.awareness.force.{attribute}.values"
            settings[key] = self.forced_awareness_values
        return settings

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)


@dataclass(frozen=True)
class Topology:
    """One data centre: the inventory's name and its Elasticsearch cluster."""

    datacentre: str
    cluster: Cluster
    source: str = ""  # the inventory file it came from, for messages
    ignored_hosts: tuple[str, ...] = field(default=())  # hosts in no es_* group

    @cached_property
    def estate(self) -> Estate | None:
        """The cross-DC design from ``es_estate``, parsed once; ``EstateError`` when unreadable."""
        raw = self.cluster.settings.get("es_estate")
        return parse_estate(raw) if raw else None


@dataclass(frozen=True)
class HostSpec:
    """What the model needs of one inventory host: its name, groups and merged data."""

    name: str
    groups: tuple[str, ...]
    data: Mapping[str, Any]


def _roles_for(spec: HostSpec) -> tuple[str, ...]:
    explicit = spec.data.get("es_roles")
    if explicit is not None:
        return tuple(explicit)
    roles: list[str] = []
    for group in spec.groups:
        for role in ROLE_GROUPS.get(group, ()):
            if role not in roles:
                roles.append(role)
    return tuple(roles)


def _is_es_host(spec: HostSpec) -> bool:
    return any(g in ROLE_GROUPS for g in spec.groups) or "es_roles" in spec.data


def _node_from(spec: HostSpec) -> Node:
    data = spec.data
    unknown = tuple(
        sorted(
            k
            for k in data
            if k.startswith("es_") and k not in HOST_KEYS and k not in CLUSTER_DEFAULTS
        )
    )
    return Node(
        name=str(data.get("es_node_name") or spec.name),
        host=spec.name,
        address=str(data.get("es_network_host") or data.get("ssh_hostname") or spec.name),
        zone=data.get("zone"),
        roles=_roles_for(spec),
        heap=str(data.get("es_heap", HOST_DEFAULTS["es_heap"])),
        ram=data.get("ram"),
        groups=tuple(g for g in spec.groups if g in ROLE_GROUPS),
        unknown_keys=unknown,
        cert_sans=tuple(str(s) for s in data.get("es_cert_sans") or ()),
        ssh=ssh_route(spec.name, data),
    )


def _cluster_settings(specs: list[HostSpec]) -> tuple[dict[str, Any], tuple[str, ...]]:
    settings: dict[str, Any] = {}
    inconsistent: list[str] = []
    engine = next((s.data["es_engine"] for s in specs if "es_engine" in s.data), "")
    defaults = {**CLUSTER_DEFAULTS, **ENGINE_DEFAULTS.get(str(engine), {})}
    for key, default in defaults.items():
        values = [s.data.get(key, default) for s in specs] or [default]
        settings[key] = values[0]
        if any(v != values[0] for v in values[1:]):
            inconsistent.append(key)
    return settings, tuple(inconsistent)


ESTATE_KEYS = ("es_estate", "es_secrets_dir")


def topology_from_hosts(
    datacentre: str, hosts: Iterable[HostSpec], source: str = ""
) -> Topology:
    """Build the model of one data centre from its inventory hosts."""
    specs = list(hosts)
    es_specs = [s for s in specs if _is_es_host(s)]
    settings, inconsistent = _cluster_settings(es_specs)
    if not es_specs:
        # An inventory of gateways alone: which estate's CA and secrets its TLS material comes
        # from is its own hosts' to say (the other hosts' group data stays ignored)
        for key in ESTATE_KEYS:
            found = next((s.data[key] for s in specs if s.data.get(key)), None)
            if found is not None:
                settings[key] = found
    engine_name = str(settings["es_engine"])
    cluster = Cluster(
        name=settings["es_cluster_name"],
        engine=ENGINES.get(engine_name, ENGINES["elasticsearch"]),
        version=settings["es_version"],
        settings=settings,
        nodes=tuple(_node_from(s) for s in es_specs),
        inconsistent_keys=inconsistent,
        unknown_keys=() if engine_name in ENGINES else ("es_engine",),
    )
    ignored = tuple(s.name for s in specs if not _is_es_host(s))
    return Topology(datacentre=datacentre, cluster=cluster, source=source, ignored_hosts=ignored)


def topology_from_inventory(inventory: Any, datacentre: str, source: str = "") -> Topology:
    """Build the model from a pyinfra ``Inventory`` (the deploy and the CLI share this)."""
    specs = [
        HostSpec(name=host.name, groups=tuple(host.groups), data=host.data.dict())
        for host in inventory
    ]
    return topology_from_hosts(datacentre, specs, source=source)
