"""The consumer pipeline services on the hosts the estate names for them: every host in a search
cluster's ``pipeline_hosts`` runs ``esdr-pipeline@<pipeline id>.service`` for each pipeline
feeding that cluster (``KafkaEstate.pipeline_services``).

What a pipeline host gets (docs/kafka-dual-write.md, "The deploy of the pipeline services"):

- the ``esdr-pipeline`` system user; Debian's ``python3-venv`` (the venv's ``ensurepip``);
- the runtime (``esdr.kafka.pipeline_runtime``): esdr's lock as ``requirements.txt``, the lock's
  venv filled from the estate's wheelhouse, the ``venv`` link to it, and ``esdr.zip`` (esdr's
  modules the service imports, from this machine);
- per service: its config (0640 root:esdr-pipeline), the search cluster's password (0600
  esdr-pipeline, through esdr's root-only staging), its Kafka client certificate and key (CN =
  the pipeline id, issued from the estate CA into the secrets directory like the identities of
  ``tls.clients``; the key 0600 esdr-pipeline), the estate CA for Kafka and for the cluster;
- the template unit, ``daemon-reload`` when it changed, each instance enabled and running, and
  restarted (one host at a time) only when something it reads changed.

Certificates and the password are read on this machine while the deploy is prepared, so a
missing password or an expired CA stops the run before any host is changed.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.operations import apt, files, server, systemd

import esdr
from esdr.errors import EsdrError
from esdr.kafka import pipeline_runtime as runtime
from esdr.kafka import search_user
from esdr.kafka.model import KafkaEstate, SearchCluster
from esdr.kafka.logstash import pipeline_id
from esdr.kafka.pipeline_service import (
    UNIT_TEMPLATE,
    ServicePaths,
    client_identity,
    config_path,
    config_text,
    password_file,
    password_text,
    render_config,
    render_unit,
    unit_name,
)
from esdr.operations import pipeline, secret_files
from esdr.security import certs, store
from esdr.security.config import marker
from esdr.security.refs import Secret, SecretRef, resolve
from esdr.tasks import known
from esdr.tasks.context import project, staged_secrets
from esdr.tasks.install import service_account
from esdr.tasks.kafka import client_certificate
from esdr.tasks.rendered import put_rendered
from esdr.render import RenderedFile


def pipeline_host(model: tuple[KafkaEstate, str] | None) -> None:
    """Deploy the pipeline services this host runs, if the estate names it in a search
    cluster's ``pipeline_hosts`` (``preflight.kafka_estate`` gives the checked model)."""
    if model is None:
        return
    estate, _ = model
    services = estate.pipeline_services(host.name)
    if services:
        pipeline_services(estate, services)
    # then what the estate no longer names here: an instance left running would keep consuming
    # in its old group and writing to its old target
    paths = runtime.service_paths(estate.pipeline_install)
    pipeline.instances_retired(
        name="Pipeline service instances the estate no longer runs here stopped and removed",
        keep=[pipeline_id(p, c) for p, c in services], paths=paths)


def search_password(name: str, cluster: SearchCluster) -> Secret:
    """The password of the user the estate names for search cluster ``name``, read on this
    machine: the file ``password_file`` names, else the environment variable
    ``password_variable``."""
    ref = (SecretRef("file", cluster.password_file) if cluster.password_file
           else SecretRef("env", str(cluster.password_variable)))
    return resolve(ref, f"search cluster {name}: the pipeline's password")


def own_password(pipeline_name: str, cluster_name: str) -> Secret:
    """The password of the pipeline's own user in a search cluster without credentials in the
    estate (esdr.kafka.search_user): generated once into the estate's secrets directory, staged
    with the run's other secrets; the cluster-level step sets the user with the same one
    (esdr.reconcile.pipeline_user)."""
    topology = project().topology
    directory = store.secrets_dir(topology.cluster)
    staged = staged_secrets(topology.cluster.name)
    name = search_user.password_name(search_user.user_name(pipeline_name, cluster_name))
    return Secret(store.generated_password(directory, name, staged))


def esdr_code() -> bytes:
    """esdr's modules the service imports, from the esdr this deploy runs, as one zip."""
    tree = Path(esdr.__file__).resolve().parent.parent

    def read(path: str) -> str | None:
        file = tree / path
        return file.read_text() if file.is_file() else None

    return runtime.code_zip(runtime.module_closure(read))


