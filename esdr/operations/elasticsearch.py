"""Manage Elasticsearch nodes: host limits, default config, keystore, one-time bootstrap."""

from __future__ import annotations

import re
import shlex

from pyinfra import host
from pyinfra.api import FunctionCommand, OperationValueError, operation
from pyinfra.facts.files import File

from esdr.facts.elasticsearch import (
    FORMED_MARKER,
    EsClusterFormedMarker,
    EsClusterUUID,
    MaxMapCount,
)
from esdr.errors import EsdrError
from esdr.layout import KEYSTORE_MODE
from esdr.node_api import NodeApi, failed, wait_until

@operation()
def max_map_count(minimum: int = 262144):
    """
    Make sure ``vm.max_map_count`` is at least ``minimum`` (Elastic's bootstrap check).

    + minimum: the lowest acceptable value

    Inside a container the value is read-only and belongs to the machine: when it is already
    high enough that is fine and the operation says so; when it is too low it fails with the fix.
    """
    current = host.get_fact(MaxMapCount)
    if current["value"] >= minimum:
        where = "" if current["writable"] else " (read-only here: set by the machine)"
        host.noop(f"vm.max_map_count is {current['value']}{where}")
        return
    if not current["writable"]:
        raise OperationValueError(
            f"vm.max_map_count is {current['value']} < {minimum} and read-only on this host: "
            f"run `sysctl -w vm.max_map_count={minimum}` on the machine hosting it"
        )
    yield f"sysctl -w vm.max_map_count={minimum}"


@operation()
def cluster_formed(
    address: str,
    data_dir: str,
    port: int = 9200,
    timeout: int = 300,
    service: str = "elasticsearch",
    scheme: str = "http",
    curl_config: str | None = None,
    started_now: bool = False,
):
    """
    Wait until this node is part of a formed cluster, then record the cluster UUID on the host.

    + address: the node's HTTP address
    + data_dir: ``path.data``; the record lives there, so it goes with the node's data
    + port: HTTP port
    + timeout: seconds to wait for a master to be elected
    + service: the systemd unit, checked so a node that failed to start is reported at once
    + scheme: ``https`` when security is on
    + curl_config: the root-only curl ``-K`` file with the CA and credentials (security on)
    + started_now: this run started the node (it was stopped when the deploy read it): wait
      until it has joined again even though the cluster formed long ago

    The record is what later deploys read to leave ``cluster.initial_master_nodes`` out for
    good: bootstrapping happens once per cluster, decided from the hosts, not from a flag.
    A node this run started is waited on as well, so that the deploy does not end, and its
    summary does not count nodes, while that node is still starting.
    """
    formed_before = host.get_fact(EsClusterFormedMarker, data_dir=data_dir)
    if formed_before and not started_now:
        host.noop("cluster formed before; bootstrap settings are retired")
        return
    marker = f"{data_dir}/{FORMED_MARKER}"
    endpoint = {"address": address, "port": port, "scheme": scheme, "curl_config": curl_config}
    uuid = host.get_fact(EsClusterUUID, **endpoint)
    if uuid and formed_before:
        host.noop("node answers in the formed cluster")
        return
    if uuid:  # formed and answering (read while preparing too, so --dry shows it)
        yield marker_write(marker, uuid)
        return
    yield FunctionCommand(
        _wait_and_record,
        (address, port, None if formed_before else marker, timeout, service, scheme, curl_config),
        {},
    )


def _wait_and_record(
    state,
    host,
    address: str,
    port: int,
    marker: str | None,
    timeout: int,
    service: str,
    scheme: str = "http",
    curl_config: str | None = None,
) -> bool:
    api = NodeApi(host, address, port, scheme=scheme, curl_config=curl_config)
    committed: list[str] = []

    def joined() -> bool:
        uuid = api.read(EsClusterUUID)
        if uuid and api.health() is not None:
            committed.append(uuid)
            return True
        journal = api.failed_unit_journal(service)
        if journal is not None:  # the node died: say why now rather than after the whole timeout
            raise EsdrError(
                f"{service} failed to start on {host.name}: {journal}",
                hint=f"fix the cause, then rerun the deploy (journalctl -u {service} on the host)",
            )
        return False

    try:
        wait_until(f"node {host.name} to join a formed cluster", joined, timeout=timeout)
    except EsdrError as error:
        return failed(host, error)
    if marker is None:  # rejoined: the cluster's record is on the host already
        return True
    ok, _ = api.run(marker_write(marker, committed[-1]))
    return ok


