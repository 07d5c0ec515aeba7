"""Logstash on the hosts of a search cluster whose ``pipeline_backend`` is logstash: every host
in its ``pipeline_hosts`` runs one Logstash (``logstash.service``) holding the pipelines
``esdr.kafka.logstash`` renders for each pipeline feeding that cluster.

What a Logstash host gets (docs/kafka-dual-write.md, "Deploying Logstash"; the files:
``esdr.kafka.logstash_deploy``):

- the ``logstash`` system user; the estate's archive (``logstash_install.archive_url``,
  sha512-checked) unpacked into ``/opt/logstash/logstash-<version>``, ``/opt/logstash/current``
  pointing at it;
- in ``/etc/logstash`` (``path.settings``): ``logstash.yml``, ``jvm.options`` (the heap),
  ``log4j2.properties``, ``pipelines.yml``, the pipelines in ``conf.d/`` (0640 root:logstash);
- in ``/etc/logstash/esdr-tls``: the estate CA, the Kafka trust store (0640 root:logstash) and
  each pipeline's Kafka client keystore, ``<pipeline id>.p12`` (0600 logstash), built from the
  same client certificate esdr's pipeline service uses (CN = the pipeline id);
- the keystore ``logstash.keystore`` with every ``${VAR}`` the pipelines name (the search
  clusters' passwords, the PKCS12 stores' passwords), password-protected with
  ``LOGSTASH_KEYSTORE_PASS`` from ``/etc/default/logstash`` (0600 root), the unit's
  ``EnvironmentFile``;
- the unit, ``daemon-reload`` when it changed; a restart (one host at a time) only when
  something Logstash reads changed, then enabled and running.

Every password is generated into the estate's secrets directory (``logstash/``) or read on
this machine as the pipeline service's are (``esdr.tasks.kafka_pipeline.material``), while the
deploy is prepared: a missing one stops the run before any host is changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.operations import systemd

from esdr.errors import EsdrError
from esdr.kafka import logstash_deploy as ld
from esdr.kafka import tls
from esdr.kafka.logstash import (
    KEYSTORE_PASSWORD_VARIABLE,
    TRUSTSTORE_PASSWORD_VARIABLE,
    client_keystore_path,
    password_variable,
    pipeline_id,
    truststore_path,
)
from esdr.kafka.model import KafkaEstate
from esdr.operations import archive, secret_files
from esdr.operations.keystore import KeystoreEntry
from esdr.operations.logstash import keystore_entries
from esdr.paths import confined
from esdr.render import RenderedFile
from esdr.security import store
from esdr.security.config import marker
from esdr.security.refs import Secret
from esdr.tasks import kafka_pipeline, known
from esdr.tasks.context import project, staged_secrets
from esdr.tasks.install import service_account
from esdr.tasks.kafka import binary_secret_file, kept_store
from esdr.tasks.rendered import put_rendered

SECRETS = "logstash"  # the estate secrets directory's subdirectory of Logstash's stores


def logstash_host(model: tuple[KafkaEstate, str] | None) -> None:
    """Deploy Logstash on this host if a search cluster fed through Logstash names it in its
    ``pipeline_hosts`` (``preflight.kafka_estate`` gives the checked model)."""
    if model is None:
        return
    estate, _ = model
    services = estate.pipeline_services(host.name, "logstash")
    if services:
        logstash(estate, services)


@dataclass(frozen=True, repr=False)
class Stores:
    """The PKCS12 stores and the passwords of a Logstash host (secrets: never printed)."""

    keystore_password: Secret  # LOGSTASH_KEYSTORE_PASS
    truststore: bytes | None  # none when no pipeline's Kafka cluster has TLS
    client_keystores: dict[str, bytes]  # pipeline id -> PKCS12
    values: dict[str, Secret]  # keystore key -> value

    def __repr__(self) -> str:
        return f"Stores(clients={sorted(self.client_keystores)}, keys={sorted(self.values)})"


def _secret_path(directory: Path, name: str) -> Path:
    return confined(directory / SECRETS, name, what=f"Logstash's {name}", follow_links=False)


def stores(estate: KafkaEstate, services: list[tuple[str, str]],
           made: kafka_pipeline.Material) -> Stores:
    """The Kafka stores built from the client identities in ``made``, kept in the secrets
    directory (a rerun uploads the same bytes), and every keystore value the pipelines name."""
    topology = project().topology
    directory = store.secrets_dir(topology.cluster)
    staged = staged_secrets(topology.cluster.name)
    keystore_password = store.generated_password(directory, f"{SECRETS}/keystore-password",
                                                 staged)
    values: dict[str, Secret] = {}
    for pipeline_name, cluster_name in services:
        target = estate.search_clusters[cluster_name]
        values[password_variable(pipeline_name, cluster_name, target)] = \
            made.passwords[(pipeline_name, cluster_name)]
    truststore, clients = None, {}
    if made.identities:
        client_password = store.generated_password(
            directory, f"{SECRETS}/kafka-keystore-password", staged)
        trust_password = store.generated_password(
            directory, f"{SECRETS}/kafka-truststore-password", staged)
        values[KEYSTORE_PASSWORD_VARIABLE] = Secret(client_password)
        values[TRUSTSTORE_PASSWORD_VARIABLE] = Secret(trust_password)
        truststore, _ = kept_store(
            _secret_path(directory, "kafka-truststore.p12"), staged, directory,
            lambda kept: tls.store_is_current(kept, trust_password, ca_pem=made.ca_pem),
            lambda: tls.truststore(made.ca_pem, trust_password))
        for (pipeline_name, cluster_name), (cert_pem, key_pem) in sorted(
                made.identities.items()):
            ident = pipeline_id(pipeline_name, cluster_name)
            clients[ident], _ = kept_store(
                _secret_path(directory, f"{ident}.p12"), staged, directory,
                lambda kept, c=cert_pem, k=key_pem: tls.store_is_current(
                    kept, client_password, cert_pem=c, key_pem=k, ca_pem=made.ca_pem),
                lambda ident=ident, c=cert_pem, k=key_pem: tls.keystore(
                    ident, c, k, made.ca_pem, client_password))
    secret_files.secrets_stored(
        name="Logstash's stores and generated passwords kept in the controller's secrets "
             "directory",
        directory=str(directory),
        staged=staged,
        _run_once=True,
    )
    return Stores(Secret(keystore_password), truststore, clients, values)


def keystore_values(files: list[ld.HostFile], made: Stores) -> dict[str, Secret]:
    """The value of every ``${VAR}`` the rendered files name; a name without one is a bug in
    the render, refused here rather than found by Logstash at start."""
    wanted = ld.keystore_variables(files)
    missing = [name for name in wanted if name not in made.values]
    if missing:
        raise PyinfraError(f"esdr: the Logstash pipelines name {', '.join(missing)}, which esdr "
                           "has no value for")
    return {name: made.values[name] for name in wanted}


def tls_files(estate: KafkaEstate, clusters: list[str], ca_pem: bytes,
              made: Stores) -> list[tuple[RenderedFile, bytes | None]]:
    """The CA (at each search cluster's ``ca_file``), and the binary stores with their bytes."""
    user = ld.USER
    ca = {estate.search_clusters[c].ca_file for c in clusters}
    out: list[tuple[RenderedFile, bytes | None]] = [
        (RenderedFile(path, ca_pem.decode(), "644", "root", "root"), None)
        for path in sorted(ca)]
    if made.truststore is not None:
        out.append((RenderedFile(truststore_path(ld.PATHS), "", "640", "root", user),
                    made.truststore))
    for ident, data in sorted(made.client_keystores.items()):
        out.append((RenderedFile(client_keystore_path(ident, ld.PATHS), "", "600", user, user),
                    data))
    return out


@deploy("Logstash")
def logstash(estate: KafkaEstate, services: list[tuple[str, str]]):
    install = estate.logstash_install
    # preflight: kafka-logstash-archive-missing, -unchecked, -name
    assert install.archive_url is not None and install.sha512 is not None
    try:
        version = ld.archive_version(install.archive_url)
    except ValueError as error:
        raise PyinfraError(f"esdr: logstash_install.archive_url: {error}") from None
    clusters = sorted({cluster for _, cluster in services})
    made = kafka_pipeline.material(estate, services)
    try:
        secrets = stores(estate, services, made)
    except EsdrError as error:
        raise PyinfraError(f"esdr: {error}") from None
    rendered = ld.host_files(estate, clusters)
    values = keystore_values(rendered, secrets)
    user = ld.USER

    service_account(user, ld.DATA_DIR)
    for path, owner, group, mode in (
            (ld.DATA_DIR, user, user, "750"), (ld.LOG_DIR, user, user, "750"),
            (ld.ROOT, "root", "root", "755"), (ld.SETTINGS_DIR, "root", user, "750"),
            (ld.PATHS.conf_dir, "root", user, "750"), (ld.PATHS.tls_dir, "root", user, "750")):
        known.directory(f"Directory {path}", path, owner, group, mode)
    archive.archive(
        name=f"Install Logstash {version}",
        url=install.archive_url,
        install_dir=ld.install_dir(version),
        sha512=install.sha512,
        published_sha512=False,
        binary="bin/logstash",
    )
    changed = [known.link(f"Link {ld.CURRENT}", ld.CURRENT, ld.install_dir(version))]
    changed.append(known.secret_file(
        f"Logstash keystore password {ld.ENV_FILE} (0600 root)", ld.ENV_FILE,
        Secret(ld.env_file(secrets.keystore_password.reveal())), "root", "root", "600"))
    for item, data in tls_files(estate, clusters, made.ca_pem, secrets):
        if data is None:
            changed.append(put_rendered(item))
        else:
            changed.append(binary_secret_file(
                name=f"Logstash {item.path} (0{item.mode} {item.user})", dest=item.path,
                content=data, user=item.user, group=item.group, mode=item.mode))
    *text_ops, unit_op = [put_rendered(RenderedFile(f.path, f.content, f.mode, f.user, f.group))
                          for f in rendered]
    changed += [*text_ops, unit_op]
    systemd.daemon_reload(name="systemd daemon-reload", _if=unit_op.did_change)
    key = made.marker_key
    changed.append(keystore_entries(
        name="Logstash keystore keys " + ", ".join(sorted(values)),
        entries={name: KeystoreEntry(value, marker(key, "logstash-keystore",
                                                   f"{name}\0{value.reveal()}"))
                 for name, value in values.items()},
        password_marker=marker(key, "logstash-keystore-password",
                               secrets.keystore_password.reveal()),
        install_dir=ld.CURRENT,
        settings_dir=ld.SETTINGS_DIR,
        env_file=ld.ENV_FILE,
        user=user,
    ))
    # The restart first: on a first deploy it is the start. One host at a time (_serial): the
    # other hosts' Logstash keep the consumer groups' partitions meanwhile.
    systemd.service(
        name=f"Restart {ld.UNIT} (what it reads changed)",
        service=ld.UNIT,
        restarted=True,
        _if=lambda: any(op.did_change() for op in changed),
        _serial=True,
    )
    systemd.service(
        name=f"Service {ld.UNIT} enabled and running",
        service=ld.UNIT,
        running=True,
        enabled=True,
    )