def _client_material(estate: KafkaEstate, services: list[tuple[str, str]]
                     ) -> tuple[bytes, dict[tuple[str, str], tuple[bytes, bytes]], bytes]:
    """The estate CA (a bundle during a rotation), each service's Kafka client certificate and
    key (issued or kept in ``kafka/<kafka cluster>/clients/`` of the secrets directory), and
    the estate's marker key."""
    topology = project().topology
    staged = staged_secrets(topology.cluster.name)
    now = dt.datetime.now(dt.timezone.utc)
    ca = certs.load_estate_ca(topology, create=True, now=now, staged=staged)
    assert ca is not None
    certs.refuse_expired(topology, ca, now)
    directory = store.secrets_dir(topology.cluster)
    identities = {}
    for pipeline_name, cluster_name in services:
        kafka_name = estate.pipelines[pipeline_name].kafka_cluster
        if not estate.kafka_clusters[kafka_name].tls.enabled:
            continue  # a lab cluster without TLS: PLAINTEXT, no client certificate
        name = client_identity(pipeline_name, cluster_name)
        cert_pem, key_pem, reason = client_certificate(topology, ca, kafka_name, name, staged,
                                                       now, directory)
        if reason:
            print(f"[esdr] Kafka {kafka_name}: client certificate {name}: {reason}",
                  file=sys.stderr)
        identities[(pipeline_name, cluster_name)] = (cert_pem, key_pem)
    key = store.marker_key(directory, staged)
    secret_files.secrets_stored(
        name="Issued pipeline client certificates and generated passwords kept in the "
             "controller's secrets directory",
        directory=str(directory),
        staged=staged,
        _run_once=True,
    )
    return certs.trusted_ca_pem(topology, ca), identities, key


@dataclass(frozen=True, repr=False)
class Material:
    """What the host's files are made of, read on this machine (secrets: never printed)."""

    ca_pem: bytes
    # (pipeline, cluster) -> cert, key; none for a Kafka cluster without TLS
    identities: dict[tuple[str, str], tuple[bytes, bytes]]
    marker_key: bytes
    passwords: dict[tuple[str, str], Secret]  # (pipeline, cluster) -> the password it logs in with

    def __repr__(self) -> str:
        return f"Material(services={sorted(self.identities)})"


def material(estate: KafkaEstate, services: list[tuple[str, str]]) -> Material:
    try:
        given = {cluster: search_password(cluster, estate.search_clusters[cluster])
                 for cluster in sorted({c for _, c in services})
                 if not estate.search_clusters[cluster].esdr_users}
        # generated ones are staged first, so the step storing the staging below keeps them
        passwords = {(p, c): given[c] if c in given else own_password(p, c)
                     for p, c in services}
        ca_pem, identities, marker_key = _client_material(estate, services)
    except EsdrError as error:
        raise PyinfraError(f"esdr: {error}") from None
    return Material(ca_pem, identities, marker_key, passwords)


def shared_files(paths: ServicePaths, ca_pem: bytes) -> list[RenderedFile]:
    """The files every service of the host reads: the estate CA (for Kafka and for the search
    cluster: one CA per estate) and the template unit, which comes last."""
    ca = ca_pem.decode()
    return [RenderedFile(f"{paths.tls_dir}/kafka-ca.crt", ca, "644", "root", "root"),
            RenderedFile(f"{paths.tls_dir}/ca.crt", ca, "644", "root", "root"),
            RenderedFile(f"{paths.unit_dir}/{UNIT_TEMPLATE}", render_unit(paths), "644", "root",
                         "root")]


