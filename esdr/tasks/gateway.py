"""The INFINI Gateway on one gateway host: user, dirs, archive (or a clear skip), config,
secrets, the entry's TLS files (estate CA, unless a lab allows plain HTTP), unit; restart only
when something it reads changed."""

from __future__ import annotations

import sys

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.operations import files, systemd

from esdr import layout
from esdr.tasks.rendered import put_rendered
from esdr.errors import EsdrError
from esdr.gateway.model import GatewayHost, GatewayTier, entry_sans
from esdr.gateway.render import (
    SERVICE,
    cluster_ca_path,
    entry_tls_paths,
    host_files,
    install_link,
    secrets_file,
)
from esdr.operations import archive
from esdr.operations import gateway as gw
from esdr.operations import secret_files
from esdr.security.refs import Secret
from esdr.tasks import known
from esdr.tasks.front_door import estate_ca_pem, tls_files, tls_material
from esdr.tasks.install import service_account
from esdr.tasks.kernel import kernel_settings

def this_host(model: GatewayTier | None) -> GatewayHost | None:
    return model.host(host.name) if model is not None else None


def _archive_source(model: GatewayTier) -> str | None:
    """The archive URL to install from, after uploading a local file if that is the source."""
    if model["gateway_archive_local"]:
        local = str(model["gateway_archive_local"])
        cached = f"/var/cache/esdr/{local.rsplit('/', 1)[-1]}"
        files.directory(name="Directory /var/cache/esdr", path="/var/cache/esdr", mode="700")
        files.put(name="Upload the gateway archive", src=local, dest=cached)
        return f"file://{cached}"
    return model["gateway_archive_url"]


def _install(model: GatewayTier):
    """The binary, or a clear skip. Returns the link operation, or None when skipped."""
    url = _archive_source(model)
    if not url or not model["gateway_version"]:
        missing = "gateway_archive_url or gateway_archive_local" if not url else "gateway_version"
        gw.archive_skipped(
            name="INFINI Gateway binary: SKIPPED (no archive configured)",
            reason=f"no {missing} in group data; INFINI Gateway is in no package registry: "
            "mirror its release tarball and set it. Config, user, dirs and unit are still "
            "written; the service is not started",
        )
        print(
            f"[esdr] {host.name}: INFINI Gateway binary step skipped: no {missing} configured",
            file=sys.stderr,
        )
        return None
    install_dir = f"{model['gateway_install_root']}/gateway-{model['gateway_version']}"
    archive.archive(
        name=f"Install INFINI Gateway {model['gateway_version']}",
        url=url,
        install_dir=install_dir,
        sha256=model["gateway_archive_sha256"],
        sha512=model["gateway_archive_sha512"],
        published_sha512=False,  # INFINI publishes no .sha512 beside its tarballs
        top_dir=False,
        binary=model["gateway_binary"],
    )
    return files.link(
        name=f"Link {install_link(model)}", path=install_link(model), target=install_dir
    )


@deploy("INFINI Gateway")
def infini_gateway(model: GatewayTier, gateway: GatewayHost):
    user = model["gateway_user"]
    service_account(user, model["gateway_data_dir"])
    for d in layout.gateway_directories(model):
        files.directory(name=f"Directory {d.path}", path=d.path, user=d.user, group=d.group,
                        mode=d.mode)
    link = _install(model)

    try:
        secrets = secrets_file(model)
    except EsdrError as error:  # a missing env var / file: one line, before anything is sent
        raise PyinfraError(f"esdr: {error}") from None
    changed = [
        secret_files.secret_file(
            name=f"Secrets {secrets.path} (0600, {user})",
            dest=secrets.path,
            content=Secret(secrets.content),
            user=secrets.user,
            group=secrets.group,
            mode=secrets.mode,
        )
    ]
    if model.tls:  # the entry's certificate: a new one restarts the gateway like its config
        material = tls_material(entry_sans(model, gateway), "entry")
        changed.extend(tls_files(entry_tls_paths(model), material, user, "gateway entry"))
    elif (ca_path := cluster_ca_path(model)) is not None:  # a plain (lab) entry, HTTPS clusters
        changed.append(known.put("Estate CA certificate (the clusters' HTTPS)",
                                 estate_ca_pem().decode(), ca_path, "root", "root",
                                 layout.TIER_CERT_MODE))
    rendered = [
        f for f in host_files(model, gateway) if f.path.endswith(("gateway.yml", ".service"))
    ]
    for item in rendered:
        changed.append(put_rendered(item))
    unit = changed[-1]
    systemd.daemon_reload(name="systemd daemon-reload", _if=unit.did_change)
    if link is None:
        # No binary: leave the unit alone (enabled and started once an archive is configured).
        return
    changed.append(link)
    systemd.service(
        name=f"Service {SERVICE} enabled and running",
        service=f"{SERVICE}.service",
        running=True,
        enabled=True,
    )
    systemd.service(
        name=f"Restart {SERVICE} (config, secrets, unit or version changed)",
        service=f"{SERVICE}.service",
        restarted=True,
        _if=lambda: any(op.did_change() for op in changed),
    )
    gw.queue_summary(name=f"Gateway queues of {host.name}", api_port=model["gateway_api_port"])


def gateway_tier_host(model: GatewayTier | None) -> None:
    """Deploy whatever of the gateway tier this host carries: the gateway, its front door."""
    from esdr.tasks.front_door import front_door

    gateway = this_host(model)
    if model is None or gateway is None:
        return
    kernel_settings()
    if gateway in model.gateways:
        infini_gateway(model, gateway)
    front_door(model, gateway)
