"""The front door of the gateways: keepalived on the gateway hosts, or Nginx on `gateway_lb`.
Packages from the distribution (never `apt update`); reload only when the config changed."""

from __future__ import annotations


from pyinfra.api import deploy
from pyinfra.operations import apt, server, systemd

from esdr.tasks.rendered import put_rendered
from esdr.gateway.model import LB_GROUP, GatewayHost, GatewayTier
from esdr.gateway.render import KEEPALIVED_CONF, NGINX_SITE, host_files
from esdr.operations import gateway as gw

NGINX_FLAVOURS = ["nginx", "nginx-light", "nginx-full", "nginx-core", "nginx-extras"]


def _file(model: GatewayTier, host: GatewayHost, path: str):
    return next(f for f in host_files(model, host) if f.path == path)


@deploy("Front door: keepalived")
def keepalived(model: GatewayTier, host: GatewayHost):
    apt.packages(name="Package keepalived", packages=["keepalived"], update=False)
    rendered = _file(model, host, KEEPALIVED_CONF)
    conf = put_rendered(rendered)
    systemd.service(
        name="Service keepalived enabled and running",
        service="keepalived.service",
        running=True,
        enabled=True,
    )
    # SIGHUP re-reads the config without dropping a VIP this host holds
    systemd.service(
        name="Reload keepalived (config changed)",
        service="keepalived.service",
        reloaded=True,
        _if=conf.did_change,
    )


@deploy("Front door: nginx")
def nginx(model: GatewayTier, host: GatewayHost):
    gw.package_any(name="Package nginx", names=NGINX_FLAVOURS, install="nginx")
    rendered = _file(model, host, NGINX_SITE)
    site = put_rendered(rendered)
    # refuse to reload a config nginx itself rejects (the running one keeps serving)
    server.shell(name="nginx -t", commands=["nginx -t -q"], _if=site.did_change)
    systemd.service(
        name="Service nginx enabled and running",
        service="nginx.service",
        running=True,
        enabled=True,
    )
    systemd.service(
        name="Reload nginx (site changed)",
        service="nginx.service",
        reloaded=True,
        _if=site.did_change,
    )


def front_door(model: GatewayTier, host: GatewayHost) -> None:
    """Whatever front door this host carries (none for floating_ip: the gateway does it)."""
    fd = model.front_door
    if fd is None:
        return
    if fd.kind == "keepalived" and host in model.gateways:
        keepalived(model, host)
    if fd.kind == "nginx" and LB_GROUP in host.groups:
        nginx(model, host)
