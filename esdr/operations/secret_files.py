"""Put files whose content is a secret (private keys, credentials) without ever showing it."""

from __future__ import annotations

import hashlib
import shlex
from io import StringIO

from pyinfra import host
from pyinfra.api import (
    FileUploadCommand,
    FunctionCommand,
    OperationValueError,
    StringCommand,
    operation,
)
from pyinfra.facts.files import File, Sha256File

from esdr.security import store
from esdr.security.config import ESDR_ETC
from esdr.security.refs import Secret


def staging_path(dest: str, staging_dir: str = ESDR_ETC) -> str:
    """Where the upload lands first: a root-only (0700) directory, a name stable per target."""
    return f"{staging_dir}/.upload-{hashlib.sha256(dest.encode()).hexdigest()[:16]}"


# The arguments that make pyinfra run a command as another user than the SSH user; with any of
# them, an upload is an SFTP write as the SSH user followed by a privileged copy (pyinfra's
# SSH connector, ``put_file``).
ELEVATION = ("_sudo", "_sudo_user", "_doas", "_doas_user", "_dzdo", "_dzdo_user", "_su_user")


class SecretUpload(FileUploadCommand):
    """An upload of a secret that never passes through a path another local user can predict.

    Without elevation the SSH user is the one who may write ``dest`` (a root-only directory),
    and the SFTP write goes straight there. With ``_sudo`` (or ``_su_user``, ``_doas``,
    ``_dzdo``) the SFTP write must land where the SSH user may write: a fresh ``mktemp -d``
    directory (0700, the SSH user's, an unguessable name that ``mktemp`` refuses to reuse),
    removed afterwards whether the copy worked or not. A fixed path in /tmp would let another
    local user create it first and read the secret from it.
    """

    def __init__(self, text: str, dest: str):
        super().__init__(StringIO(text), dest)

    def execute(self, state, host, connector_arguments):  # noqa: ANN001 - pyinfra's signature
        arguments = dict(connector_arguments)
        arguments.update(self.connector_arguments)
        output = {"print_output": state.print_output, "print_input": state.print_input}
        if not any(arguments.get(name) for name in ELEVATION):
            return host.put_file(self.src, self.dest, **output, **arguments)
        plain = {k: v for k, v in arguments.items() if k not in ELEVATION}
        made, out = host.run_shell_command(
            StringCommand("mktemp", "-d", "-t", "esdr-secret.XXXXXXXXXX"), **output, **plain
        )
        private = out.stdout.strip() if made else ""
        if not private.startswith("/"):
            host.log_styled(f"mktemp -d failed: {out.stderr.strip()}", fg="red")
            return False
        try:
            self.src.seek(0)
            return host.put_file(self.src, self.dest, remote_temp_filename=f"{private}/upload",
                                 **output, **arguments)
        finally:
            host.run_shell_command(StringCommand("rm", "-rf", private), **output, **plain)


def staged_upload(text: str, staged: str, staging_dir: str):
    """The commands that put ``text`` at ``staged`` inside a root-only (0700) ``staging_dir``,
    under any user pyinfra runs as: the one sudo-safe way a secret reaches a host."""
    yield f"install -d -m 700 -o root -g root {shlex.quote(staging_dir)}"
    yield SecretUpload(text, staged)


@operation()
def secret_file(
    dest: str,
    content: Secret,
    user: str = "root",
    group: str = "root",
    mode: str = "600",
    staging_dir: str = ESDR_ETC,
):
    """
    Put ``content`` at ``dest`` with its final owner and mode, never showing the content.

    + dest: absolute path on the host
    + content: the file's text, wrapped in ``Secret`` (prints as ``<secret>``)
    + user, group, mode: the final owner and permissions (``600`` or ``640``)
    + staging_dir: a directory only root may enter (created 0700); the upload lands there, gets
      its owner and mode, and is then renamed into place, so no moment exists in which the
      secret is readable by others. Unlike ``files.put``, ``--diff`` prints nothing of it.
      With ``_sudo`` (or ``_su_user``, ``_doas``) the SSH user's upload goes through a fresh
      ``mktemp -d`` directory (``SecretUpload``), removed once root has copied it.

    pyinfra compares checksums: the file's sha256 against the content's. Callers make
    low-entropy content (passwords) unguessable from that checksum with a salt line.

    **Example:**

    .. code:: python

        secret_file(
            name="Node private key",
            dest="/etc/elasticsearch/certs/node.key",
            content=Secret(key_pem),
            group="elasticsearch",
            mode="640",
        )
    """
    if not isinstance(content, Secret):
        raise OperationValueError("secret_file content must be a esdr.security.refs.Secret")
    if mode not in ("600", "640", "400", "440"):
        raise OperationValueError(f"secret_file mode {mode} lets others read a secret: use 600/640")
    text = content.reveal()
    wanted = hashlib.sha256(text.encode()).hexdigest()
    current = host.get_fact(File, path=dest)
    same_content = bool(current) and host.get_fact(Sha256File, path=dest) == wanted
    same_meta = bool(current) and (
        current["user"] == user and current["group"] == group and current["mode"] == int(mode)
    )
    if same_content and same_meta:
        host.noop(f"secret file {dest} is in place")
        return
    owner = f"{shlex.quote(user)}:{shlex.quote(group)}"
    if same_content:
        yield f"chown {owner} {shlex.quote(dest)} && chmod {mode} {shlex.quote(dest)}"
        return
    temp = staging_path(dest, staging_dir)
    yield from staged_upload(text, temp, staging_dir)
    yield (
        f"chown {owner} {shlex.quote(temp)} && chmod {mode} {shlex.quote(temp)} && "
        f"mv -f {shlex.quote(temp)} {shlex.quote(dest)}"
    )


@operation(is_idempotent=False)
def secrets_stored(directory: str, staged: store.Staged):
    """
    Write what the deploy issued in memory (CA, certificates, keys, marker key) into the
    controller's secrets directory, when the deploy executes.

    + directory: the secrets directory (``esdr.security.store.secrets_dir``), for the messages
    + staged: path -> bytes, from ``esdr.security.store.write_or_stage``

    Certificates are issued while the deploy is prepared, so ``pyinfra --dry`` shows the files
    they change on the hosts; keeping the controller's copies back until here is what lets
    ``--dry`` leave the secrets directory as it was. Run it once (``_run_once=True``) before
    the first upload of what it stores: a run that stops in between reissues next time.

    **Example:**

    .. code:: python

        secrets_stored(
            name="Issued certificates kept",
            directory=str(store.secrets_dir(cluster)),
            staged=material.staged,
            _run_once=True,
        )
    """
    if not staged:
        host.noop(f"controller secrets in {directory} are up to date")
        return
    yield FunctionCommand(_store, (store.Staged(staged),), {})


def _store(staged: store.Staged) -> bool:
    store.write_staged(staged)
    return True
