"""Manage entries of the Elasticsearch keystore, fed through stdin, never on a command line."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from pyinfra import host
from pyinfra.api import OperationValueError, operation

from esdr.facts.elasticsearch import EsdrMarkers
from esdr.layout import KEYSTORE_MODE
from esdr.operations.secret_files import staged_upload, staging_path
from esdr.security.config import ESDR_ETC
from esdr.security.refs import Secret

# A secure setting's name: it goes on the tool's command line (the value never does)
_SETTING = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class KeystoreEntry:
    value: Secret
    # an HMAC of the value under the estate's key (``esdr.security.config.marker``)
    marker: str


def marker_path(entry: str, marker_dir: str = ESDR_ETC) -> str:
    return f"{marker_dir}/keystore-{entry}.hmac"


@operation()
def keystore_entries(
    entries: dict[str, KeystoreEntry],
    install_dir: str,
    conf_dir: str,
    group: str,
    java_home: str | None = None,
    marker_dir: str = ESDR_ETC,
    rewrite: bool = False,
):
    """
    Set string entries of the keystore (e.g. ``bootstrap.password``), all in one run of
    ``elasticsearch-keystore`` (a JVM start each: seconds on a busy host).

    + entries: setting name -> ``KeystoreEntry(value, marker)``: the secret, wrapped in
      ``Secret``, and an HMAC of it under the estate's key; the host keeps each HMAC in
      ``marker_dir`` (0700 root) so a rerun can tell "already set" without reading the keystore
      back or keeping a plain hash of the secret (all markers: one read)
    + install_dir: the installed distribution (``bin/elasticsearch-keystore``)
    + conf_dir: the config dir; a missing keystore is created by the same run (``add --force``
      creates it, not password-protected: https://github.com/elastic/elasticsearch/pull/44847)
    + group: the service user's group; the keystore stays ``root:<group>`` 0660 as packaged
    + java_home: JDK for the tool when the distribution bundles none
    + rewrite: write every entry whatever the markers say (the keystore is new or was lost)

    The values of the entries to write go, one per line, into a 0600 file in the root-only
    ``marker_dir`` (through a fresh ``mktemp -d`` directory of the SSH user's under ``_sudo``:
    ``secret_files.SecretUpload``) and are fed to ``elasticsearch-keystore add --stdin --force``
    with their names, which reads one line per setting
    (https://www.elastic.co/docs/reference/elasticsearch/command-line-tools/elasticsearch-keystore);
    the file is removed also when the tool fails.

    **Example:**

    .. code:: python

        keystore_entries(
            name="Keystore bootstrap.password",
            entries={"bootstrap.password": KeystoreEntry(
                password, marker(key, "keystore:bootstrap.password", password.reveal()))},
            install_dir="/opt/elasticsearch/current",
            conf_dir="/etc/elasticsearch",
            group="elasticsearch",
        )
    """
    for entry, wanted in entries.items():
        if not _SETTING.match(entry):
            raise OperationValueError(f"keystore entry {entry!r} is not a setting name")
        if not isinstance(wanted, KeystoreEntry) or not isinstance(wanted.value, Secret):
            raise OperationValueError(
                f"keystore entry {entry}: the value must be a esdr.security.refs.Secret")
        if "\n" in wanted.value.reveal() or "\r" in wanted.value.reveal():
            raise OperationValueError(f"keystore entry {entry}: the value has a line break")
    names = sorted(entries)
    present = {} if rewrite else host.get_fact(
        EsdrMarkers, paths=[marker_path(e, marker_dir) for e in names])
    missing = [e for e in names if present.get(marker_path(e, marker_dir)) != entries[e].marker]
    if not missing:
        host.noop(f"keystore entries {', '.join(names)} are present")
        return
    keystore = f"{conf_dir}/elasticsearch.keystore"
    temp = staging_path(keystore + ":" + ",".join(missing), marker_dir)
    env = f"ES_PATH_CONF={shlex.quote(conf_dir)}"
    if java_home:
        env += f" ES_JAVA_HOME={shlex.quote(java_home)}"
    tool = f"{shlex.quote(install_dir)}/bin/elasticsearch-keystore"
    yield from staged_upload("".join(entries[e].value.reveal() + "\n" for e in missing), temp,
                             marker_dir)
    q_temp = shlex.quote(temp)
    settings = " ".join(shlex.quote(e) for e in missing)
    yield (
        f"chmod 600 {q_temp}; {env} {tool} add --stdin --force {settings} < {q_temp}; "
        f"rc=$?; rm -f {q_temp}; test $rc -eq 0"
    )
    q_keystore = shlex.quote(keystore)
    yield f"chown root:{shlex.quote(group)} {q_keystore} && chmod {KEYSTORE_MODE} {q_keystore}"
    yield "umask 077 && " + " && ".join(
        f"echo {shlex.quote(entries[e].marker)} > {shlex.quote(marker_path(e, marker_dir))}"
        for e in missing)
