"""With ``_sudo`` the SSH user cannot write the root-only staging dir: the secret's upload goes
through a 0700 directory of the SSH user's own, then the privileged move takes it into place."""

from __future__ import annotations

from pyinfra.context import ctx_host, ctx_state
from pyinfra_testing.util import FakeState, create_host

from esdr.operations.secret_files import secret_file, staging_path
from esdr.security.refs import Secret

DEST = "/etc/infini-gateway/gateway.env"


def test_sudo_upload_goes_through_the_ssh_users_private_dir() -> None:
    state = FakeState()
    host = create_host(state, facts={"files.File": {f"path={DEST}": None}},
                       data={"ssh_user": "deploy"})
    host.current_op_global_arguments = {"_sudo": True}
    with ctx_state.use(state), ctx_host.use(host):
        commands = list(secret_file._inner(dest=DEST, content=Secret("PW=x\n"),
                                           user="gateway", group="gateway"))
    assert commands[1] == "install -d -m 700 -o deploy /tmp/esdr-secret-upload-deploy"
    upload = commands[2]
    assert upload.dest == staging_path(DEST)
    assert upload.remote_temp_filename == "/tmp/esdr-secret-upload-deploy/upload"
    assert "PW=x" not in " ".join(str(c) for c in commands)
