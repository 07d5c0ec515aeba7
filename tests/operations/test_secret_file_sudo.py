"""With ``_sudo`` the SSH user cannot write the root-only staging dir, and a fixed path in /tmp
could be created first by another local user, who would then read the secret from it. Every
secret upload (``secret_file``, ``keystore_entries``) goes through a fresh ``mktemp -d``
directory of the SSH user's, removed afterwards, and the privileged copy takes it from there."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pyinfra.context import ctx_host, ctx_state
from pyinfra_testing.util import FakeState, create_host

from esdr.operations.keystore import KeystoreEntry, keystore_entries
from esdr.operations.secret_files import SecretUpload, secret_file, staging_path
from esdr.security.refs import Secret

DEST = "/etc/infini-gateway/gateway.env"
PRIVATE = "/tmp/esdr-secret.Zx81kQ2mPa"


class RecordingHost:
    """The two connector calls an upload makes, recorded; mktemp answers ``PRIVATE``."""

    def __init__(self, mktemp_ok: bool = True, put_ok: bool = True, put_raises: bool = False):
        self.calls: list[tuple] = []
        self.mktemp_ok, self.put_ok, self.put_raises = mktemp_ok, put_ok, put_raises

    def run_shell_command(self, command, **arguments):
        self.calls.append(("shell", str(command), arguments))
        if str(command).startswith("mktemp"):
            stdout = PRIVATE if self.mktemp_ok else ""
            return self.mktemp_ok, SimpleNamespace(stdout=stdout, stderr="mktemp: failed")
        return True, SimpleNamespace(stdout="", stderr="")

    def put_file(self, src, dest, remote_temp_filename=None, **arguments):
        self.calls.append(("put", src.read(), dest, remote_temp_filename, arguments))
        if self.put_raises:
            raise OSError("sftp: connection lost")
        return self.put_ok

    def log_styled(self, message, **kwargs):
        self.calls.append(("log", message))


STATE = SimpleNamespace(print_output=False, print_input=False)


def operation_commands(op, arguments: dict, facts: dict, **kwargs) -> list:
    state = FakeState()
    host = create_host(state, facts=facts, data={"ssh_user": "deploy"})
    host.current_op_global_arguments = arguments
    with ctx_state.use(state), ctx_host.use(host):
        return list(op._inner(**kwargs))


def test_secret_file_under_sudo_names_no_predictable_directory() -> None:
    commands = operation_commands(
        secret_file, {"_sudo": True}, {"files.File": {f"path={DEST}": None}},
        dest=DEST, content=Secret("PW=x\n"), user="gateway", group="gateway")
    assert commands[0] == "install -d -m 700 -o root -g root /etc/esdr"
    upload = commands[1]
    assert isinstance(upload, SecretUpload)
    assert upload.dest == staging_path(DEST)
    assert upload.remote_temp_filename is None  # chosen by mktemp when it runs
    shown = " ".join(str(c) for c in commands)
    assert "/tmp" not in shown and "PW=x" not in shown


def test_keystore_entries_go_through_the_same_upload() -> None:
    commands = operation_commands(
        keystore_entries, {"_sudo": True},
        {"elasticsearch.EsdrMarkers": {
            "paths=['/etc/esdr/keystore-bootstrap.password.hmac']": {}}},
        entries={"bootstrap.password": KeystoreEntry(Secret("s3cret-Pw"), "abc")},
        install_dir="/opt/elasticsearch/current", conf_dir="/etc/elasticsearch",
        group="elasticsearch")
    uploads = [c for c in commands if isinstance(c, SecretUpload)]
    assert len(uploads) == 1 and uploads[0].dest.startswith("/etc/esdr/.upload-")
    assert uploads[0].remote_temp_filename is None  # not a .sftp file in root's directory
    assert "s3cret-Pw" not in " ".join(str(c) for c in commands)


def test_sudo_upload_goes_through_a_fresh_mktemp_directory_removed_afterwards() -> None:
    host = RecordingHost()
    ok = SecretUpload("PW=x\n", "/etc/esdr/.upload-1").execute(
        STATE, host, {"_sudo": True, "_timeout": 30})
    assert ok is True
    (kind, mktemp, args), put, remove = host.calls
    assert mktemp == "mktemp -d -t esdr-secret.XXXXXXXXXX" and "_sudo" not in args
    assert put == ("put", "PW=x\n", "/etc/esdr/.upload-1", f"{PRIVATE}/upload",
                   {"print_output": False, "print_input": False, "_sudo": True, "_timeout": 30})
    assert remove[1] == f"rm -rf {PRIVATE}" and "_sudo" not in remove[2]


@pytest.mark.parametrize("failure", [{"put_ok": False}, {"put_raises": True}])
def test_the_private_directory_is_removed_when_the_upload_fails(failure: dict) -> None:
    host = RecordingHost(**failure)
    upload = SecretUpload("PW=x\n", "/etc/esdr/.upload-1")
    if failure.get("put_raises"):
        with pytest.raises(OSError):
            upload.execute(STATE, host, {"_sudo": True})
    else:
        assert upload.execute(STATE, host, {"_sudo": True}) is False
    assert host.calls[-1][:2] == ("shell", f"rm -rf {PRIVATE}")


def test_no_upload_when_mktemp_fails() -> None:
    host = RecordingHost(mktemp_ok=False)
    assert SecretUpload("PW=x\n", "/etc/esdr/.upload-1").execute(
        STATE, host, {"_su_user": "root"}) is False
    assert not [c for c in host.calls if c[0] == "put"]


def test_without_elevation_the_ssh_user_writes_the_staging_file_directly() -> None:
    host = RecordingHost()
    assert SecretUpload("PW=x\n", "/etc/esdr/.upload-1").execute(STATE, host, {}) is True
    assert host.calls == [("put", "PW=x\n", "/etc/esdr/.upload-1", None,
                           {"print_output": False, "print_input": False})]