def service_files(estate: KafkaEstate, pipeline_name: str, cluster_name: str,
                  paths: ServicePaths, host_name: str, made: Material
                  ) -> list[tuple[RenderedFile, bool]]:
    """One service's files, each with whether it is a secret (uploaded through the root-only
    staging, never shown): config, password, client certificate and key."""
    config = render_config(estate, pipeline_name, cluster_name, paths, host=host_name)
    ident = config.service
    password = made.passwords[(pipeline_name, cluster_name)].reveal()
    salt = marker(made.marker_key, "pipeline-password", f"{ident}\0{password}")
    user = paths.user
    out = [
        (RenderedFile(config_path(pipeline_name, cluster_name, paths), config_text(config),
                      "640", "root", user), False),
        (RenderedFile(password_file(pipeline_name, cluster_name, paths),
                      password_text(password, salt), "600", user, user), True),
    ]
    identity = made.identities.get((pipeline_name, cluster_name))
    if identity is not None:
        cert_pem, key_pem = identity
        assert config.kafka.ssl_certificate_location and config.kafka.ssl_key_location
        out += [(RenderedFile(config.kafka.ssl_certificate_location, cert_pem.decode(), "644",
                              "root", "root"), False),
                (RenderedFile(config.kafka.ssl_key_location, key_pem.decode(), "600", user,
                              user), True)]
    return out


def _put(item: RenderedFile, secret: bool, what: str):
    if secret:
        return known.secret_file(f"{what} {item.path} (0{item.mode} {item.user})", item.path,
                                 Secret(item.content), item.user, item.group, item.mode)
    return put_rendered(item)


@deploy("Kafka pipeline services")
def pipeline_services(estate: KafkaEstate, services: list[tuple[str, str]]):
    install = estate.pipeline_install
    assert install.wheelhouse_url is not None  # preflight: kafka-pipeline-wheelhouse-missing
    paths = runtime.service_paths(install)
    user = paths.user
    made = material(estate, services)

    service_account(user, paths.home)
    known.directory(f"Directory {paths.home}", paths.home, user, user, "750")
    if install.python == runtime.DEBIAN_PYTHON:
        apt.packages(name=f"Package {runtime.DEBIAN_VENV_PACKAGE} (the venv's ensurepip)",
                     packages=[runtime.DEBIAN_VENV_PACKAGE], update=False)
    for path, group, mode in ((install.root, "root", "755"), (paths.conf_dir, user, "750"),
                              (paths.tls_dir, user, "750")):
        known.directory(f"Directory {path}", path, "root", group, mode)

    # the runtime, shared by every service of this host
    requirements = runtime.requirements_text()
    venv = runtime.venv_dir(install, requirements)
    known.put(f"Pipeline runtime lock {runtime.requirements_path(install)}", requirements,
              runtime.requirements_path(install), "root", "root", "644")
    pipeline.venv_installed(
        name=f"Pipeline runtime {venv} (from {install.wheelhouse_url})",
        venv=venv, python=install.python, wheelhouse_url=install.wheelhouse_url,
        requirements=runtime.requirements_path(install))
    link = known.link(f"Link {runtime.venv_link(install)}", runtime.venv_link(install), venv)
    code = files.put(name=f"esdr's pipeline modules {runtime.code_path(install)}",
                     src=BytesIO(esdr_code()), dest=runtime.code_path(install), user="root",
                     group="root", mode="644")
    *shared_ops, unit = [put_rendered(item) for item in shared_files(paths, made.ca_pem)]
    systemd.daemon_reload(name="systemd daemon-reload", _if=unit.did_change)
    shared = [link, code, unit, *shared_ops]

    for pipeline_name, cluster_name in services:
        own = [_put(item, secret, f"Pipeline {pipeline_id(pipeline_name, cluster_name)}:")
               for item, secret in service_files(estate, pipeline_name, cluster_name, paths,
                                                 host.name, made)]
        changed = shared + own
        # The restart first: on a first deploy it is the start (systemctl restart starts a
        # stopped unit). One host at a time (_serial): the other hosts' instances keep the
        # group's partitions meanwhile.
        systemd.service(
            name=f"Restart {unit_name(pipeline_name, cluster_name)} (what it reads changed)",
            service=unit_name(pipeline_name, cluster_name),
            restarted=True,
            _if=lambda changed=changed: any(op.did_change() for op in changed),
            _serial=True,
        )
        systemd.service(
            name=f"Service {unit_name(pipeline_name, cluster_name)} enabled and running",
            service=unit_name(pipeline_name, cluster_name),
            running=True,
            enabled=True,
        )
    # the venvs of earlier locks, once the services run on this one
    server.shell(name="Earlier pipeline runtimes removed",
                 commands=[runtime.stale_venvs_command(install, requirements)],
                 _if=link.did_change)
