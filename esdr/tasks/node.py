"""One Elasticsearch node, start to finish: install, configure, start, bootstrap once, restart."""

from __future__ import annotations

from io import StringIO

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import File, Link
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus
from pyinfra.operations import files, systemd

from esdr import layout
from esdr.facts.batch import Read, read
from esdr.facts.elasticsearch import (
    EsClusterFormedMarker,
    EsdrMarker,
    MaxMapCount,
    ServiceAccount,
)
from esdr.facts.plugins import EsdrPlugins
from esdr.gateway import cluster_user
from esdr.model import Node, Topology
from esdr.operations import elasticsearch as es
from esdr.operations import keystore, plugins, rolling_restart
from esdr.render import elasticsearch_yml, install_dir, install_link, node_files
from esdr.security import config as security
from esdr.tasks import install, known, preflight
from esdr.tasks.configure import DISTRIBUTION_CONFIG, configure_elasticsearch
from esdr.tasks.context import fact, prefetch, run_context
from esdr.tasks.install import install_elasticsearch
from esdr.tasks.kernel import kernel_reads
from esdr.tasks.post_deploy import snapshot_directories, snapshot_paths
from esdr.tasks.security import BOOTSTRAP_PASSWORD, opensearch_security_config, secure_node


def node_reads(topology: Topology) -> tuple[Read, ...]:
    """What the deploy reads on every node while it is prepared, and the end states of the
    operations ``esdr.tasks.known`` may leave out: read on all nodes at once (``prefetch``),
    one round trip per host, instead of one per fact and operation, host after host."""
    cluster = topology.cluster
    service = f"{cluster.engine.service}.service"
    conf = cluster["es_conf_dir"]
    directories = [path for path, _, _ in install.directories(topology)]
    directories += [*snapshot_paths(topology), install_dir(cluster)]
    rendered = sorted({f.path for n in cluster.nodes
                       for f in node_files(topology, n, bootstrap=False)})
    files = [*rendered, install.SYSCTL_FILE]
    if security.enabled(cluster):
        paths = security.node_paths(cluster)
        directories += [security.ESDR_ETC, paths.certs_dir]
        files += [paths.ca_cert, paths.node_cert, paths.node_key, security.CURL_CONFIG]
        if cluster.engine.name == "elasticsearch":  # the gateway's user (tasks.security)
            realm = cluster_user.FileRealmPaths(conf)
            files += [realm.roles, realm.users, realm.users_roles]
    return (
        read(EsClusterFormedMarker, data_dir=cluster["es_data_dir"]),
        read(SystemdStatus, services=(service,)),
        read(SystemdEnabled, services=(service,)),
        read(MaxMapCount),
        read(ServiceAccount, user=cluster["es_user"]),
        read(EsdrPlugins, install_dir=install_dir(cluster)),
        read(EsdrMarker, path=rolling_restart.restart_marker(topology)),
        read(EsdrMarker, path=keystore.marker_path(BOOTSTRAP_PASSWORD)),
        read(Link, path=install_link(cluster)),
        *(read(File, path=f"{conf}/{name}") for name in DISTRIBUTION_CONFIG),
        read(File, path=layout.keystore(topology.cluster).path),
        *known.directory_reads(*directories),
        *known.file_reads(*files),
        *kernel_reads(),
    )


def cluster_has_formed(topology: Topology) -> bool:
    """True once any node of this cluster recorded that the cluster formed (read on the hosts,
    once per run: every host's deploy renders the same bootstrap decision)."""
    formed = run_context().formed
    name = topology.cluster.name
    if name not in formed:
        data_dir = topology.cluster["es_data_dir"]
        formed[name] = any(
            fact(n.host, EsClusterFormedMarker, data_dir=data_dir) for n in topology.cluster.nodes
        )
    return formed[name]


def _is_running(service: str) -> bool:
    status = fact(host.name, SystemdStatus, services=(f"{service}.service",))
    return bool(status.get(f"{service}.service"))


