"""Manage entries of the Elasticsearch keystore, fed through stdin, never on a command line."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import OperationValueError, operation

from esdr.facts.elasticsearch import EsdrMarker
from esdr.operations.secret_files import staged_upload, staging_path
from esdr.security.config import ESDR_ETC
from esdr.security.refs import Secret


def marker_path(entry: str, marker_dir: str = ESDR_ETC) -> str:
    return f"{marker_dir}/keystore-{entry}.hmac"


@operation()
def keystore_entry(
    entry: str,
    value: Secret,
    marker: str,
    install_dir: str,
    conf_dir: str,
    group: str,
    java_home: str | None = None,
    marker_dir: str = ESDR_ETC,
):
    """
    Set a string entry of the keystore (e.g. ``bootstrap.password``) to ``value``.

    + entry: the secure setting's name
    + value: the secret, wrapped in ``Secret``
    + marker: an HMAC of the value under the estate's key (``esdr.security.config.marker``); the
      host keeps it in ``marker_dir`` (0700 root) so a rerun can tell "already set" without
      reading the keystore back or keeping a plain hash of the secret
    + install_dir: the installed distribution (``bin/elasticsearch-keystore``)
    + conf_dir: the config dir holding ``elasticsearch.keystore`` (created before)
    + group: the service user's group; the keystore stays ``root:<group>`` 0660 as packaged
    + java_home: JDK for the tool when the distribution bundles none

    The value is uploaded to a 0600 file in the root-only ``marker_dir`` (through a fresh
    ``mktemp -d`` directory of the SSH user's under ``_sudo``: ``secret_files.SecretUpload``) and
    fed to ``elasticsearch-keystore add --stdin --force``, then removed, also when the tool fails.

    **Example:**

    .. code:: python

        keystore_entry(
            name="Keystore bootstrap.password",
            entry="bootstrap.password",
            value=password,
            marker=marker(key, "keystore:bootstrap.password", password.reveal()),
            install_dir="/opt/elasticsearch/current",
            conf_dir="/etc/elasticsearch",
            group="elasticsearch",
        )
    """
    if not isinstance(value, Secret):
        raise OperationValueError("keystore_entry value must be a esdr.security.refs.Secret")
    if "\n" in value.reveal():
        raise OperationValueError(f"keystore entry {entry}: the value has a newline")
    marker_file = marker_path(entry, marker_dir)
    if host.get_fact(EsdrMarker, path=marker_file) == marker:
        host.noop(f"keystore entry {entry} is present")
        return
    keystore = f"{conf_dir}/elasticsearch.keystore"
    temp = staging_path(keystore + ":" + entry, marker_dir)
    env = f"ES_PATH_CONF={shlex.quote(conf_dir)}"
    if java_home:
        env += f" ES_JAVA_HOME={shlex.quote(java_home)}"
    tool = f"{shlex.quote(install_dir)}/bin/elasticsearch-keystore"
    yield from staged_upload(value.reveal() + "\n", temp, marker_dir)
    q_temp = shlex.quote(temp)
    yield (
        f"chmod 600 {q_temp}; {env} {tool} add --stdin --force {shlex.quote(entry)} < {q_temp}; "
        f"rc=$?; rm -f {q_temp}; test $rc -eq 0"
    )
    q_keystore = shlex.quote(keystore)
    yield f"chown root:{shlex.quote(group)} {q_keystore} && chmod 660 {q_keystore}"
    q_marker = shlex.quote(marker_file)
    yield f"umask 077 && echo {shlex.quote(marker)} > {q_marker}"
