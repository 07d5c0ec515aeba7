"""``pyinfra --dry`` on a deployed lab: it reports what the deploy reads and writes nothing, on
the hosts or on the controller.

Run under the lab lock (one lab session at a time on this machine):
    flock -w 3000 /run/esdr-lab-session.lock python -m pytest -m lab tests/dry_lab

The lab is the session's shared DC1 (``dc1_deployed``, tests/lab_fixtures.py); the real run at
the end converges it again.

To give the dry run something to report, one node's certificate is moved out of the controller's
secrets directory (the deploy would reissue it) and one host's elasticsearch.yml gets a line the
deploy would take out; both are put back afterwards.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.deploy_runner import REPO, SITE, run_deploy

pytestmark = pytest.mark.lab

INVENTORY = "inventories/lab.py"
HOSTS = ("dc1-master-az1", "dc1-master-az2", "dc1-tiebreaker-az3", "dc1-data-az1", "dc1-data-az2")
REISSUED = "dc1-data-az1"  # its certificate is missing from the controller during the dry run
DRIFTED = "dc1-data-az2"  # its elasticsearch.yml carries a line the deploy would remove
DRIFT = "# esdr dry-run test: the deploy would remove this line"
# What the deploy writes on a host (files, owners, modes, contents) and whether the service
# was restarted: the data path itself changes all the time, its marker file does not.
HOST_SNAPSHOT = (
    "find /etc/elasticsearch /etc/esdr /etc/systemd/system/elasticsearch.service "
    "/etc/sysctl.d /var/lib/elasticsearch/esdr-cluster-uuid /opt/elasticsearch -maxdepth 2 "
    "-printf '%p %u:%g %m %s %T@ %l\\n' 2>/dev/null | sort; "
    "find /etc/elasticsearch /etc/esdr -type f -exec sha256sum {} + | sort; "
    "systemctl show elasticsearch -p MainPID -p ActiveEnterTimestampMonotonic"
)


def _topology():
    from esdr.project import load_project

    return load_project(REPO / INVENTORY).topology


def _controller_snapshot(directory: Path) -> dict[str, tuple]:
    """Every entry under the secrets directory: mode, size, mtime and content hash."""
    entries = {}
    for path in sorted([directory, *directory.rglob("*")]):
        stat = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        entries[str(path.relative_to(directory))] = (stat.st_mode, stat.st_size,
                                                     stat.st_mtime_ns, digest)
    return entries


def _host_snapshot(api) -> dict[str, str]:
    snapshot = {}
    for name in HOSTS:
        result = api.ssh(name, HOST_SNAPSHOT, timeout=60)
        assert result.returncode == 0, result.stderr
        snapshot[name] = result.stdout
    return snapshot


def _dry_run() -> subprocess.CompletedProcess[str]:
    # No -y: pyinfra detects changes (so every operation is prepared) and --dry stops there.
    return subprocess.run(
        [sys.executable, "-m", "pyinfra", "--dry", INVENTORY, str(SITE)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )


@pytest.fixture(scope="module")
def lab(dc1_deployed):
    return dc1_deployed.api


@pytest.fixture
def drift(lab, tmp_path):
    """Give the dry run a certificate to reissue and a file to fix; put both back after."""
    from esdr.security import store

    topology = _topology()
    directory = store.secrets_dir(topology.cluster)
    node_certs = directory / "nodes" / str(topology.cluster.name)
    moved = [node_certs / f"{REISSUED}.{ext}" for ext in ("crt", "key")]
    for path in moved:
        shutil.move(path, tmp_path / path.name)
    config = "/etc/elasticsearch/elasticsearch.yml"
    assert lab.ssh(DRIFTED, f"echo '{DRIFT}' >> {config}").returncode == 0
    try:
        yield directory
    finally:
        for path in moved:
            if not path.exists():  # a real deploy in the test reissued it: keep that one
                shutil.move(tmp_path / path.name, path)
        lab.ssh(DRIFTED, f"sed -i '/esdr dry-run test/d' {config}")


def test_dry_run_reports_the_reads_and_writes_nothing(lab, drift):
    controller_before = _controller_snapshot(drift)
    hosts_before = _host_snapshot(lab)

    dry = _dry_run()
    output = dry.stdout + dry.stderr
    print(output[-6000:])
    assert dry.returncode == 0, output[-4000:]

    # What the deploy would see and do, read while preparing
    assert "before the deploy (what the deploy reads):" in output
    assert re.search(r"\[esdr\] cluster \S+: \w+, 5 nodes", output), output[-4000:]
    assert re.search(r"rolling restart reads: cluster \w+, elected master dc1-master-az\d", output)
    assert f"certificate for {REISSUED} issued: missing" in output

    # ... and nothing written: not the reissued certificate, not the host files, no restart
    assert _controller_snapshot(drift) == controller_before
    assert not (drift / "nodes" / str(_topology().cluster.name) / f"{REISSUED}.crt").exists()
    assert _host_snapshot(lab) == hosts_before
    assert DRIFT in lab.ssh(DRIFTED, "cat /etc/elasticsearch/elasticsearch.yml").stdout


def test_a_real_run_after_the_dry_run_converges(lab, drift):
    """The same drift, deployed for real: the certificate is issued and stored, the file fixed,
    and only the node with a new certificate or config is restarted."""
    real = run_deploy(INVENTORY)
    assert real.returncode == 0, real.stderr[-4000:]
    assert (drift / "nodes" / str(_topology().cluster.name) / f"{REISSUED}.crt").exists()
    assert DRIFT not in lab.ssh(DRIFTED, "cat /etc/elasticsearch/elasticsearch.yml").stdout
    restarted = re.findall(r"rolling restart of \d+ node\(s\): (.*)", "\n".join(real.esdr_lines()))
    assert restarted and set(restarted[0].split(", ")) == {REISSUED, DRIFTED}, real.esdr_lines()
