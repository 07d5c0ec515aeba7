"""A Kafka controller or broker on one host: user, directories, the archive (sha512-checked), its
``server.properties`` and log4j configuration, the TLS stores from the estate CA, the storage
formatted once, the unit; a restart only when something the process reads changed.

The model is the estate's ``kafka:`` section (``esdr.kafka.model.KafkaEstate``), checked by
``esdr.tasks.preflight.kafka_estate`` before any host is touched. Certificates are issued here,
on the controller, with esdr's own issuing (``esdr.security.certs``) and kept in the estate's
secrets directory under ``kafka/<cluster>/``; the PKCS12 stores are built from them by the pure
``esdr.kafka.tls`` and kept there too, so a rerun uploads the same bytes and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import OperationValueError, deploy, operation
from pyinfra.api.exceptions import PyinfraError
from pyinfra.facts.files import File, Sha256File
from pyinfra.operations import systemd

from esdr.errors import EsdrError
from esdr.kafka import tls, unit
from esdr.kafka.model import KafkaCluster, KafkaEstate
from esdr.kafka.render import server_properties
from esdr.model import Topology
from esdr.operations import archive, secret_files
from esdr.operations import kafka as kafka_ops
from esdr.paths import confined
from esdr.render import RenderedFile
from esdr.security import certs, store
from esdr.security.config import ESDR_ETC
from esdr.security.refs import Secret
from esdr.security.sans import renewal_reason, sans_of
from esdr.tasks import known
from esdr.tasks.context import project, staged_secrets
from esdr.tasks.install import service_account
from esdr.tasks.rendered import put_rendered

KEYSTORE_PASSWORD_FILE = "keystore-password"
TRUSTSTORE_PASSWORD_FILE = "truststore-password"


# --- on the controller: certificates and stores, kept in the secrets directory -----------------


@dataclass(frozen=True, repr=False)
class KafkaMaterial:
    stores: tls.NodeStores
    clients: dict[str, tuple[bytes, bytes]]  # name -> (cert PEM, key PEM), kept on the controller
    ca_pem: bytes
    issued: tuple[str, ...]  # what was (re)issued or rebuilt in this run, for the log

    def __repr__(self) -> str:
        return f"KafkaMaterial({self.stores!r}, clients={sorted(self.clients)})"


def _paths(directory: Path, cluster_name: str, *parts: str) -> Path:
    return confined(directory / "kafka", cluster_name, *parts,
                    what=f"Kafka TLS material of {cluster_name!r}", follow_links=False)


def _identity(topology: Topology, ca: certs.Ca, cert_path: Path, key_path: Path,
              common_name: str, names: list[str], staged: store.Staged, now: dt.datetime,
              directory: Path) -> tuple[bytes, bytes, str | None]:
    """A certificate and key kept at ``cert_path``/``key_path``, (re)issued on the node
    certificates' rules (``renewal_reason``): (cert, key, why issued or None)."""
    settings = topology.cluster
    wanted = sans_of(names)
    cert_pem = store.read_staged(cert_path, staged)
    key_pem = store.read_staged(key_path, staged)
    info = certs.cert_info(cert_pem) if cert_pem and key_pem else None
    reason = renewal_reason(wanted, info, ca.key_id, now, int(settings["es_cert_renew_days"]),
                            ca_not_after=ca.not_after)
    if reason:
        cert_pem, key_pem = certs.issue_node_cert(ca, common_name, wanted,
                                                  int(settings["es_cert_days"]), now)
        store.write_or_stage(key_path, key_pem, staged, root=directory)
        store.write_or_stage(cert_path, cert_pem, staged, root=directory)
    assert cert_pem and key_pem
    return cert_pem, key_pem, reason


def client_certificate(topology: Topology, ca: certs.Ca, cluster_name: str, name: str,
                       staged: store.Staged, now: dt.datetime, directory: Path
                       ) -> tuple[bytes, bytes, str | None]:
    """A client identity of Kafka cluster ``cluster_name`` (CN ``name``, PEM), kept in
    ``kafka/<cluster>/clients/`` of the secrets directory: ``tls.clients``, ``esdr-admin`` and
    the pipeline services' (``esdr.tasks.kafka_pipeline``). (cert, key, why issued or None)."""
    return _identity(topology, ca, _paths(directory, cluster_name, "clients", f"{name}.crt"),
                     _paths(directory, cluster_name, "clients", f"{name}.key"), name, [],
                     staged, now, directory)


