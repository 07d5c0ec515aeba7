"""Security for real on the lab's DC1: TLS and authentication refuse what they must, the password
never leaks while a deploy runs, a certificate reissue rolls the cluster one node at a time.

The lab, its private secrets directory and its watched first deploy are shared with the CA
rotation module (tests/security_lab/conftest.py), which runs after this one. Everything talks only to lab addresses (10.88.0.0/24); every loop
is bounded. The leak-scan numbers are written to ``/tmp/esdr-leak-scan.json`` and printed.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.deploy_runner import REPO, DeployRun, run_deploy
from tests.integration.health_watch import watch_health
from tests.integration.lab_dc1 import ADDRESS_OF as NODES

pytestmark = pytest.mark.lab

INVENTORY = "inventories/lab.py"
DATA = "10.88.0.14"
REPORT = Path("/tmp/esdr-leak-scan.json")


def _topology():
    from esdr.project import load_project

    return load_project(REPO / INVENTORY).topology


def _password() -> str:
    from esdr.security.refs import resolve_setting

    return resolve_setting(_topology().cluster["es_elastic_password"], "lab").reveal()


def _ca_file() -> str:
    from esdr.security.certs import ca_pem_path

    return str(ca_pem_path(_topology()))


def _protected(mode: int) -> bool:
    """0600/0640 (or stricter): nobody but the owner (and a read-only group) may read it."""
    return not (mode & 0o007) and not (mode & 0o030)


def _scan_host_roots(needle: bytes) -> dict:
    """Every regular file each host wrote (its overlay upper dir = its changes to the image)."""
    from esdr_lab import constants

    scanned = skipped_protected = 0
    leaks: list[str] = []
    protected_hits: list[str] = []
    for name in NODES:
        upper = constants.HOSTS_DIR / name / "upper"
        for dirpath, _dirs, filenames in os.walk(upper):
            for filename in filenames:
                path = Path(dirpath) / filename
                try:
                    info = path.lstat()
                    if not stat.S_ISREG(info.st_mode):
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                where = f"{name}:/{path.relative_to(upper)}"
                if _protected(stat.S_IMODE(info.st_mode)):
                    skipped_protected += 1
                    if needle in data:
                        protected_hits.append(f"{where} ({stat.S_IMODE(info.st_mode):o})")
                    continue
                scanned += 1
                if needle in data:
                    leaks.append(where)
    return {
        "files_scanned": scanned,
        "protected_files": skipped_protected,
        "occurrences": leaks,
        "protected_files_holding_it": protected_hits,
    }


@pytest.fixture(scope="module")
def lab(secured_lab):
    return secured_lab


def _https(url: str, *, cafile: str | None, auth: str | None = None) -> int:
    context = ssl.create_default_context(cafile=cafile)
    request = urllib.request.Request(url)
    if auth:
        import base64

        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_password_never_appears_in_ps_output_or_unprotected_files(lab) -> None:
    password = _password()
    needle = password.encode()
    first: DeployRun = lab["first"]
    sampler = lab["sampler"]
    ps_hits = {
        where: sum(password in s for s in samples) for where, samples in sampler.samples.items()
    }
    output_hits = first.stdout.count(password) + first.stderr.count(password)
    files = _scan_host_roots(needle)
    report = {
        "ps_samples": {where: len(s) for where, s in sampler.samples.items()},
        "ps_occurrences": ps_hits,
        "pyinfra_output_chars": len(first.stdout) + len(first.stderr),
        "pyinfra_output_occurrences": output_hits,
        "host_files": files,
    }
    REPORT.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    assert all(len(s) >= 10 for s in sampler.samples.values()), report["ps_samples"]
    assert sum(ps_hits.values()) == 0
    assert output_hits == 0
    assert files["occurrences"] == []
    # positive control: the scanner does find it where it must be (root-only curl config)
    assert any("/etc/esdr/es-api.curlrc" in h for h in files["protected_files_holding_it"])
    assert files["files_scanned"] > 1000


def test_deploy_output_names_the_secret_operations_without_content(lab) -> None:
    text = lab["first"].stderr
    assert "Keystore bootstrap.password" in text
    assert "elasticsearch-keystore add --stdin --force bootstrap.password <" in text
    assert "BEGIN PRIVATE KEY" not in text + lab["first"].stdout


def test_plain_http_is_refused() -> None:
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"http://{DATA}:9200/_cluster/health", timeout=10).read()


def test_unauthenticated_and_wrong_password_are_refused_right_one_accepted(lab) -> None:
    url = f"https://{DATA}:9200/_cluster/health"
    assert _https(url, cafile=_ca_file()) == 401
    assert _https(url, cafile=_ca_file(), auth="elastic:not-the-password") == 401
    assert _https(url, cafile=_ca_file(), auth=f"elastic:{_password()}") == 200


def test_a_client_trusting_another_ca_is_refused(lab, tmp_path) -> None:
    from esdr.security.certs import create_ca

    other, _ = create_ca("not the estate CA", 30)
    (tmp_path / "other.crt").write_bytes(other)
    with pytest.raises(urllib.error.URLError) as caught:
        _https(f"https://{DATA}:9200/_cluster/health", cafile=str(tmp_path / "other.crt"))
    assert isinstance(caught.value.reason, ssl.SSLCertVerificationError)


def test_transport_is_tls_with_the_estate_ca_and_wants_a_client_certificate(lab) -> None:
    context = ssl.create_default_context(cafile=_ca_file())
    with socket.create_connection((DATA, 9300), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=DATA) as tls:
            assert tls.getpeercert()  # verified against the estate CA, SAN = 10.88.0.14
            try:
                tls.sendall(b"ES\x00\x00\x00\x00")
                answer = tls.recv(64)
            except (ssl.SSLError, ConnectionError, OSError):
                answer = b""
    assert answer == b""  # no client certificate: the node closes the connection


def test_esdr_clients_speak_https_with_credentials(lab) -> None:
    from esdr.es.connect import client_for

    health = client_for(_topology()).cluster.health(wait_for_status="green", timeout="60s")
    assert health["number_of_nodes"] == 5 and health["status"] == "green"


def test_rerun_changes_nothing_and_reuses_the_certificates(lab) -> None:
    from esdr.security import store

    directory = store.secrets_dir(_topology().cluster)
    before = {p: p.read_bytes() for p in directory.rglob("*.crt")}
    second = run_deploy(INVENTORY)
    assert second.returncode == 0, second.stderr[-4000:]
    changed = second.changed_operations()
    assert all(ops == [] for ops in changed.values()), changed
    assert {p: p.read_bytes() for p in directory.rglob("*.crt")} == before


def _served_serial(address: str) -> int:
    from cryptography import x509

    context = ssl.create_default_context(cafile=_ca_file())
    with socket.create_connection((address, 9200), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=address) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def test_certificate_reissue_rolls_the_cluster_one_node_at_a_time(lab) -> None:
    from esdr.es.connect import client_for
    from esdr.security.certs import ensure_certificates

    renewed = subprocess.run(
        [sys.executable, "-c", "from esdr.cli.main import main; main()"]
        + ["certs", "renew", INVENTORY],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert renewed.returncode == 0, renewed.stderr
    assert renewed.stdout.count(": issued, expires ") == len(NODES), renewed.stdout
    issued = ensure_certificates(_topology())  # what renew stored, reused as is
    assert not any(c.issued for c in issued.nodes.values())
    with watch_health(client_for(_topology(), request_timeout=5)) as seen:
        rolled = run_deploy(INVENTORY)
    assert rolled.returncode == 0, rolled.stderr[-4000:]
    restarted = [
        line.split("restarted ", 1)[1].split(":")[0]
        for line in rolled.esdr_lines()
        if "] restarted " in line
    ]
    assert sorted(restarted) == sorted(NODES)
    assert set(restarted[:2]) == {"dc1-data-az1", "dc1-data-az2"}  # data first, masters last
    assert len(seen.statuses) > 20 and "red" not in seen.statuses
    assert min(seen.node_counts) >= 4  # never two nodes away at once
    for name, address in NODES.items():
        assert _served_serial(address) == issued.nodes[name].info.serial, name
