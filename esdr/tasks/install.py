"""Install phase: service user, directories, host limits, the versioned archive and its link."""

from __future__ import annotations

from io import StringIO

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files, server

from esdr.facts.elasticsearch import MaxMapCount
from esdr.model import Node, Topology
from esdr.operations import elasticsearch as es
from esdr.render import install_dir, install_link

SYSCTL_FILE = "/etc/sysctl.d/90-esdr-elasticsearch.conf"
MAX_MAP_COUNT = 262144


@deploy("Install Elasticsearch")
def install_elasticsearch(topology: Topology, node: Node):
    cluster = topology.cluster
    user = cluster["es_user"]
    server.group(name=f"Group {user}", group=user, system=True)
    server.user(
        name=f"User {user}",
        user=user,
        group=user,
        system=True,
        shell="/usr/sbin/nologin",
        home=cluster["es_data_dir"],
        create_home=False,
    )
    for path, mode in (
        (cluster["es_data_dir"], "750"),
        (cluster["es_log_dir"], "750"),
    ):
        files.directory(name=f"Directory {path}", path=path, user=user, group=user, mode=mode)
    files.directory(
        name=f"Directory {cluster['es_conf_dir']}",
        path=cluster["es_conf_dir"],
        user="root",
        group=user,
        mode="2750",
    )
    files.directory(
        name="Directory jvm.options.d",
        path=f"{cluster['es_conf_dir']}/jvm.options.d",
        user="root",
        group=user,
        mode="2750",
    )

    if host.get_fact(MaxMapCount)["writable"]:
        files.put(
            name=f"Persist vm.max_map_count in {SYSCTL_FILE}",
            src=StringIO(f"vm.max_map_count = {MAX_MAP_COUNT}\n"),
            dest=SYSCTL_FILE,
            mode="644",
        )
    es.max_map_count(name="vm.max_map_count >= 262144", minimum=MAX_MAP_COUNT)

    url = cluster["es_archive_url"]
    if cluster["es_archive_local"]:
        cached = f"/var/cache/esdr/{cluster['es_archive_local'].rsplit('/', 1)[-1]}"
        files.directory(name="Directory /var/cache/esdr", path="/var/cache/esdr", mode="700")
        files.put(name="Upload the archive", src=cluster["es_archive_local"], dest=cached)
        url = f"file://{cached}"
    es.archive(
        name=f"Install {cluster.engine.name} {cluster.version}",
        url=url,
        install_dir=install_dir(cluster),
        sha512=cluster["es_archive_sha512"],
    )
    return files.link(
        name=f"Link {install_link(cluster)}",
        path=install_link(cluster),
        target=install_dir(cluster),
    )
