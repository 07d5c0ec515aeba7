"""Put files whose content is a secret (private keys, credentials) without ever showing it."""

from __future__ import annotations

import hashlib
import shlex
from io import StringIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, FunctionCommand, OperationValueError, operation
from pyinfra.facts.files import File, Sha256File

from esdr.security import store
from esdr.security.config import ESDR_ETC
from esdr.security.refs import Secret


def staging_path(dest: str, staging_dir: str = ESDR_ETC) -> str:
    """Where the upload lands first: a root-only (0700) directory, a name stable per target."""
    return f"{staging_dir}/.upload-{hashlib.sha256(dest.encode()).hexdigest()[:16]}"


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
      With ``_sudo`` (or ``_su_user``, ``_doas``) the SSH user's upload goes through a 0700
      directory of its own first.

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
    yield f"install -d -m 700 -o root -g root {shlex.quote(staging_dir)}"
    upload = f"{temp}.sftp"
    args = host.current_op_global_arguments or {}
    if args.get("_sudo") or args.get("_su_user") or args.get("_doas"):
        # The SSH user cannot write the root-only staging dir: the upload lands in a 0700
        # directory of its own, and the privileged move takes it from there.
        ssh_user = host.data.get("ssh_user") or "root"
        private = f"/tmp/esdr-secret-upload-{ssh_user}"
        yield f"install -d -m 700 -o {shlex.quote(ssh_user)} {shlex.quote(private)}"
        upload = f"{private}/upload"
    yield FileUploadCommand(StringIO(text), temp, remote_temp_filename=upload)
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
