"""The secrets directory against the real file system: links planted in it, a directory others
can write, secrets others can read, two runs at once, names a certificate cannot carry."""

from __future__ import annotations

import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from esdr.cli.main import cli
from esdr.errors import BadInput, EsdrError
from esdr.security import certs, rotation, store
from tests.security.test_ca_expiry import _inventory
from tests.unit.topo_factory import build, shape_a


def _project(root: Path, secrets: Path, *, cluster: str = "c1", net: str = "10.0.0",
             host_data: str = "") -> Path:
    """An inventory of three nodes whose estate CA lives in ``secrets``."""
    root.mkdir(parents=True, exist_ok=True)
    inventory = _inventory(root, {})
    text = inventory.read_text().replace("10.0.0.", f"{net}.")
    if host_data:
        text = text.replace("'zone': 'az2'}", f"'zone': 'az2', {host_data}}}")
    inventory.write_text(text)
    group = root / "group_data" / "inv.py"
    group.write_text(
        group.read_text()
        .replace("es_ca = {}\n", "")
        .replace("es_cluster_name = 'c1'", f"es_cluster_name = {cluster!r}")
        .replace(repr(str(root / "secrets")), repr(str(secrets)))
    )
    return inventory


def _renew(inventory: Path):
    return CliRunner().invoke(cli, ["certs", "renew", str(inventory)])


def _topology(secrets: Path, **host):
    hosts, base = shape_a()
    hosts[3][2].update(host)
    return build(hosts, {**base, "es_secrets_dir": str(secrets)})


# --- links planted in the directory, a directory others can write -------------------------------