def host_level(topology: Topology, node: Node, *, bootstrap: bool,
               upgrading: bool = False) -> tuple[list, list]:
    """What the node's host holds before its service runs: install, files, TLS, keystore,
    snapshot directories. Returns the operations whose change means a restart, and the
    OpenSearch security files (whose change means a reload). ``upgrading``: the node runs and
    is a step of this run's rolling upgrade (its link moves in the roll, not here)."""
    installed = install_elasticsearch(topology, node, hold_link=upgrading)
    config_ops = configure_elasticsearch(topology, node, bootstrap=bootstrap) + installed
    # TLS files and the keystore's bootstrap.password: a new certificate restarts like a config
    config_ops += secure_node(topology, node)
    security_config = opensearch_security_config(topology, node)
    snapshot_directories(topology, node)
    return config_ops, security_config


@deploy("Node")
def elasticsearch_node(topology: Topology, node: Node):
    cluster = topology.cluster
    service = cluster.engine.service
    prefetch([n.host for n in cluster.nodes], node_reads(topology))
    bootstrap = not cluster_has_formed(topology)
    was_running = _is_running(service)
    # A running node that the rolling upgrade moves to es_version: the roll switches its link in
    # its own step. A stopped one starts on the new version here (a run stopped mid-step leaves
    # its node so), as no order is kept by leaving it down.
    upgrading = was_running and node.name in preflight.upgrade(topology).nodes

    config_ops, security_config = host_level(topology, node, bootstrap=bootstrap,
                                             upgrading=upgrading)
    enabled = known.known(SystemdEnabled, services=(f"{service}.service",))
    if not (was_running and isinstance(enabled, dict) and enabled.get(f"{service}.service")):
        systemd.service(
            name=f"Service {service} enabled and running",
            service=f"{service}.service",
            running=True,
            enabled=True,
        )
    # A running node whose record says the cluster formed has nothing to wait for; one this
    # run starts is waited on until it has joined (the operation reads its state again).
    if not (was_running and known.shows(EsClusterFormedMarker, data_dir=cluster["es_data_dir"])):
        es.cluster_formed(
            name="Cluster has formed",
            address=node.address,
            data_dir=cluster["es_data_dir"],
            port=cluster["es_http_port"],
            timeout=cluster["es_restart_timeout"],
            service=service,
            scheme=security.scheme(cluster),
            curl_config=security.CURL_CONFIG if security.enabled(cluster) else None,
            started_now=not was_running,
        )
    if bootstrap and node.is_master_eligible:
        # The cluster exists now: take the one-time initial master list out of the file. The
        # running node already ignores it, so this change needs no restart.
        files.put(
            name="Retire the one-time bootstrap setting",
            src=StringIO(elasticsearch_yml(topology, node, bootstrap=False)),
            dest=f"{cluster['es_conf_dir']}/{cluster.engine.config_file}",
            user="root",
            group=cluster["es_user"],
            mode="660",
        )
    if security_config and not bootstrap:
        paths = security.node_paths(cluster)
        plugins.opensearch_security_reloaded(
            name="Security plugin configuration loaded (securityadmin)",
            install_dir=install_link(cluster),
            conf_dir=cluster["es_conf_dir"],
            address=node.address,
            port=cluster["es_http_port"],
            ca_cert=paths.ca_cert,
            admin_cert=security.ADMIN_CERT,
            admin_key=security.ADMIN_KEY,
            java_home=cluster["es_java_home"],
            _if=lambda: any(op.did_change() for op in security_config),
        )
    # Decided when it runs, after every config op of this node: the rolling restart (one op,
    # run once after all nodes) restarts exactly the nodes whose decision changed.
    # A restart an earlier roll left pending (it stopped first) is still due; a node that was
    # not running starts with its current configuration, so nothing is pending for it.
    marker = rolling_restart.restart_marker(topology)
    pending = fact(host.name, EsdrMarker, path=marker) is not None
    if pending and not was_running:
        files.file(name="No restart pending (the node starts with its current configuration)",
                   path=marker, present=False)
    run_context().restart_needed[node.name] = rolling_restart.restart_needed(
        name="Restart needed (config, certificate, plugin or version changed while running)",
        node_name=node.name,
        marker=marker,
        _if=lambda: was_running and (upgrading or pending
                                     or any(op.did_change() for op in config_ops)),
    )