def kept_store(path: Path, staged: store.Staged, directory: Path,
                current: Callable[[bytes], bool], build: Callable[[], bytes]
                ) -> tuple[bytes, bool]:
    """The store kept at ``path`` while ``current(kept)`` holds, else a new one from ``build``
    (PKCS12 bytes differ on every build: keeping them is what makes a rerun change nothing)."""
    kept = store.read_staged(path, staged)
    if kept is not None and current(kept):
        return kept, False
    data = build()
    store.write_or_stage(path, data, staged, root=directory)
    return data, True


def kafka_material(topology: Topology, cluster_name: str, cluster: KafkaCluster, host_name: str,
                   *, staged: store.Staged, now: dt.datetime | None = None) -> KafkaMaterial:
    """This host's keystore, the cluster's trust store and passwords, and the cluster's client
    identities, from the estate CA of ``topology``; everything new is kept in ``staged``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    ca = certs.load_estate_ca(topology, create=True, now=now, staged=staged)
    assert ca is not None
    certs.refuse_expired(topology, ca, now)
    directory = store.secrets_dir(topology.cluster)
    ca_pem = certs.trusted_ca_pem(topology, ca)
    issued: list[str] = []
    prefix = f"kafka/{cluster_name}"
    keystore_password = store.generated_password(
        directory, f"{prefix}/{KEYSTORE_PASSWORD_FILE}", staged)
    truststore_password = store.generated_password(
        directory, f"{prefix}/{TRUSTSTORE_PASSWORD_FILE}", staged)
    names = [cluster.address(host_name), host_name]  # tls.node_sans
    cert_pem, key_pem, reason = _identity(
        topology, ca, _paths(directory, cluster_name, f"{host_name}.crt"),
        _paths(directory, cluster_name, f"{host_name}.key"), host_name, names, staged, now,
        directory)
    if reason:
        issued.append(f"certificate of {host_name}: {reason}")
    keystore, built = kept_store(
        _paths(directory, cluster_name, f"{host_name}.p12"), staged, directory,
        lambda kept: tls.store_is_current(kept, keystore_password, cert_pem=cert_pem,
                                          key_pem=key_pem, ca_pem=ca_pem),
        lambda: tls.keystore(host_name, cert_pem, key_pem, ca_pem, keystore_password))
    if built:
        issued.append(f"keystore of {host_name}")
    truststore, built = kept_store(
        _paths(directory, cluster_name, tls.TRUSTSTORE_FILE), staged, directory,
        lambda kept: tls.store_is_current(kept, truststore_password, ca_pem=ca_pem),
        lambda: tls.truststore(ca_pem, truststore_password))
    if built:
        issued.append("trust store")
    clients = {}
    for name in cluster.client_identities():  # tls.clients and esdr-admin (topics)
        client_cert, client_key, reason = client_certificate(topology, ca, cluster_name, name,
                                                             staged, now, directory)
        clients[name] = (client_cert, client_key)
        if reason:
            issued.append(f"client certificate {name}: {reason}")
    stores = tls.node_stores(cluster, host_name, keystore, truststore, keystore_password,
                             truststore_password)
    return KafkaMaterial(stores, clients, ca_pem, tuple(issued))


# --- on the host --------------------------------------------------------------------------------


@operation()
def binary_secret_file(dest: str, content: bytes, user: str, group: str, mode: str = "600",
                       staging_dir: str = ESDR_ETC):
    """
    ``secret_files.secret_file`` for bytes (a PKCS12 store): uploaded into the root-only
    staging directory, given its owner and mode there, then renamed into place; never shown.

    + dest: absolute path on the host
    + content: the file's bytes
    + user, group, mode: the final owner and permissions (600/640/644: a store is encrypted,
      a trust store holds only the CA certificate)
    """
    if mode not in ("600", "640", "644"):
        raise OperationValueError(f"binary_secret_file mode {mode}: use 600, 640 or 644")
    wanted = hashlib.sha256(content).hexdigest()
    current = host.get_fact(File, path=dest)
    same_content = bool(current) and host.get_fact(Sha256File, path=dest) == wanted
    same_meta = bool(current) and (current["user"] == user and current["group"] == group
                                   and current["mode"] == int(mode))
    if same_content and same_meta:
        host.noop(f"{dest} is in place")
        return
    owner = f"{shlex.quote(user)}:{shlex.quote(group)}"
    if same_content:
        yield f"chown {owner} {shlex.quote(dest)} && chmod {mode} {shlex.quote(dest)}"
        return
    temp = secret_files.staging_path(dest, staging_dir)
    yield f"install -d -m 700 -o root -g root {shlex.quote(staging_dir)}"
    upload = secret_files.SecretUpload("", temp)
    upload.src = BytesIO(content)  # the sudo-safe upload of secret_files, with bytes
    yield upload
    yield (f"chown {owner} {shlex.quote(temp)} && chmod {mode} {shlex.quote(temp)} && "
           f"mv -f {shlex.quote(temp)} {shlex.quote(dest)}")


@operation()
def storage_formatted(meta_properties: str, command: str):
    """
    Run Kafka's one-shot storage format when ``meta_properties`` is absent; a formatted node
    (one with data) is left alone, so a rerun changes nothing.

    + meta_properties: what ``StorageTool format`` writes into the metadata log directory
    + command: the format command (``esdr.kafka.unit.format_command``, guarded the same way)
    """
    if host.get_fact(File, path=meta_properties):
        host.noop(f"Kafka storage is formatted ({meta_properties})")
        return
    yield command


def _material(cluster_name: str, cluster: KafkaCluster) -> KafkaMaterial:
    topology = project().topology
    staged = staged_secrets(topology.cluster.name)
    try:
        material = kafka_material(topology, cluster_name, cluster, host.name, staged=staged)
    except EsdrError as error:
        raise PyinfraError(f"esdr: {error}") from None
    for line in material.issued:
        print(f"[esdr] Kafka {cluster_name}: {line}", file=sys.stderr)
    secret_files.secrets_stored(
        name="Issued Kafka certificates and stores kept in the controller's secrets directory",
        directory=str(store.secrets_dir(topology.cluster)),
        staged=staged,
        _run_once=True,
    )
    return material


def host_files(cluster_name: str, cluster: KafkaCluster, host_name: str) -> list[RenderedFile]:
    """The rendered text files of one Kafka host, at their paths with owner and mode: what
    the process reads (``server.properties`` and log4j, root-owned, readable by its group)
    and the unit."""
    user = cluster.user
    return [
        RenderedFile(unit.properties_path(cluster),
                     server_properties(cluster_name, cluster, host_name), "640", "root", user),
        RenderedFile(unit.log4j_path(cluster), unit.log4j(cluster), "640", "root", user),
        RenderedFile(unit.UNIT_PATH, unit.unit(cluster_name, cluster, host_name), "644", "root",
                     "root"),
    ]


def format_seed(topology: Topology) -> str:
    """What the cluster id is derived from: the estate (its secrets directory's name)."""
    return store.estate_name(topology.cluster)


def in_sync_of(cluster_name: str, cluster: KafkaCluster) -> kafka_ops.InSync:
    """Asks the cluster, from this machine as the topics step does (the ``esdr-admin`` identity,
    ``esdr.kafka_io.cluster``), which partitions are out of sync; the client is made when the
    restart has happened, once the identity exists."""
    from esdr.kafka_io.admin import out_of_sync
    from esdr.kafka_io.cluster import admin_for, where_of

    topology = project().topology

    def check() -> list[str]:
        return out_of_sync(admin_for(topology, cluster_name, cluster, timeout=10), timeout=10)

    return kafka_ops.InSync(where_of(cluster_name, cluster), check)


@deploy("Kafka")
def kafka_node(cluster_name: str, cluster: KafkaCluster, seed: str):
    user = cluster.user
    service_account(user, cluster.data_dir)
    directories = [
        (cluster.data_dir, user, user, "750"),
        (cluster.log_dir, user, user, "750"),
        (cluster.conf_dir, "root", user, "750"),
    ]
    if cluster.tls.enabled:
        directories.append((cluster.tls.dir, "root", user, "750"))
    for path, owner, group, mode in directories:
        known.directory(f"Directory {path}", path, owner, group, mode)

    install = cluster.install
    assert install.archive_url and install.sha512  # preflight refused the rest
    archive.archive(
        name=f"Install Kafka {install.version}",
        url=install.archive_url,
        install_dir=unit.install_dir(cluster),
        sha512=install.sha512,
        published_sha512=False,
        top_dir=install.top_dir,
        # `test -x` on a directory holds when it can be entered: the install has libs/
        binary="libs",
    )
    changed = [known.link(f"Link {unit.install_link(cluster)}", unit.install_link(cluster),
                          unit.install_dir(cluster))]

    if cluster.tls.enabled:
        stores = _material(cluster_name, cluster).stores
        changed += [
            binary_secret_file(name=f"Kafka keystore {stores.keystore_path} (0600 {user})",
                               dest=stores.keystore_path, content=stores.keystore, user=user,
                               group=user, mode="600"),
            binary_secret_file(name=f"Kafka trust store {stores.truststore_path}",
                               dest=stores.truststore_path, content=stores.truststore,
                               user="root", group=user, mode="640"),
            known.secret_file(f"Kafka store passwords {stores.passwords_path} (0600 {user})",
                              stores.passwords_path, Secret(stores.passwords), user, user,
                              "600"),
        ]
    rendered = host_files(cluster_name, cluster, host.name)
    for item in rendered:
        changed.append(put_rendered(item))
    unit_op = changed[-1]
    systemd.daemon_reload(name="systemd daemon-reload", _if=unit_op.did_change)

    controller = host.name in cluster.controllers and cluster.quorum == "dynamic"
    storage_formatted(
        name=f"Kafka storage of {host.name} formatted (once)",
        meta_properties=unit.meta_properties_path(cluster),
        command=unit.format_command(
            cluster, host.name, tls.cluster_id(f"{seed}/{cluster_name}"),
            tls.directory_ids(cluster_name, cluster, seed) if controller else None),
    )
    # The restart first: on a first deploy it is the start (systemctl restart starts a stopped
    # unit), and the next operation then only enables it, instead of starting and restarting.
    # One host at a time (_serial), each listening again before the next goes down, and a
    # broker until every partition is in sync again (as the Elasticsearch roll waits for green).
    port = cluster.broker_port if host.name in cluster.brokers else cluster.controller_port
    address = cluster.address(host.name)
    kafka_ops.restarted(
        name=f"Restart {unit.SERVICE} (config, stores, unit or version changed)",
        service=unit.SERVICE,
        address=address,
        port=port,
        in_sync=in_sync_of(cluster_name, cluster) if host.name in cluster.brokers else None,
        _if=lambda: any(op.did_change() for op in changed),
        _serial=True,
    )
    systemd.service(
        name=f"Service {unit.SERVICE} enabled and running",
        service=f"{unit.SERVICE}.service",
        running=True,
        enabled=True,
    )
    # The hosts together: a controller does not finish starting until a majority has.
    kafka_ops.listening(
        name=f"{unit.SERVICE} listens on {address}:{port}",
        service=unit.SERVICE,
        address=address,
        port=port,
    )


def kafka_host(model: tuple[KafkaEstate, str] | None) -> None:
    """Deploy the Kafka process this host carries, if it is a controller or broker of one of
    the estate's Kafka clusters (``preflight.kafka_estate`` gives the checked model and the
    seed of the cluster ids)."""
    if model is None:
        return
    estate, seed = model
    for cluster_name, cluster in sorted(estate.kafka_clusters.items()):
        if cluster.roles(host.name):
            kafka_node(cluster_name, cluster, seed)
            return
