"""Every file the deploy uploads to a gateway or Nginx host, computed from the tier. Pure.

``esdr render`` and the deploy both call ``host_files``, so what a reviewer reads is what lands
on the host. The secrets file is the exception: it is built only at deploy time
(``secrets_file``) and never rendered to disk by ``esdr render``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any


from esdr.gateway.model import LB_GROUP, GatewayHost, GatewayTier, Vip
from esdr.gateway.secrets import env_file_text, resolve, runtime_env_name, runtime_ref
from esdr.render import SYSTEMD_DIR, RenderedFile, render_template

SERVICE = "infini-gateway"
KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
NGINX_SITE = "/etc/nginx/conf.d/esdr-gateways.conf"

# Reads go to the read flow, everything else is a write (https://docs.infinilabs.com/gateway/).
DEFAULT_READ_RULES: tuple[dict[str, Any], ...] = (
    {"method": ["GET", "HEAD"], "pattern": ["/{any:*}"]},
    {
        "method": ["POST", "GET"],
        "pattern": [
            "/_refresh",
            "/_count",
            "/_search",
            "/_msearch",
            "/_mget",
            "/{any_index}/_count",
            "/{any_index}/_search",
            "/{any_index}/_msearch",
            "/{any_index}/_mget",
        ],
    },
)


def queue_name(cluster_name: str) -> str:
    """The disk queue holding writes still owed to ``cluster_name`` (named for its target)."""
    return f"{cluster_name}-queue"


def config_path(tier: GatewayTier) -> str:
    return f"{tier['gateway_conf_dir']}/gateway.yml"


def env_path(tier: GatewayTier) -> str:
    return f"{tier['gateway_conf_dir']}/gateway.env"


def install_link(tier: GatewayTier) -> str:
    return f"{tier['gateway_install_root']}/current"


def binary_path(tier: GatewayTier) -> str:
    return f"{install_link(tier)}/{tier['gateway_binary']}"


def _floating_ip(tier: GatewayTier, host: GatewayHost) -> dict[str, Any] | None:
    fd = tier.front_door
    if fd is None or fd.kind != "floating_ip" or not fd.vips:
        return None
    vip = fd.vips[0]
    iface = ipaddress.IPv4Interface(vip.address)
    return {
        "ip": str(iface.ip),
        "netmask": str(iface.netmask),
        "interface": fd.settings.get("interface", "eth0"),
        "priority": vip.priorities.get(host.name, 100),
    }


def gateway_yml(tier: GatewayTier, host: GatewayHost) -> str:
    primary, backup = tier.primary, tier.backup
    assert primary is not None and backup is not None, "validate the tier first"
    clusters = (primary, backup)
    return render_template(
        "gateway/gateway.yml.j2",
        tier=tier,
        host=host,
        clusters=clusters,
        primary=primary,
        backup=backup,
        queue_of={c.name: queue_name(c.name) for c in clusters},
        password_of={c.name: runtime_ref(c.name) for c in clusters},
        read_rules=tier["gateway_read_rules"] or DEFAULT_READ_RULES,
        floating_ip=_floating_ip(tier, host),
    )


def gateway_unit(tier: GatewayTier) -> str:
    fd = tier.front_door
    return render_template(
        "gateway/infini-gateway.service.j2",
        user=tier["gateway_user"],
        env_file=env_path(tier),
        data_dir=tier["gateway_data_dir"],
        binary=binary_path(tier),
        config=config_path(tier),
        floating_ip=fd is not None and fd.kind == "floating_ip",
    )


def check_command(tier: GatewayTier) -> str:
    """The vrrp_script probe: the local gateway's API health, or its entry port."""
    fd = tier.front_door
    if fd is not None and fd.settings.get("check") == "entry":
        url = f"http://127.0.0.1:{tier['gateway_entry_port']}/"
    else:
        url = f"http://127.0.0.1:{tier['gateway_api_port']}/health"
    return f"/usr/bin/curl -fsS -m 2 -o /dev/null {url}"


def _instance(vip: Vip, host: GatewayHost, nopreempt: bool) -> dict[str, Any]:
    priority = vip.priorities.get(host.name, 100)
    top = max(vip.priorities.values()) if vip.priorities else priority
    # keepalived honours nopreempt only when every host starts as BACKUP
    state = "BACKUP" if nopreempt or priority != top else "MASTER"
    return {
        "virtual_router_id": vip.virtual_router_id,
        "priority": priority,
        "state": state,
        "address": vip.address,
    }


def keepalived_conf(tier: GatewayTier, host: GatewayHost) -> str:
    fd = tier.front_door
    assert fd is not None and fd.kind == "keepalived"
    nopreempt = bool(fd.settings["nopreempt"])
    return render_template(
        "gateway/keepalived.conf.j2",
        host=host,
        fd=fd.settings,
        check_command=check_command(tier),
        instances=[_instance(v, host, nopreempt) for v in fd.vips],
        peers=[g.address for g in tier.gateways if g.name != host.name],
    )


@dataclass(frozen=True)
class _Server:
    name: str
    address: str
    backup: bool


def nginx_servers(tier: GatewayTier) -> list[_Server]:
    fd = tier.front_door
    assert fd is not None
    by_name = {g.name: g for g in tier.gateways}
    names = fd.settings.get("upstreams") or list(by_name)
    backup = set(fd.settings.get("backup") or ())
    out = []
    for name in list(names) + [b for b in backup if b not in names]:
        gateway = by_name.get(name)
        out.append(_Server(name, gateway.address if gateway else name, name in backup))
    return out


def nginx_hashed(tier: GatewayTier) -> bool:
    """Hash by index unless a backup server is configured (nginx forbids backup with hash)."""
    fd = tier.front_door
    assert fd is not None
    return bool(fd.settings.get("hash_by_index")) and not fd.settings.get("backup")


def nginx_site(tier: GatewayTier, host: GatewayHost) -> str:
    fd = tier.front_door
    assert fd is not None and fd.kind == "nginx"
    return render_template(
        "gateway/nginx-gateways.conf.j2",
        host=host,
        fd=fd.settings,
        servers=nginx_servers(tier),
        hashed=nginx_hashed(tier),
        entry_port=tier["gateway_entry_port"],
    )


def host_files(tier: GatewayTier, host: GatewayHost) -> list[RenderedFile]:
    """Every rendered file for ``host`` (a gateway, an Nginx host, or both), upload order."""
    out: list[RenderedFile] = []
    fd = tier.front_door
    if host in tier.gateways:
        user = tier["gateway_user"]
        out.append(RenderedFile(config_path(tier), gateway_yml(tier, host), "640", "root", user))
        out.append(
            RenderedFile(
                f"{SYSTEMD_DIR}/{SERVICE}.service", gateway_unit(tier), "644", "root", "root"
            )
        )
        if fd is not None and fd.kind == "keepalived":
            out.append(
                RenderedFile(KEEPALIVED_CONF, keepalived_conf(tier, host), "644", "root", "root")
            )
    if LB_GROUP in host.groups and fd is not None and fd.kind == "nginx":
        out.append(RenderedFile(NGINX_SITE, nginx_site(tier, host), "644", "root", "root"))
    return out


def secrets_file(tier: GatewayTier) -> RenderedFile:
    """The EnvironmentFile with the resolved passwords (deploy time only; 0600, gateway user)."""
    values = {
        runtime_env_name(c.name): resolve(c.password, f"gateway cluster {c.name} password")
        for c in tier.clusters
        if c.username and c.password is not None
    }
    user = tier["gateway_user"]
    return RenderedFile(env_path(tier), env_file_text(values), "600", user, user)