def test_renew_never_writes_the_ca_key_through_a_planted_temp_symlink(tmp_path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("not esdr's\n")
    (secrets / ".ca.key.tmp").symlink_to(elsewhere)
    result = _renew(_project(tmp_path / "p", secrets))
    assert elsewhere.read_text() == "not esdr's\n"  # the link's target is untouched
    assert result.exit_code != 0, result.output
    assert ".ca.key.tmp is a symbolic link" in result.output and "Traceback" not in result.output
    assert (secrets / ".ca.key.tmp").is_symlink()
    assert not [p.name for p in secrets.rglob("*") if p.suffix in (".key", ".crt")]


def test_a_dangling_planted_symlink_creates_nothing_at_its_target(tmp_path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    target = tmp_path / "would-be-created"
    (secrets / ".ca.key.tmp").symlink_to(target)
    with pytest.raises(EsdrError, match="symbolic link"):
        certs.ensure_certificates(_topology(secrets))
    assert not target.exists()


def test_a_stale_temp_file_of_an_interrupted_run_is_replaced(tmp_path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    (secrets / ".ca.key.tmp").write_bytes(b"half a key")
    certs.ensure_certificates(_topology(secrets))
    assert b"PRIVATE KEY" in (secrets / "ca.key").read_bytes()
    assert not (secrets / ".ca.key.tmp").exists()


def test_a_world_writable_sticky_secrets_dir_is_refused_and_left_as_it_is(tmp_path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    result = _renew(_project(tmp_path / "p", shared))
    assert result.exit_code != 0, result.output
    assert "mode 1777" in result.output and "chmod 700" in result.output, result.output
    assert "Traceback" not in result.output
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777  # not esdr's to chmod
    assert list(shared.iterdir()) == []


def test_a_group_writable_secrets_dir_is_refused(tmp_path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o770)
    with pytest.raises(EsdrError, match="its group can create files in it"):
        certs.ensure_certificates(_topology(shared))
    assert list(shared.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory away needs root")
def test_a_secrets_dir_owned_by_another_user_is_refused(tmp_path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(EsdrError, match="owned by uid 65534"):
        certs.ensure_certificates(_topology(theirs))
    assert list(theirs.iterdir()) == []


def test_a_secrets_dir_only_others_may_read_is_tightened(tmp_path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    mine.chmod(0o755)
    certs.ensure_certificates(_topology(mine))
    assert stat.S_IMODE(mine.stat().st_mode) == 0o700


# --- secrets others may read ---------------------------------------------------------------------


def test_a_group_readable_rotation_state_is_refused(tmp_path) -> None:
    secrets = tmp_path / "secrets"
    certs.ensure_certificates(_topology(secrets))
    store.write_rotation(secrets, {"phase": "trust", "started": "x", "done": []})
    (secrets / store.ROTATION_STATE).chmod(0o640)
    with pytest.raises(EsdrError, match="readable by others"):
        rotation.current(secrets)


def test_a_world_readable_generated_lab_password_is_refused(tmp_path) -> None:
    path = tmp_path / "lab" / "elastic-password"
    store.generated_secret_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    with pytest.raises(EsdrError, match="readable by others"):
        store.generated_secret_file(path)


# --- one writer at a time ------------------------------------------------------------------------


def _slow_create_ca(real):
    def create(*args, **kwargs):
        time.sleep(0.5)  # widens the window in which two runs both find no CA
        return real(*args, **kwargs)
    return create


def _renew_at_once(barrier, inventory: str, results) -> None:
    barrier.wait(timeout=30)
    result = CliRunner().invoke(cli, ["certs", "renew", inventory])
    failure = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        failure = "".join(traceback.format_exception(*result.exc_info))
    results.put((inventory, result.exit_code, result.output, failure))


def test_two_renews_of_one_estate_at_once_make_one_ca_that_signs_everything(
    tmp_path, monkeypatch
) -> None:
    """DC1 and DC2 of one estate share its secrets directory; both renew at the same moment in
    two processes. One creates the CA, the other waits for the lock and signs with it."""
    secrets = tmp_path / "secrets"
    inventories = [
        str(_project(tmp_path / "dc1", secrets, cluster="dc1", net="10.0.1")),
        str(_project(tmp_path / "dc2", secrets, cluster="dc2", net="10.0.2")),
    ]
    monkeypatch.setattr(certs, "create_ca", _slow_create_ca(certs.create_ca))
    context = multiprocessing.get_context("fork")  # inherits the patches above
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_renew_at_once, args=(barrier, i, results))
               for i in inventories]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert all(code == 0 for _, code, _, _ in outcomes), outcomes

    ca = x509.load_pem_x509_certificate((secrets / "ca.crt").read_bytes())
    assert sorted(p.name for p in secrets.glob("ca*")) == ["ca.crt", "ca.key"]
    issued = sorted(secrets.glob("nodes/*/*.crt"))
    assert {p.parent.name for p in issued} == {"dc1", "dc2"} and len(issued) == 6
    unverified = []
    for path in issued:
        try:
            x509.load_pem_x509_certificate(path.read_bytes()).verify_directly_issued_by(ca)
        except Exception as exc:  # InvalidSignature, or ValueError for another issuer
            unverified.append(f"{path.relative_to(secrets)}: {exc!r}")
    assert unverified == []


def _hold(directory: str, ready, release) -> None:
    with store.locked(Path(directory), "esdr certs renew"):
        ready.set()
        release.wait(timeout=60)


def test_a_writer_waits_a_bounded_time_and_names_who_holds_the_lock(
    tmp_path, monkeypatch
) -> None:
    secrets = tmp_path / "secrets"
    context = multiprocessing.get_context("fork")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(secrets), ready, release))
    holder.start()
    try:
        assert ready.wait(timeout=30)
        monkeypatch.setattr(store, "LOCK_WAIT", 0.5)
        with pytest.raises(EsdrError, match=rf"locked by pid {holder.pid} on .*esdr certs renew"):
            certs.ensure_certificates(_topology(secrets))
        assert not (secrets / "ca.key").exists()
    finally:
        release.set()
        holder.join(timeout=30)
    certs.ensure_certificates(_topology(secrets))  # released with its holder
    assert (secrets / "ca.key").exists()


def test_a_deploy_does_not_store_its_ca_over_one_another_run_made_meanwhile(tmp_path) -> None:
    secrets = tmp_path / "secrets"
    topology = _topology(secrets)
    staged = store.Staged()
    certs.ensure_certificates(topology, staged=staged)  # the deploy prepares: no CA yet
    other = certs.ensure_certificates(topology)  # meanwhile, esdr certs renew
    with pytest.raises(EsdrError, match="another esdr run changed"):
        store.write_staged(store.Staged(staged))  # as secrets_stored copies it
    assert (secrets / "ca.crt").read_bytes() == other.ca_pem


# --- names a certificate cannot carry ------------------------------------------------------------


def test_renew_refuses_an_idna_san_before_writing_anything(tmp_path) -> None:
    secrets = tmp_path / "secrets"
    with pytest.raises(BadInput, match="xn--tie-dma.example"):
        certs.ensure_certificates(_topology(secrets, es_cert_sans=["tieé.example"]))
    assert not secrets.exists() or not list(secrets.rglob("*"))


def test_certs_renew_with_an_idna_san_exits_2_without_a_traceback(tmp_path) -> None:
    secrets = tmp_path / "secrets"
    inventory = _project(tmp_path / "p", secrets, host_data="'es_cert_sans': ['tieé.example']")
    result = _renew(inventory)
    assert result.exit_code == 2, result.output
    assert "xn--tie-dma.example" in result.output and "Traceback" not in result.output
    assert not secrets.exists() or not list(secrets.rglob("*"))


def test_validation_refuses_an_idna_san_and_names_its_a_label(tmp_path) -> None:
    from esdr.checks import validate

    problems = validate(_topology(tmp_path / "secrets", es_cert_sans=["tieé.example"]))
    (problem,) = [p for p in problems if p.rule == "cert-san-invalid"]
    assert problem.severity == "error" and "xn--tie-dma.example" in problem.message


def test_a_second_ca_rotation_started_meanwhile_is_refused_not_recreated(tmp_path) -> None:
    secrets = tmp_path / "secrets"
    topology = _topology(secrets)
    certs.ensure_certificates(topology)
    rotation.start(topology)
    first = (secrets / certs.NEXT_CA[0]).read_bytes()
    with pytest.raises(EsdrError, match="started meanwhile"):
        rotation.start(topology)  # what a second rotate-ca, having read no state, would do
    assert (secrets / certs.NEXT_CA[0]).read_bytes() == first
