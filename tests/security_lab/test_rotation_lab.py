"""Rotation for real on the lab's DC1: ``esdr certs rotate-ca`` through all three phases while a
writer indexes documents and health is polled the whole time, then ``esdr secrets
rotate-elastic``; after each, a deploy changes nothing.

The lab is the security modules' own (tests/security_lab/conftest.py), with its own secrets
directory (``XDG_DATA_HOME`` of a temporary directory), so a rotation this module leaves
half-done can never reach another lab test; this module runs after the other one. Every
request goes to lab addresses (10.88.0.0/24) only; every loop is bounded in count and time.
The numbers are written to ``/tmp/esdr-rotation-lab.json`` and printed.

The CA rotation is a drill (``-m drill``, about six minutes): CI's time budget leaves it out, and
it is run with ``bash scripts/test -m drill`` before work on rotation or rolling restarts is
called done.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.deploy_runner import REPO, run_deploy
from tests.integration.lab_dc1 import ADDRESS_OF as NODES

pytestmark = pytest.mark.lab

INVENTORY = "inventories/lab.py"
INDEX = "rotation-writes"
REPORT = Path("/tmp/esdr-rotation-lab.json")
NUMBERS: dict = {}


def _topology():
    from esdr.project import load_project

    return load_project(REPO / INVENTORY).topology


def _password() -> str:
    from esdr.security.refs import resolve_setting

    return resolve_setting(_topology().cluster["es_elastic_password"], "lab").reveal()


class Api:
    """HTTPS to the lab nodes, trusting what esdr's controller clients trust at each request
    (``ca_pem_path``: the old + new bundle while the rotation runs), as ``elastic``."""

    def __init__(self, password: str):
        self.password = password
        self.topology = _topology()

    def context(self, cafile: str | None = None) -> ssl.SSLContext:
        from esdr.security.certs import ca_pem_path

        return ssl.create_default_context(cafile=cafile or str(ca_pem_path(self.topology)))

    def call(self, address: str, method: str, path: str, body: dict | None = None, *,
             password: str | None = None, timeout: float = 10) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"https://{address}:9200/{path.lstrip('/')}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )
        auth = f"elastic:{password or self.password}".encode()
        request.add_header("Authorization", "Basic " + base64.b64encode(auth).decode())
        try:
            with urllib.request.urlopen(request, context=self.context(), timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, {}


@dataclass
class Watch:
    """Health and acknowledged writes, sampled in the background until stopped."""

    api: Api
    statuses: list[str] = field(default_factory=list)
    unanswered: int = 0
    acked: list[str] = field(default_factory=list)
    attempts: int = 0
    write_errors: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def health(self, limit: int = 4000) -> None:
        addresses = list(NODES.values())
        for i in range(limit):  # ~0.5 s apart: about 35 minutes at most
            if self.done.is_set():
                return
            for address in addresses[i % 5:] + addresses[:i % 5]:  # the first node that answers
                try:
                    code, body = self.api.call(address, "GET", "_cluster/health", timeout=3)
                except (OSError, ValueError):
                    continue
                if code == 200:
                    self.statuses.append(body["status"])
                    break
            else:
                self.unanswered += 1
            time.sleep(0.5)

    def write(self, limit: int = 30000) -> None:
        addresses = list(NODES.values())
        for n in range(limit):  # one document after another, each acknowledged or retried
            doc = f"doc-{n:05d}"
            for attempt in range(10):
                if self.done.is_set():
                    return
                self.attempts += 1
                address = addresses[(n + attempt) % len(addresses)]
                try:
                    code, _ = self.api.call(address, "PUT", f"{INDEX}/_doc/{doc}",
                                            {"n": n, "at": time.time()}, timeout=10)
                except (OSError, ValueError):
                    code = 0
                if code in (200, 201):
                    self.acked.append(doc)
                    break
                self.write_errors += 1
                time.sleep(0.2)
            time.sleep(0.02)

    def __enter__(self) -> Watch:
        self.threads = [threading.Thread(target=self.health, daemon=True),
                        threading.Thread(target=self.write, daemon=True)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=60)


def _esdr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from esdr.cli.main import main; main()", *args],
        cwd=REPO, capture_output=True, text=True, timeout=3000,
    )


def _served_issuer(address: str, cafile: str) -> str:
    from cryptography import x509

    context = ssl.create_default_context(cafile=cafile)
    with socket.create_connection((address, 9200), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=address) as tls:
            cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
            return cert.issuer.rfc4514_string()


def _uptimes(api: Api) -> dict[str, int]:
    code, body = api.call(NODES["dc1-data-az1"], "GET", "_nodes/stats/jvm")
    assert code == 200
    return {n["name"]: n["jvm"]["uptime_in_millis"] for n in body["nodes"].values()}


def _unchanged_rerun(what: str) -> None:
    again = run_deploy(INVENTORY)
    assert again.returncode == 0, again.stderr[-4000:]
    changed = again.changed_operations()
    assert set(changed) == set(NODES), changed.keys()
    assert all(ops == [] for ops in changed.values()), (what, changed)
    NUMBERS[f"rerun_after_{what}_seconds"] = round(again.seconds, 1)


@pytest.fixture(scope="module")
def lab(secured_lab):
    try:
        yield secured_lab
    finally:
        REPORT.write_text(json.dumps(NUMBERS, indent=2))
        print(json.dumps(NUMBERS, indent=2))


@pytest.mark.drill  # ~6 min; CI keeps its mechanism: test_security_lab's certificate reissue
# rolls the cluster node by node, test_failed_roll_lab's held roll refuses and gives back
def test_rotate_ca_keeps_the_cluster_up_and_loses_no_acknowledged_write(lab) -> None:
    from esdr.security import store

    api = Api(_password())
    data = NODES["dc1-data-az1"]
    code, _ = api.call(data, "PUT", INDEX, {"settings": {"number_of_shards": 2,
                                                         "number_of_replicas": 1}})
    assert code == 200
    directory = store.secrets_dir(api.topology.cluster)
    old_ca = tempfile.NamedTemporaryFile(suffix=".crt", delete=False)
    old_ca.write((directory / "ca.crt").read_bytes())
    old_ca.close()
    old_issuer = _served_issuer(data, old_ca.name)

    dry = _esdr("certs", "rotate-ca", "--dry", "--skip", "dc2", INVENTORY)
    assert dry.returncode == 0, dry.stderr
    assert "a new CA would be created" in dry.stdout
    assert not (directory / store.ROTATION_STATE).exists()

    start = time.monotonic()
    with Watch(api) as watch:
        time.sleep(5)  # writes and health before the first phase
        rotated = _esdr("--json", "certs", "rotate-ca", "--skip", "dc2", INVENTORY)
        time.sleep(5)  # and after the last
    seconds = time.monotonic() - start
    assert rotated.returncode == 0, rotated.stderr[-4000:]
    result = json.loads(rotated.stdout)
    restarted = [line.split("restarted ", 1)[1].split(":")[0]
                 for line in rotated.stderr.splitlines() if "] restarted " in line]

    code, _ = api.call(data, "POST", f"{INDEX}/_refresh")
    assert code == 200
    code, counted = api.call(data, "GET", f"{INDEX}/_count")
    assert code == 200
    missing: list[str] = []
    for i in range(0, len(watch.acked), 1000):
        batch = watch.acked[i:i + 1000]
        code, found = api.call(data, "POST", f"{INDEX}/_mget", {"ids": batch})
        assert code == 200
        missing += [d["_id"] for d in found["docs"] if not d.get("found")]
    NUMBERS.update({
        "rotate_ca_seconds": round(seconds, 1),
        "phase_seconds": result["seconds"],
        "restarts": len(restarted),
        "documents_attempted": watch.attempts,
        "documents_acknowledged": len(watch.acked),
        "documents_found": counted["count"],
        "acknowledged_missing": len(missing),
        "write_errors_retried": watch.write_errors,
        "health_samples": len(watch.statuses),
        "health_by_status": {s: watch.statuses.count(s) for s in set(watch.statuses)},
        "health_unanswered_rounds": watch.unanswered,
    })
    assert result["finished"] is True
    assert set(result["seconds"]) == {f"{p} {INVENTORY}" for p in ("trust", "reissue", "drop")}
    assert sorted(restarted) == sorted(n for n in NODES for _ in range(3))  # once per phase
    assert len(watch.statuses) > 100 and "red" not in watch.statuses
    assert len(watch.acked) > 500
    assert missing == [] and counted["count"] >= len(watch.acked)

    new_ca = str(directory / "ca.crt")
    assert not (directory / store.ROTATION_STATE).exists()
    for name, address in NODES.items():
        issuer = _served_issuer(address, new_ca)
        assert issuer != old_issuer, name
        with pytest.raises(ssl.SSLCertVerificationError):
            _served_issuer(address, old_ca.name)
    os.unlink(old_ca.name)
    _unchanged_rerun("rotate_ca")


def _modules(api: Api) -> set[str]:
    code, body = api.call(NODES["dc1-data-az1"], "GET", "_nodes/plugins")
    assert code == 200
    return {m["name"] for n in body["nodes"].values() for m in n["modules"]}


def test_rotate_elastic_changes_the_password_without_a_restart(lab) -> None:
    """The password lives in the .security index, whose mapping needs the analysis-common
    module. The lab's integ-test build of Elasticsearch ships without it, so there the cluster
    must refuse and esdr must leave everything as it was; with the module, the full rotation."""
    old = _password()
    api = Api(old)
    before = _uptimes(api)
    rotated = _esdr("secrets", "rotate-elastic", INVENTORY)
    output = rotated.stdout + rotated.stderr
    data = NODES["dc1-data-az1"]
    NUMBERS["rotate_elastic_output_chars"] = len(output)
    if "analysis-common" not in _modules(api):
        NUMBERS["rotate_elastic"] = "refused by the lab's build (no analysis-common module)"
        assert rotated.returncode == 1, output
        assert "refused the password change" in output and "pattern_capture" in output, output
        assert len(rotated.stderr.strip().splitlines()) == 1, rotated.stderr
        assert _password() == old and old not in output
        assert not list(Path(_topology().cluster["es_elastic_password"]["file"]).parent
                        .glob(".*.next"))
        assert api.call(data, "GET", "_security/_authenticate")[0] == 200
        _unchanged_rerun("rotate_elastic_refused")
        return
    assert rotated.returncode == 0, rotated.stderr[-4000:]
    new = _password()
    assert new != old
    assert old not in output and new not in output
    assert api.call(data, "GET", "_security/_authenticate", password=old)[0] == 401
    code, who = api.call(data, "GET", "_security/_authenticate", password=new)
    assert code == 200 and who["username"] == "elastic"
    for name, address in NODES.items():  # the deploy's own curl -K config holds the new one
        out = lab["api"].ssh(
            name, f"curl -s -o /dev/null -w '%{{http_code}}' -K /etc/esdr/es-api.curlrc "
            f"https://{address}:9200/_security/_authenticate", timeout=30)
        assert out.stdout.strip() == "200", (name, out.stdout, out.stderr)
    after = Api(new)
    assert all(after_ms > before[n] for n, after_ms in _uptimes(after).items()), "restarted"
    NUMBERS["rotate_elastic"] = "rotated"
    _unchanged_rerun("rotate_elastic")
