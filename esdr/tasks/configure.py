"""Configure phase: the distribution's default config once, then every file esdr renders."""

from __future__ import annotations


from pyinfra.api import deploy
from pyinfra.operations import systemd

from esdr.tasks.rendered import put_rendered
from esdr.model import Node, Topology
from esdr.operations import elasticsearch as es
from esdr.render import distribution_rewrites, install_link, node_files

# Files of the distribution's config/ that esdr does not render but Elasticsearch needs.
DISTRIBUTION_CONFIG = ("jvm.options", "log4j2.properties")


@deploy("Configure")
def configure_elasticsearch(topology: Topology, node: Node, *, bootstrap: bool):
    """Returns the operations whose change means the running node must restart."""
    cluster = topology.cluster
    conf = cluster["es_conf_dir"]
    for name in DISTRIBUTION_CONFIG:
        es.default_config_file(
            name=f"Default {name} from the distribution",
            src=f"{install_link(cluster)}/config/{name}",
            dest=f"{conf}/{name}",
            group=cluster["es_user"],
            rewrites=distribution_rewrites(cluster) if name == "jvm.options" else None,
        )
    es.keystore_created(
        name="Keystore",
        install_dir=install_link(cluster),
        conf_dir=conf,
        group=cluster["es_user"],
        java_home=cluster["es_java_home"],
        engine=cluster.engine.name,
    )
    changed = []
    for rendered in node_files(topology, node, bootstrap=bootstrap):
        changed.append(put_rendered(rendered))
    unit = changed[-1]
    systemd.daemon_reload(name="systemd daemon-reload", _if=unit.did_change)
    return changed
