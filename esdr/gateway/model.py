"""The gateway tier of one inventory: gateway hosts, the two clusters, the front door. No I/O.

Inventory shape (see ``inventories/prod.py`` and ``group_data/prod.py``):

- group ``gateways``: the INFINI Gateway hosts (NOT Elasticsearch nodes: the ES model ignores
  them); group ``gateway_lb``: the Nginx hosts when the front door is ``nginx``;
- group data ``gateway_clusters`` = ``{"primary": {...}, "backup": {...}}``, each with
  ``name``, ``endpoints``, ``username`` and ``password`` BY REFERENCE (``{"env": "NAME"}`` or
  ``{"file": "/path"}``). ``clusters_for`` is the one place that decides them, so the
  cross-data-centre design can supply them later;
- ``gateway_front_door`` = ``{"kind": "keepalived" | "nginx" | "floating_ip", ...}``;
- host data: ``gateway_address`` (else ``ssh_hostname``, else the name).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from esdr.gateway.secrets import SecretRef, parse_ref
from esdr.model import HostSpec, SshRoute, ssh_route

GATEWAY_GROUP = "gateways"
LB_GROUP = "gateway_lb"
FRONT_DOOR_KINDS = ("keepalived", "nginx", "floating_ip")

# Group data of the tier and their defaults. ``None``: required or unset.
TIER_DEFAULTS: dict[str, Any] = {
    "gateway_clusters": None,
    "gateway_front_door": None,
    "gateway_version": None,
    "gateway_archive_url": None,  # INFINI publishes tarballs; mirror one internally
    "gateway_archive_local": None,  # or a file on the deploying machine
    "gateway_archive_sha256": None,  # one of these two is required with gateway_archive_url:
    "gateway_archive_sha512": None,  # INFINI publishes no checksum beside its tarballs
    # Plain HTTP anywhere in the tier: the entry and Nginx listen without TLS (the applications'
    # basic auth in clear) and http:// cluster endpoints may carry credentials. Only a lab
    # inventory (es_lab = True) may say True; otherwise the entry and Nginx speak TLS with
    # certificates from the estate CA (docs/gateway-front-door-tls.md).
    "gateway_allow_plain_http": False,
    "gateway_binary": "gateway-linux-amd64",  # the executable's name inside the archive
    "gateway_entry_port": 8000,
    "gateway_listen_address": "0.0.0.0",  # the entry's address (the VIP moves between hosts)
    # The API (keepalived's "api" check, queue depth and lag) has no authentication, and its
    # GET /config/runtime and GET /environments answer the clusters' passwords (framework
    # modules/configs/config/config.go), DELETE /queue/<id> drops the writes owed to a cluster
    # (modules/queue/api.go). esdr reads it only from the gateway host itself (keepalived, the
    # deploy's queue summary) or through that host's sshd (esdr gateway status): loopback.
    "gateway_api_listen_address": "127.0.0.1",
    # Any other address only with this set to True: whoever reaches it reads both passwords.
    "gateway_api_allow_remote_unauthenticated": False,
    "gateway_api_port": 2900,
    # how esdr reads that API: "ssh" (a forward through the gateway host's own sshd, as for the
    # clusters' APIs: README "How the deploy reaches a cluster's API") or "direct" (TCP from here)
    "gateway_api_transport": "ssh",
    "gateway_user": "infini-gateway",
    "gateway_install_root": "/opt/infini-gateway",
    "gateway_conf_dir": "/etc/infini-gateway",
    "gateway_data_dir": "/var/lib/infini-gateway",
    "gateway_log_dir": "/var/log/infini-gateway",
    "gateway_read_rules": None,  # None: esdr's read rules (render.DEFAULT_READ_RULES)
    # How long the gateway waits on a cluster (every `elasticsearch` filter): to connect
    # (`dial_timeout`), and for the whole request (`timeout`; the framework's 30s by default).
    # With gateway_connect_failover, a request the primary did not take the connection for
    # goes to the backup, queued for the primary, before the framework marks the primary down
    # (30-60 s after it went silent). docs/gateway-failover.md
    "gateway_connect_timeout": "1s",
    "gateway_request_timeout": "10s",
    "gateway_connect_failover": True,
}
KEEPALIVED_DEFAULTS: dict[str, Any] = {
    "interface": "eth0",
    "nopreempt": False,
    "unicast": True,  # most data-centre networks drop VRRP multicast
    "advert_int": 1,
    # what the vrrp_script probes on the local gateway: "entry" (its entry answers, render.py
    # ALIVE_PATH) or "api" (its process answers)
    "check": "entry",
    "check_interval": 1,
    "check_timeout": 2,
    "check_fall": 2,
    "check_rise": 2,
}
NGINX_DEFAULTS: dict[str, Any] = {
    "listen_port": 9200,  # applications keep talking "Elasticsearch" on its usual port
    "max_fails": 2,
    "fail_timeout": "10s",
    "hash_by_index": True,  # one index's traffic sticks to one gateway, so its writes stay in order
    "upstreams": None,  # None: every host of `gateways`
    "backup": [],  # host names used only when the others are down (excludes hashing)
}


def local_address(listen: Any) -> str:
    """Where a process on the gateway host reaches a port bound to ``listen``: a port bound to
    every address answers on loopback too; one bound to a single address, only there."""
    address = str(listen or "0.0.0.0")
    return "127.0.0.1" if address in ("0.0.0.0", "::") else address


def url_host(address: str) -> str:
    """``address`` as the host of a URL: an IPv6 literal in brackets (RFC 3986 section 3.2.2,
    https://www.rfc-editor.org/rfc/rfc3986#section-3.2.2), as Go's net.JoinHostPort writes it
    for a binding; without them ``http://fd00::1:8000`` names no port."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def is_loopback(address: Any) -> bool:
    """A binding that only this host can connect to: a loopback IP literal (127.0.0.0/8, ::1)
    or ``localhost``. A host name is not looked up: it could name any address."""
    text = str(address or "")
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ClusterRef:
    """One Elasticsearch cluster as the gateway sees it."""

    role: str  # "primary" or "backup"
    name: str
    endpoints: tuple[str, ...]
    username: str | None
    password: SecretRef | None
    password_error: str | None = None  # why the configured password is not a usable reference
    # Pinned, the gateway skips its GET / probe at start, which exits the process when the
    # cluster is unreachable (so a gateway restarted during an outage would not come back).
    version: str | None = None
    distribution: str | None = None  # "elasticsearch" or "opensearch"


@dataclass(frozen=True)
class Vip:
    address: str  # "10.20.1.100/24"
    virtual_router_id: Any
    priorities: Mapping[str, Any]  # host name -> VRRP priority


@dataclass(frozen=True)
class FrontDoor:
    kind: str
    settings: Mapping[str, Any]  # kind defaults filled in
    vips: tuple[Vip, ...] = ()


@dataclass(frozen=True)
class GatewayHost:
    name: str
    address: str
    groups: tuple[str, ...]
    ssh: SshRoute | None = None  # how pyinfra reaches the host (its host data)


@dataclass(frozen=True)
class GatewayTier:
    source: str
    settings: Mapping[str, Any]  # every gateway_* key, defaults filled in
    gateways: tuple[GatewayHost, ...]
    balancers: tuple[GatewayHost, ...]  # Nginx hosts (group gateway_lb)
    clusters: tuple[ClusterRef, ...]  # primary first
    front_door: FrontDoor | None
    other_hosts: tuple[GatewayHost, ...] = ()  # every other inventory host (for messages)
    inconsistent_keys: tuple[str, ...] = ()
    cluster_errors: tuple[str, ...] = field(default=())  # shape problems of gateway_clusters
    lab: bool = False  # every host of the tier says es_lab = True (a lab inventory)

    def __getitem__(self, key: str) -> Any:
        return self.settings[key]

    @property
    def primary(self) -> ClusterRef | None:
        return next((c for c in self.clusters if c.role == "primary"), None)

    @property
    def backup(self) -> ClusterRef | None:
        return next((c for c in self.clusters if c.role == "backup"), None)

    @property
    def tls(self) -> bool:
        """The entry (and Nginx) speak TLS: always, but in a lab that allows plain HTTP."""
        return self.settings.get("gateway_allow_plain_http") is not True

    def host(self, name: str) -> GatewayHost | None:
        for h in self.gateways + self.balancers:
            if h.name == name:
                return h
        return None


# Every gateway certificate names this too: Nginx verifies the entries under it (one
# ``proxy_ssl_name`` for its whole upstream group, which holds every gateway).
GATEWAY_TLS_NAME = "esdr-gateway"


def _vip_ips(tier: GatewayTier) -> list[str]:
    fd = tier.front_door
    if fd is None or fd.kind == "nginx":
        return []
    out = []
    for vip in fd.vips:
        try:
            out.append(str(ipaddress.ip_interface(vip.address).ip))
        except ValueError:
            continue  # esdr validate says so (vip-invalid)
    return out


def entry_sans(tier: GatewayTier, host: GatewayHost) -> list[str]:
    """What the entry certificate of ``host`` names: the host's name and address, the floating
    IP(s) clients reach it at, the address keepalived's check uses on the host, and the name
    Nginx verifies it under."""
    local = local_address(tier["gateway_listen_address"])
    names = [host.name, host.address, *_vip_ips(tier), local, GATEWAY_TLS_NAME]
    if is_loopback(local):
        names.append("localhost")
    return list(dict.fromkeys(str(n).strip("[]") for n in names if n))


def front_door_sans(tier: GatewayTier, host: GatewayHost) -> list[str]:
    """What the Nginx certificate of ``host`` names: its name and address (the names clients
    use for it; a name of its own in DNS is a later setting of the front door)."""
    names = [host.name, host.address]
    return list(dict.fromkeys(str(n).strip("[]") for n in names if n))


def is_gateway_spec(spec: HostSpec) -> bool:
    return GATEWAY_GROUP in spec.groups or LB_GROUP in spec.groups


def _host(spec: HostSpec) -> GatewayHost:
    data = spec.data
    address = data.get("gateway_address") or data.get("ssh_hostname") or spec.name
    return GatewayHost(spec.name, str(address), tuple(spec.groups), ssh_route(spec.name, data))


def _settings(specs: list[HostSpec]) -> tuple[dict[str, Any], tuple[str, ...]]:
    settings: dict[str, Any] = {}
    inconsistent: list[str] = []
    for key, default in TIER_DEFAULTS.items():
        values = [s.data.get(key, default) for s in specs] or [default]
        settings[key] = values[0]
        if any(v != values[0] for v in values[1:]):
            inconsistent.append(key)
    return settings, tuple(inconsistent)


def clusters_for(settings: Mapping[str, Any]) -> tuple[tuple[ClusterRef, ...], tuple[str, ...]]:
    """Primary and backup cluster from group data ``gateway_clusters``.

    The swap point for the cross-DC design: once it names them, it supplies these instead.
    Returns the clusters found and one message per shape problem.
    """
    raw = settings.get("gateway_clusters")
    if not isinstance(raw, Mapping):
        return (), ("gateway_clusters must be {'primary': {...}, 'backup': {...}}",)
    clusters: list[ClusterRef] = []
    errors: list[str] = []
    for role in ("primary", "backup"):
        entry = raw.get(role)
        if not isinstance(entry, Mapping):
            errors.append(f"gateway_clusters has no {role!r} cluster (name, endpoints, ...)")
            continue
        ref = parse_ref(entry.get("password"))
        endpoints = entry.get("endpoints") or ()
        if isinstance(endpoints, str):
            endpoints = (endpoints,)
        clusters.append(
            ClusterRef(
                role=role,
                name=str(entry.get("name") or ""),
                endpoints=tuple(str(e) for e in endpoints),
                username=entry.get("username"),
                password=ref if isinstance(ref, SecretRef) else None,
                password_error=ref if isinstance(ref, str) else None,
                version=None if entry.get("version") is None else str(entry["version"]),
                distribution=(
                    None if entry.get("distribution") is None else str(entry["distribution"])
                ),
            )
        )
    for key in sorted(set(raw) - {"primary", "backup"}):
        errors.append(f"gateway_clusters has an unknown key {key!r} (only primary, backup)")
    return tuple(clusters), tuple(errors)


def _front_door(raw: Any, gateways: tuple[GatewayHost, ...]) -> FrontDoor | None:
    if not isinstance(raw, Mapping):
        return None
    kind = str(raw.get("kind"))
    defaults = {"keepalived": KEEPALIVED_DEFAULTS, "nginx": NGINX_DEFAULTS}.get(kind, {})
    settings = {**defaults, **raw}
    vips: list[Vip] = []
    for index, vip in enumerate(settings.get("vips") or ()):
        priorities = vip.get("priorities") or {
            # default: inventory order, first host highest
            h.name: 150 - 50 * i
            for i, h in enumerate(gateways)
        }
        vips.append(
            Vip(
                address=str(vip.get("address")),
                virtual_router_id=vip.get("virtual_router_id", 51 + index),
                priorities=dict(priorities),
            )
        )
    return FrontDoor(kind, settings, tuple(vips))


def tier_from_hosts(hosts: Iterable[HostSpec], source: str = "") -> GatewayTier | None:
    """The gateway tier of one inventory, or ``None`` when it has no gateway host."""
    specs = list(hosts)
    tier_specs = [s for s in specs if is_gateway_spec(s)]
    if not tier_specs:
        return None
    settings, inconsistent = _settings(tier_specs)
    gateways = tuple(_host(s) for s in specs if GATEWAY_GROUP in s.groups)
    clusters, cluster_errors = clusters_for(settings)
    return GatewayTier(
        source=source,
        settings=settings,
        gateways=gateways,
        balancers=tuple(_host(s) for s in specs if LB_GROUP in s.groups),
        clusters=clusters,
        front_door=_front_door(settings["gateway_front_door"], gateways),
        other_hosts=tuple(_host(s) for s in specs if not is_gateway_spec(s)),
        inconsistent_keys=inconsistent,
        cluster_errors=cluster_errors,
        lab=all(s.data.get("es_lab") is True for s in tier_specs),
    )


def tier_from_inventory(inventory: Any, source: str = "") -> GatewayTier | None:
    """From a pyinfra ``Inventory`` (the deploy and the CLI share this)."""
    return tier_from_hosts(
        (HostSpec(h.name, tuple(h.groups), h.data.dict()) for h in inventory), source=source
    )