def marker_write(path: str, value: str) -> str:
    """The shell command that makes ``path`` a new file holding ``value``, never writing
    through what is there already.

    The markers live in the data directory, which the service user owns: it can plant a
    symlink under a marker's name, and root's ``echo ... > marker`` would then overwrite the
    link's target (any file). ``rm -f`` removes a link itself, not its target; dd's
    ``conv=excl`` opens with O_CREAT | O_EXCL, which fails on any existing entry, a symlink
    re-planted in between included, and ``oflag=nofollow`` adds O_NOFOLLOW
    (https://www.gnu.org/software/coreutils/manual/html_node/dd-invocation.html,
    https://man7.org/linux/man-pages/man2/open.2.html). No noclobber: bash's ``set -C`` still
    opens an existing non-regular file, a device say, through a link."""
    quoted = shlex.quote(path)
    return (f"rm -f {quoted} && printf '%s\\n' {shlex.quote(value)} "
            f"| dd of={quoted} conv=excl oflag=nofollow status=none")


@operation()
def default_config_file(
    src: str, dest: str, group: str, rewrites: list[tuple[str, str]] | None = None
):
    """
    Copy a config file shipped with the distribution into the config dir, once.

    + src: the file in the installed distribution, e.g. ``<install>/config/jvm.options``
    + dest: its place in the config dir; left alone when it exists (the user may have tuned it)
    + group: group that must be able to read it (the service user's)
    + rewrites: literal (old, new) text replacements made in the copy
    """
    if host.get_fact(File, path=dest):
        host.noop(f"{dest} exists")
        return
    yield f"install -m 640 -o root -g {shlex.quote(group)} {shlex.quote(src)} {shlex.quote(dest)}"
    if rewrites:
        edits = " ".join(f"-e {shlex.quote(_sed_replace(a, b))}" for a, b in rewrites)
        yield f"sed -i {edits} {shlex.quote(dest)}"


def _sed_replace(old: str, new: str) -> str:
    """A sed ``s`` command replacing the literal text ``old`` by the literal text ``new``."""
    pattern = re.sub(r"([\\.*\[\]^$#])", r"\\\1", old)
    replacement = re.sub(r"([\\&#])", r"\\\1", new)
    return f"s#{pattern}#{replacement}#g"


@operation()
def keystore_created(
    install_dir: str,
    conf_dir: str,
    group: str,
    java_home: str | None = None,
    engine: str = "elasticsearch",
):
    """
    Create the (empty) keystore once, as the engine's packages do on install.

    + install_dir: the installed distribution (its ``bin/<engine>-keystore``)
    + conf_dir: the config dir; the node cannot write there itself (root-owned, as packaged),
      so without a keystore it refuses to start
    + group: the service user's group, which must read the keystore
    + java_home: JDK for the tool when the distribution bundles none
    + engine: ``elasticsearch`` or ``opensearch``: names the tool, the file and the variables
    """
    keystore = f"{conf_dir}/{engine}.keystore"
    if host.get_fact(File, path=keystore):
        host.noop(f"keystore {keystore} exists")
        return
    prefix = "ES" if engine == "elasticsearch" else engine.upper()
    env = f"{prefix}_PATH_CONF={shlex.quote(conf_dir)}"
    if java_home:
        env += f" {prefix}_JAVA_HOME={shlex.quote(java_home)}"
    yield f"{env} {shlex.quote(install_dir)}/bin/{engine}-keystore create"
    yield f"chown root:{shlex.quote(group)} {shlex.quote(keystore)}"
    yield f"chmod {KEYSTORE_MODE} {shlex.quote(keystore)}"
