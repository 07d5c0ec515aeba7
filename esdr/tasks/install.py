"""Install phase: service user, directories, host limits, the versioned archive and its link."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import Directory
from pyinfra.operations import files, server

from esdr import layout
from esdr.facts.elasticsearch import MaxMapCount, ServiceAccount
from esdr.facts.plugins import EsdrPlugins
from esdr.model import Node, Topology
from esdr.operations import archive
from esdr.operations import elasticsearch as es
from esdr.operations import plugins
from esdr.render import install_dir, install_link
from esdr.tasks import known
from esdr.tasks.context import fact
from esdr.tasks.kernel import kernel_settings

SYSCTL_FILE = layout.MAX_MAP_COUNT_FILE
MAX_MAP_COUNT = layout.MAX_MAP_COUNT
SHELL = layout.SERVICE_SHELL


def service_account(user: str, home: str) -> None:
    """The system user and group a service runs as: no login, its data dir as home (not
    created here: the caller makes it with its own owner and mode). Left out when what the
    deploy read while preparing shows them as pyinfra would leave them (``ServiceAccount``)."""
    account = known.known(ServiceAccount, user=user)
    account = account if isinstance(account, dict) else {}
    if not account.get("group_listed"):
        server.group(name=f"Group {user}", group=user, system=True)
    home_dir = known.known(Directory, path=home)
    if not (account.get("user") == {"home": home, "shell": SHELL, "group": user}
            and isinstance(home_dir, dict) and home_dir.get("user") == user
            and home_dir.get("group") == user):
        server.user(
            name=f"User {user}",
            user=user,
            group=user,
            system=True,
            shell=SHELL,
            home=home,
            create_home=False,
        )


@deploy("Install")
def install_elasticsearch(topology: Topology, node: Node, *, hold_link: bool = False):
    """``hold_link``: this node is a step of a rolling upgrade and runs: the new version is
    installed beside the one it runs, and the rolling restart moves the link in the node's own
    step (``esdr.operations.rolling_restart``). Moved here, on every node before the first
    restart, a node that restarted for any other reason would come up on the new version out
    of the upgrade's order."""
    cluster = topology.cluster
    user = cluster["es_user"]
    service_account(user, cluster["es_data_dir"])
    for path, owner, mode in directories(topology):
        name = "Directory jvm.options.d" if path.endswith("/jvm.options.d") else f"Directory {path}"
        known.directory(name, path, owner, user, mode)

    max_map_count = fact(host.name, MaxMapCount)
    if max_map_count["writable"]:
        conf = layout.max_map_count_conf()
        known.put(f"Persist vm.max_map_count in {conf.path}", layout.MAX_MAP_COUNT_LINE,
                  conf.path, conf.user, conf.group, conf.mode)
    # read while preparing; nothing the deploy does lowers it
    if max_map_count["value"] < MAX_MAP_COUNT:
        es.max_map_count(name=f"vm.max_map_count >= {MAX_MAP_COUNT}", minimum=MAX_MAP_COUNT)
    kernel_settings()

    url = _uploaded("the archive", cluster["es_archive_local"]) or cluster["es_archive_url"]
    if not known.shows(Directory, path=install_dir(cluster)):
        archive.archive(
            name=f"Install {cluster.engine.name} {cluster.version}",
            url=url,
            install_dir=install_dir(cluster),
            sha512=cluster["es_archive_sha512"],
        )
    # Plugins go into the versioned directory before the link moves to it, so the link never
    # points at a distribution that lacks a plugin the config needs.
    changed = install_plugins(topology)
    if hold_link:
        return changed
    return [
        known.link(f"Link {install_link(cluster)}", install_link(cluster), install_dir(cluster)),
        *changed,
    ]


def directories(topology: Topology) -> list[tuple[str, str, str]]:
    """(path, owner, mode) of the directories the install makes; their group is the service
    user's."""
    return [(d.path, d.user, d.mode) for d in layout.node_directories(topology.cluster)]


def _uploaded(what: str, local: str | None) -> str | None:
    """Upload a file from the deploying machine into the host's cache; its file:// URL."""
    if not local:
        return None
    cached = f"/var/cache/esdr/{local.rsplit('/', 1)[-1]}"
    files.directory(name="Directory /var/cache/esdr", path="/var/cache/esdr", mode="700")
    files.put(name=f"Upload {what} {local.rsplit('/', 1)[-1]}", src=local, dest=cached)
    return f"file://{cached}"


def install_plugins(topology: Topology) -> list:
    """es_plugins installed, plugins esdr installed before but no longer listed removed."""
    cluster = topology.cluster
    engine = cluster.engine
    target = install_dir(cluster)
    env = {engine.path_conf_env: cluster["es_conf_dir"]}
    if cluster["es_java_home"]:
        env[engine.java_home_env] = cluster["es_java_home"]
    tool = f"{engine.binary}-plugin"
    wanted = {p["name"]: p for p in cluster["es_plugins"] or []}
    ops = []
    for name, entry in wanted.items():
        ops.append(plugins.plugin(
            name=f"Plugin {name}",
            plugin_name=name,
            install_dir=target,
            tool=tool,
            env=env,
            url=_uploaded(f"plugin {name}", entry.get("local")) or entry.get("url"),
            sha512=entry.get("sha512"),
        ))
    for name in sorted(set(fact(host.name, EsdrPlugins, install_dir=target)) - set(wanted)):
        ops.append(plugins.plugin(
            name=f"Plugin {name} removed", plugin_name=name, install_dir=target, tool=tool,
            env=env, present=False,
        ))
    return ops
