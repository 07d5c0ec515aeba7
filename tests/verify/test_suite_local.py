"""``esdr verify`` end to end, on this machine: the suite runs through a stand-in ``ssh`` that
runs each command here (the real ``stat``, ``cat``, ``systemctl``...), so what is tested is the
whole path from the inventory to pytest's verdict and exit code, without a lab. The lab test
(tests/lab/test_verify_lab.py) does the same against real hosts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from esdr.project import load_valid_project
from esdr.render import node_files
from tests.unit import project_factory as pf

try:
    import testinfra  # noqa: F401
except ImportError:  # the test extra brings it (esdr[verify]); CI must not skip this
    if os.environ.get("CI"):
        raise
    pytest.skip("pytest-testinfra is not installed here: pip install -e '.[test]'",
                allow_module_level=True)

FAKE_SSH = """#!/bin/sh
# Stand-in for ssh: log how it was called and the config's mode, run the command here.
log="{log}"
cfg=""; prev=""; host=""
for a; do
  [ "$prev" = "-F" ] && cfg="$a"
  prev="$a"
done
case " $* " in *" -O exit "*) exit 0;; esac
for last; do :; done
eval "set -- $*"
echo "ARGS $*" >> "$log"
[ -n "$cfg" ] && echo "CONFIG $cfg $(stat -c %a "$cfg")" >> "$log" && cat "$cfg" >> "$log"
case " $* " in *" d2 "*)
  echo "ssh: connect to host 10.20.0.22 port 22: No route to host" >&2; exit 255;; esac
exec /bin/sh -c "$last"
"""


@pytest.fixture
def estate(tmp_path: Path):
    """A project whose engine paths are under tmp_path, run as this machine's user."""
    hosts, data, estate = pf.valid()
    base = tmp_path / "host"
    data.update(es_conf_dir=str(base / "conf"), es_data_dir=str(base / "data"),
                es_log_dir=str(base / "logs"), es_user="root")
    inventory = pf.write(tmp_path, hosts, data, estate)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "ssh.log"
    (bindir / "ssh").write_text(FAKE_SSH.format(log=log))
    (bindir / "ssh").chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}",
           "XDG_DATA_HOME": str(tmp_path / "xdg"), "TMPDIR": str(tmp_path)}
    # d1's elasticsearch.yml as the deploy leaves it
    project = load_valid_project(inventory)[0]
    node = project.topology.cluster.node("d1")
    yml = node_files(project.topology, node, bootstrap=False)[0]
    target = Path(yml.path)
    target.parent.mkdir(parents=True)
    target.write_text(yml.content)
    target.chmod(int(yml.mode, 8))
    return inventory, env, log, target


def _verify(inventory: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from esdr.cli.main import main; main()", "verify",
         str(inventory), *args], env=env, capture_output=True, text=True, timeout=300,
        check=False)


def test_passes_on_the_deployed_state_and_names_host_and_check_after_a_hand_change(estate):
    inventory, env, _log, yml = estate
    chosen = ["-vv", "-k", "d1 and elasticsearch.yml and not keystore"]
    passed = _verify(inventory, env, *chosen)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "2 passed" in passed.stdout

    yml.chmod(0o644)  # the hand change
    failed = _verify(inventory, env, *chosen)
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert "FAILED" in failed.stdout and f"d1: mode {yml}" in failed.stdout
    assert f"d1: mode {yml}: mode 644, expected 660" in failed.stdout
    assert "1 failed, 1 passed" in failed.stdout
    # the short summary line the lab test reads (tests/lab/test_verify_lab.py)
    summary = re.findall(r"^FAILED \S*::test_check\[(.+?)\] - (?:Failed: )?(.*)$",
                         failed.stdout, re.MULTILINE)
    assert summary == [(f"d1: mode {yml}", f"d1: mode {yml}: mode 644, expected 660")]

    yml.chmod(0o660)
    yml.write_text(yml.read_text().replace("node.attr.zone: az1", "node.attr.zone: az2"))
    edited = _verify(inventory, env, *chosen)
    assert edited.returncode == 3
    assert f"d1: rendered {yml}" in edited.stdout and "+node.attr.zone: az2" in edited.stdout


def test_it_goes_over_ssh_with_a_private_config_and_leaves_nothing_behind(estate, tmp_path):
    inventory, env, log, _yml = estate
    result = _verify(inventory, env, "-k", "d1 and elasticsearch.yml and mode")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = log.read_text().splitlines()
    config = next(line for line in lines if line.startswith("CONFIG "))
    path, mode = config.split()[1:]
    assert mode == "600" and Path(path).parent.parent == tmp_path
    assert not Path(path).parent.exists(), "the private directory is removed after the run"
    assert "Host d1" in lines and "    HostName 10.20.0.21" in lines
    assert any(line.startswith("ARGS ") and " d1 " in f"{line} " for line in lines)


def test_an_unreachable_host_fails_its_checks_naming_it(estate):
    inventory, env, _log, _ = estate
    result = _verify(inventory, env, "-k", "d2 and service")
    assert result.returncode == 3
    assert "d2: service elasticsearch running: cannot reach d2 over SSH" in result.stdout
    assert "No route to host" in result.stdout


def test_pytest_arguments_that_choose_nothing_exit_2(estate):
    inventory, env, _, _ = estate
    result = _verify(inventory, env, "-k", "no-such-check")
    assert result.returncode == 2
    assert "no check matched" in result.stdout


def test_a_password_in_host_data_is_refused_before_any_connection(tmp_path):
    hosts, data, estate = pf.valid()
    secret = "s3cret-that-must-not-show"
    data["ssh_password"] = secret
    inventory = pf.write(tmp_path, hosts, data, estate)
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    result = _verify(inventory, env)
    assert result.returncode == 2
    assert "ssh_password set" in result.stderr and "ssh-agent" in result.stderr
    assert secret not in result.stdout + result.stderr


def test_a_missing_inventory_is_one_line_and_exit_2(tmp_path):
    result = _verify(tmp_path / "nope.py", dict(os.environ))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("esdr: inventory") and "no such file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_json_output_is_one_document_with_each_checks_outcome(estate):
    inventory, env, _, yml = estate
    yml.chmod(0o600)
    result = subprocess.run(
        [sys.executable, "-c", "from esdr.cli.main import main; main()", "--json", "verify",
         str(inventory), "-k", "d1 and elasticsearch.yml and not keystore"],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["exit"] == 3
    outcomes = {c["id"]: (c["outcome"], c["reason"]) for c in answer["checks"]}
    assert outcomes == {
        f"d1: mode {yml}": ("failed", f"d1: mode {yml}: mode 600, expected 660"),
        f"d1: rendered {yml}": ("passed", ""),
    }
