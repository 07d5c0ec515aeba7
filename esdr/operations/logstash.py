"""Logstash's keystore on a host: the ``${VAR}``s its pipelines name, each value fed to
``logstash-keystore add NAME --stdin`` on standard input, never on a command line
(https://www.elastic.co/docs/reference/logstash/keystore). What to change is decided by the
pure ``esdr.kafka.logstash_deploy.keystore_plan``."""

from __future__ import annotations

import shlex

from pyinfra import host
from pyinfra.api import OperationValueError, operation
from pyinfra.facts.files import File, FileContents

from esdr.kafka.logstash_deploy import (
    check_key,
    keystore_plan,
    parse_state,
    state_text,
)
from esdr.operations.keystore import KeystoreEntry
from esdr.operations.secret_files import staged_upload, staging_path
from esdr.security.config import ESDR_ETC
from esdr.security.refs import Secret

STATE_FILE = f"{ESDR_ETC}/logstash-keystore.state"


@operation()
def keystore_entries(
    entries: dict[str, KeystoreEntry],
    password_marker: str,
    install_dir: str,
    settings_dir: str,
    env_file: str,
    user: str,
    state_file: str = STATE_FILE,
    staging_dir: str = ESDR_ETC,
):
    """
    Converge the keys of ``<settings_dir>/logstash.keystore`` esdr writes.

    + entries: key -> ``KeystoreEntry(value, marker)``: the value wrapped in ``Secret`` and an
      HMAC of it under the estate key
    + password_marker: an HMAC of the keystore's password (``LOGSTASH_KEYSTORE_PASS``): a new
      password makes a new keystore
    + install_dir: the installed Logstash (``bin/logstash-keystore``)
    + settings_dir: ``path.settings``, where the keystore lives
    + env_file: the root-only file holding ``LOGSTASH_KEYSTORE_PASS=...``, read by the shell
      that runs the tool (``set -a; . FILE``): the password is in no command line either
    + user: Logstash's user; the keystore is left ``<user>:root`` 0600 as Elastic's docs ask
    + state_file: root-only (0600), one ``NAME HMAC`` a line: what esdr wrote, compared on
      the next run so that an unchanged key is not written again

    Each value goes, with a newline, into a 0600 file in the root-only ``staging_dir``
    (``secret_files.staged_upload``), is fed to ``add NAME --stdin`` and removed, also when the
    tool fails. A key written again is removed first (``add`` asks before it overwrites).
    """
    for name, wanted in entries.items():
        try:
            check_key(name)
        except ValueError as error:
            raise OperationValueError(str(error)) from None
        if not isinstance(wanted, KeystoreEntry) or not isinstance(wanted.value, Secret):
            raise OperationValueError(
                f"keystore key {name}: the value must be a esdr.security.refs.Secret")
        if any(c in wanted.value.reveal() for c in "\r\n"):
            raise OperationValueError(f"keystore key {name}: the value has a line break")
    keystore = f"{settings_dir}/logstash.keystore"
    exists = bool(host.get_fact(File, path=keystore))
    recorded = parse_state(host.get_fact(FileContents, path=state_file)) if exists else {}
    plan = keystore_plan({n: e.marker for n, e in entries.items()}, password_marker, recorded,
                         exists)
    if not plan.changes:
        host.noop(f"Logstash keystore keys {', '.join(sorted(entries))} are in place")
        return
    q_keystore = shlex.quote(keystore)
    env = f"set -a && . {shlex.quote(env_file)} && set +a"
    tool = (f"{shlex.quote(install_dir)}/bin/logstash-keystore "
            f"--path.settings {shlex.quote(settings_dir)}")
    if plan.create:
        # none there, or one whose password is not the current one (it cannot be opened)
        yield f"rm -f {q_keystore} && {env} && {tool} create"
    for name in plan.remove:
        yield f"{env} && {tool} remove {shlex.quote(name)}"
    for name in plan.write:
        temp = staging_path(f"{keystore}:{name}", staging_dir)
        q_temp = shlex.quote(temp)
        yield from staged_upload(entries[name].value.reveal() + "\n", temp, staging_dir)
        again = (f"{tool} remove {shlex.quote(name)} >/dev/null 2>&1; " if not plan.create
                 else "")
        yield (f"chmod 600 {q_temp}; ({env} && {again}{tool} add {shlex.quote(name)} --stdin "
               f"< {q_temp}); rc=$?; rm -f {q_temp}; test $rc -eq 0")
    yield f"chown {shlex.quote(user)}:root {q_keystore} && chmod 600 {q_keystore}"
    state = staging_path(state_file, staging_dir)
    yield from staged_upload(
        state_text({n: e.marker for n, e in entries.items()}, password_marker), state,
        staging_dir)
    q_state = shlex.quote(state)
    yield (f"chown root:root {q_state} && chmod 600 {q_state} && "
           f"mv -f {q_state} {shlex.quote(state_file)}")

