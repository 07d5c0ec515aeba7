"""Configure phase: the distribution's default config once, then every file esdr renders."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.facts.files import File
from pyinfra.operations import systemd

from esdr import layout
from esdr.model import Node, Topology
from esdr.operations import elasticsearch as es
from esdr.render import distribution_rewrites, install_link, node_files
from esdr.security import config as security
from esdr.tasks import known

# Files of the distribution's config/ that esdr does not render but Elasticsearch needs.
DISTRIBUTION_CONFIG = ("jvm.options", "log4j2.properties")


@deploy("Configure")
def configure_elasticsearch(topology: Topology, node: Node, *, bootstrap: bool):
    """Returns the operations whose change means the running node must restart."""
    cluster = topology.cluster
    conf = cluster["es_conf_dir"]
    for name in DISTRIBUTION_CONFIG:
        if known.shows(File, path=f"{conf}/{name}"):
            continue  # copied once, then the user's (read while preparing)
        es.default_config_file(
            name=f"Default {name} from the distribution",
            src=f"{install_link(cluster)}/config/{name}",
            dest=f"{conf}/{name}",
            group=cluster["es_user"],
            rewrites=distribution_rewrites(cluster) if name == "jvm.options" else None,
        )
    # An Elasticsearch keystore that gets entries is created by the run that writes them
    # (``keystore_entries``, one JVM start instead of two on a new node)
    filled = cluster.engine.name == "elasticsearch" and security.enabled(cluster)
    if not filled and not known.shows(File, path=layout.keystore(cluster).path):
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
        changed.append(known.put(f"Render {rendered.path}", rendered.content, rendered.path,
                                 rendered.user, rendered.group, rendered.mode))
    unit = changed[-1]
    systemd.daemon_reload(name="systemd daemon-reload", _if=unit.did_change)
    return changed
