"""Manage engine plugins (Elasticsearch or OpenSearch) with the engine's own plugin tool."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import OperationError, OperationValueError, operation

from esdr.facts.plugins import EsdrPlugins, PublishedSha512, marker_dir


@operation()
def plugin(
    plugin_name: str,
    install_dir: str,
    tool: str,
    env: dict[str, str],
    url: str | None = None,
    sha512: str | None = None,
    present: bool = True,
):
    """
    Install (or remove) one plugin with ``bin/<engine>-plugin``, checked against its sha512.

    + plugin_name: the plugin's name, as the plugin tool lists it (``opensearch-security``)
    + install_dir: the versioned distribution directory the plugin goes into
    + tool: the plugin tool under ``bin/`` (``opensearch-plugin``, ``elasticsearch-plugin``)
    + env: environment for the tool: ``OPENSEARCH_PATH_CONF`` decides where plugins that ship
      configuration (the security plugin) put it; ``OPENSEARCH_JAVA_HOME`` without a bundled JDK
    + url: http(s):// or file:// URL of the plugin zip (required when present)
    + sha512: expected hex digest; when unset, ``<url>.sha512`` is fetched
    + present: False removes a plugin esdr installed (others are never touched)

    Each version of the distribution is its own directory, so an upgrade installs every plugin
    anew; a changed zip (another sha512) replaces the plugin. Removing or replacing a plugin
    only changes files: the deploy restarts the node, one node at a time.

    **Example:**

    .. code:: python

        plugin(
            name="Plugin opensearch-security",
            plugin_name="opensearch-security",
            install_dir="/opt/opensearch/opensearch-2.19.4",
            tool="opensearch-plugin",
            env={"OPENSEARCH_PATH_CONF": "/etc/opensearch"},
            url="https://mirror.dc1/opensearch-security-2.19.4.0.zip",
        )
    """
    name = plugin_name
    installed = host.get_fact(EsdrPlugins, install_dir=install_dir).get(name)
    markers = marker_dir(install_dir)
    marker = f"{markers}/{name}.sha512"
    environment = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(env.items()))
    command = f"{environment} {shlex.quote(install_dir)}/bin/{tool}"
    if not present:
        if installed is None:
            host.noop(f"plugin {name} is absent")
            return
        yield f"{command} remove {shlex.quote(name)} || true"
        yield f"rm -f {shlex.quote(marker)}"
        return
    if not url:
        raise OperationValueError(f"plugin {name}: a url is needed to install it")
    expected = (sha512 or host.get_fact(PublishedSha512, url=url) or "").strip().lower()
    if not expected:
        raise OperationError(
            f"plugin {name}: no sha512 given and none readable at {url}.sha512; pin it with sha512"
        )
    if installed and installed["installed"] and installed["sha512"] == expected:
        host.noop(f"plugin {name} is installed")
        return
    if installed:  # another zip, or a broken install: replace it
        yield f"{command} remove {shlex.quote(name)} || true"
    yield " && ".join([
        "set -e",
        "work=$(mktemp -d)",
        'trap \'rm -rf "$work"\' EXIT',
        f"curl -fsSL -m 900 -o \"$work/{name}.zip\" {shlex.quote(url)}",
        f'echo {shlex.quote(expected)}"  $work/{name}.zip" | sha512sum -c --quiet -',
        f'{command} install --batch "file://$work/{name}.zip"',
        f"install -d -m 755 {shlex.quote(markers)}",
        f"echo {shlex.quote(expected)} > {shlex.quote(marker)}",
    ])


@operation()
def opensearch_security_reloaded(
    install_dir: str,
    conf_dir: str,
    address: str,
    port: int,
    ca_cert: str,
    admin_cert: str,
    admin_key: str,
    java_home: str | None = None,
):
    """
    Load the security plugin's configuration files into the running cluster (securityadmin).

    + install_dir: the installed distribution (its ``plugins/opensearch-security/tools``)
    + conf_dir: the config dir holding ``opensearch-security/``
    + address, port: the node's HTTP address and port
    + ca_cert: the estate CA, to verify the node
    + admin_cert, admin_key: the certificate named in ``plugins.security.authcz.admin_dn``
    + java_home: JDK for the tool when the distribution bundles none

    A new cluster builds its security index from these files on its first start; afterwards
    only this tool changes it. Run it with ``_if=`` on the file changes.
    https://opensearch.org/docs/latest/security/configuration/security-admin/
    """
    env = f"JAVA_HOME={shlex.quote(java_home)} " if java_home else ""
    tool = f"{install_dir}/plugins/opensearch-security/tools/securityadmin.sh"
    # The tools ship without the executable bit: run through bash.
    yield (
        f"{env}bash {shlex.quote(tool)} -cd {shlex.quote(conf_dir + '/opensearch-security')} "
        f"-icl -cacert {shlex.quote(ca_cert)} -cert {shlex.quote(admin_cert)} "
        f"-key {shlex.quote(admin_key)} -h {shlex.quote(address)} -p {int(port)}"
    )
