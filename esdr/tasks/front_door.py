"""The front door of the gateways: keepalived on the gateway hosts, or Nginx on `gateway_lb`.
Packages from the distribution (never `apt update`); reload only when the config changed."""

from __future__ import annotations

import sys

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.operations import apt, files, server, systemd

from esdr import layout
from esdr.errors import EsdrError
from esdr.gateway.model import LB_GROUP, GatewayHost, GatewayTier, front_door_sans
from esdr.gateway.render import (
    KEEPALIVED_CONF,
    NGINX_SITE,
    NGINX_TLS_DIR,
    TlsPaths,
    host_files,
    nginx_tls_paths,
)
from esdr.operations import gateway as gw
from esdr.operations import secret_files
from esdr.security import certs, store
from esdr.security.refs import Secret
from esdr.tasks import known
from esdr.tasks.context import project, staged_secrets
from esdr.tasks.rendered import put_rendered

def tls_material(names: list[str], role: str) -> tuple[bytes, bytes, bytes]:
    """This host's certificate naming ``names``, its key and the estate CA (to trust), issued
    in memory while the deploy is prepared; the controller's secrets directory is written when
    it executes (``secrets_stored``), never under --dry."""
    topology = project().topology
    staged = staged_secrets(topology.cluster.name)
    try:
        cert, key, ca, issued = certs.ensure_gateway_certificate(
            topology, host.name, names, role=role, staged=staged)
    except EsdrError as error:
        raise PyinfraError(f"esdr: {error}") from None
    if issued:
        print(f"[esdr] {role} certificate for {host.name} issued: {issued}", file=sys.stderr)
    _stored(topology, staged)
    return cert, key, ca


def estate_ca_pem() -> bytes:
    """The estate CA alone (what a gateway on a plain entry trusts its HTTPS clusters with:
    ``esdr.gateway.render.cluster_ca_path``), made if the estate has none yet."""
    topology = project().topology
    staged = staged_secrets(topology.cluster.name)
    try:
        ca = certs.load_estate_ca(topology, create=True, staged=staged)
    except EsdrError as error:
        raise PyinfraError(f"esdr: {error}") from None
    assert ca is not None
    _stored(topology, staged)
    return certs.trusted_ca_pem(topology, ca)


def _stored(topology, staged: store.Staged) -> None:
    secret_files.secrets_stored(
        name="Issued gateway-tier certificates kept in the controller's secrets directory",
        directory=str(store.secrets_dir(topology.cluster)),
        staged=staged,
        _run_once=True,
    )


def tls_files(paths: TlsPaths, material: tuple[bytes, bytes, bytes], user: str,
              what: str) -> list:
    """The CA, certificate (0644) and key (0600, ``user``) on the host; the changed ones."""
    cert, key, ca = material
    ca_file, cert_file, key_file = layout.tier_tls(paths, user)
    return [
        known.put(f"Estate CA certificate ({what})", ca.decode(), ca_file.path, ca_file.user,
                  ca_file.group, ca_file.mode),
        known.put(f"TLS certificate ({what})", cert.decode(), cert_file.path, cert_file.user,
                  cert_file.group, cert_file.mode),
        known.secret_file(f"TLS private key ({what}, 0{key_file.mode} {user})", key_file.path,
                          Secret(key.decode()), key_file.user, key_file.group, key_file.mode),
    ]


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
    changed = []
    if model.tls:  # this host's certificate from the estate CA, and the CA to verify entries
        files.directory(name=f"Directory {NGINX_TLS_DIR} (root only)", path=NGINX_TLS_DIR,
                        user="root", group="root", mode=layout.NGINX_TLS_DIR_MODE)
        material = tls_material(front_door_sans(model, host), "nginx")
        changed = tls_files(nginx_tls_paths(), material, "root", "nginx front door")
    rendered = _file(model, host, NGINX_SITE)
    site = put_rendered(rendered)
    changed.append(site)

    def reload_needed() -> bool:
        return any(op.did_change() for op in changed)

    # refuse to reload a config nginx itself rejects (the running one keeps serving)
    server.shell(name="nginx -t", commands=["nginx -t -q"], _if=reload_needed)
    systemd.service(
        name="Service nginx enabled and running",
        service="nginx.service",
        running=True,
        enabled=True,
    )
    systemd.service(
        name="Reload nginx (site or certificate changed)",
        service="nginx.service",
        reloaded=True,
        _if=reload_needed,
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
