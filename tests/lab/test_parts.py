"""Other pure or locally checkable parts: image key, preflight, route refusal, seeding, CLI."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner

from esdr.errors import EsdrError
from esdr_lab import api, constants, host, image, network, procs, spec, system
from esdr_lab.cli import lab
from esdr_lab.state import ProcRecord


def test_image_cache_key_changes_with_the_package_list(monkeypatch):
    key = image.cache_key()
    assert image.cache_key() == key
    monkeypatch.setattr(constants, "IMAGE_PACKAGES", constants.IMAGE_PACKAGES + ",vim")
    assert image.cache_key() != key


def test_missing_packages_reads_dpkg_status(tmp_path):
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    stanzas = [f"Package: {p}\nStatus: install ok installed\n" for p in image.packages()[1:]]
    status.write_text("\n".join(stanzas))
    assert image.missing_packages(tmp_path) == image.packages()[:1]
    assert image.missing_packages(tmp_path / "nothing") == image.packages()


def test_incomplete_image_is_not_complete(tmp_path):
    root = tmp_path / "bookworm-x"
    root.mkdir()
    assert not image.is_complete(root)
    image.marker(root).write_text("done")
    assert image.is_complete(root)


def test_preflight_names_the_debian_packages(monkeypatch):
    monkeypatch.setattr(system.platform, "system", lambda: "Linux")
    monkeypatch.setattr(system.os, "geteuid", lambda: 0)
    monkeypatch.setattr(
        system.shutil, "which", lambda tool: None if tool == "debootstrap" else "/x"
    )
    reason = system.unavailable_reason()
    assert "debootstrap" in reason and constants.MACHINE_PACKAGES in reason


def test_preflight_refuses_non_root_and_non_linux(monkeypatch):
    monkeypatch.setattr(system.platform, "system", lambda: "Linux")
    monkeypatch.setattr(system.os, "geteuid", lambda: 1000)
    assert "needs root" in system.unavailable_reason()
    monkeypatch.setattr(system.platform, "system", lambda: "Darwin")
    assert "needs Linux" in system.unavailable_reason()
    with pytest.raises(EsdrError, match="cannot run the lab here: the lab needs Linux"):
        system.require_machine()


def test_route_check_refuses_a_route_outside_the_bridge(monkeypatch):
    class Out:
        stdout = "10.88.0.13 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0\n    cache\n"

    monkeypatch.setattr(network, "run", lambda argv, **kw: Out())
    with pytest.raises(EsdrError, match="sends 10.88.0.13 via eth0, not the lab bridge esdrlab0"):
        network.check_routes(["10.88.0.13"])


def test_route_check_accepts_the_bridge(monkeypatch):
    class Out:
        stdout = "10.88.0.13 dev esdrlab0 src 10.88.0.1 uid 0\n    cache\n"

    monkeypatch.setattr(network, "run", lambda argv, **kw: Out())
    network.check_routes(["10.88.0.13"])


def test_ssh_refuses_addresses_outside_the_lab(monkeypatch):
    monkeypatch.setattr(api.state, "load", lambda: None)
    with pytest.raises(EsdrError, match="not a lab address"):
        api.ssh("192.0.2.1", "true")
    with pytest.raises(EsdrError, match="neither a lab host name nor an address"):
        api.ssh("no-such-host", "true")


def test_recorded_process_with_other_start_time_is_not_alive():
    me = procs.starttime(os.getpid())
    assert procs.alive(ProcRecord(os.getpid(), me))
    assert not procs.alive(ProcRecord(os.getpid(), me + 1))  # a reused pid is never ours
    assert not procs.alive(None)


def test_seed_upper_writes_root_only_key_and_masks(tmp_path, monkeypatch):
    monkeypatch.setattr(constants, "HOSTS_DIR", tmp_path)
    s = spec.HostSpec("h1", "10.88.0.11")
    host.seed_upper(s, spec.hosts_file([s]), "ssh-ed25519 AAAA test")
    upper = tmp_path / "h1" / "upper"
    key = upper / "root/.ssh/authorized_keys"
    assert key.read_text() == "ssh-ed25519 AAAA test\n"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((upper / "root/.ssh").stat().st_mode) == 0o700
    assert (upper / "etc/hostname").read_text() == "h1\n"
    sshd = (upper / "etc/ssh/sshd_config.d/esdr-lab.conf").read_text()
    assert "PermitRootLogin prohibit-password" in sshd
    assert os.readlink(upper / "etc/systemd/system/apt-daily.timer") == "/dev/null"


def test_nspawn_command_has_the_flags_the_testbed_needs():
    record = host.record_for(spec.HostSpec("h1", "10.88.0.11"))
    argv = host.nspawn_argv(record)
    for flag in ("--boot", "--register=no", "--keep-unit", "--console=passive",
                 "--capability=CAP_NET_ADMIN,CAP_NET_RAW", "--machine=h1",
                 "--network-namespace-path=/run/netns/esdrlab-h1"):
        assert flag in argv
    assert f"--bind={constants.SNAPSHOT_DIR}:{constants.SNAPSHOT_MOUNT}" in argv
    assert record.cgroups == [
        "/sys/fs/cgroup/systemd/esdrlab-h1", "/sys/fs/cgroup/unified/esdrlab-h1"
    ]


def test_cli_status_exits_1_when_the_lab_is_not_up(monkeypatch):
    monkeypatch.setattr("esdr_lab.status.state.load", lambda: None)
    result = CliRunner().invoke(lab, ["status"])
    assert result.exit_code == 1
    assert "not up" in result.output


def test_cli_up_shows_one_line_errors(monkeypatch):
    def refuse(paths, fresh=False):
        raise EsdrError("cannot run the lab here: the lab needs root", hint="run as root")

    monkeypatch.setattr(api, "up", refuse)
    result = CliRunner().invoke(lab, ["up", "--inventory", "inventories/lab.py"])
    assert result.exit_code == 1
    assert "Error: cannot run the lab here: the lab needs root (fix: run as root)" in result.output


def test_require_lab_skips_or_fails_under_ci(monkeypatch):
    monkeypatch.setattr(api, "unavailable_reason", lambda: "no nspawn")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no nspawn"):
        api.require_lab()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no nspawn"):
        api.require_lab()
