"""The gateway tier's front door, for real, on lab hosts gw1, gw2, upstream1, upstream2.

The front doors are drilled apart from the gateway (the real binary runs behind keepalived in
tests/crossdc_lab and tests/opensearch_lab), so each gateway host runs a stand-in: a
python3 ``http.server`` script (a transient systemd unit this test starts and stops by name) on
the gateway's entry port 8000 and API port 2900, answering every path (``/health`` included)
with 200 and its host name. Everything else is the production path: ``deploys/site.py`` with
the same renderer,
the same keepalived.conf / Nginx site, and keepalived and nginx from the lab image's Debian
packages (``apt.packages(update=False)``: no network, no apt update).

- keepalived (inventories/lab_gateways.py): VIP 10.88.0.100 on gw1 (priority 150, preempt);
  stop gw1's keepalived -> the VIP answers from gw2; start it -> back on gw1. SIGKILL of
  keepalived (by pid) too: the killed master may keep the address, so we check WHERE the VIP
  answers, not whether the address is configured. Each drill 3 times; medians printed (-s).
- Nginx (inventories/lab_gateways_nginx.py): Nginx on gw1 hashes by index over upstream1 and
  upstream2; stop upstream1's stand-in -> 0 failed requests of a 200-request burst; start it ->
  it rejoins (timed).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gateway_lab.drill import burst, median, wait_for_answer, who
from tests.gateway_lab.drill import ssh as _ssh

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
KEEPALIVED_INVENTORY = "inventories/lab_gateways.py"
NGINX_INVENTORY = "inventories/lab_gateways_nginx.py"
VIP_URL = "http://10.88.0.100:8000/"
NGINX_URL = "http://10.88.0.31:9200"
RUNS = 3
STANDIN_DIR = "/srv/esdr-standin"
# the deploy reads the password from this variable; the test checks it never shows up
SECRET = "lab-only-s3cret-never-logged"

TIMES: dict[str, list[float]] = {}
KEPT_AFTER_KILL: list[bool] = []  # did SIGKILLed gw1 still have the VIP configured?


def _deploy(inventory: str):
    """`pyinfra -y --json INVENTORY deploys/site.py`, with the secret in the environment only."""
    from tests.integration.deploy_runner import SITE, DeployRun

    env = {**os.environ, "ESDR_LAB_GATEWAY_PASSWORD": SECRET}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pyinfra", "-y", "--json", inventory, str(SITE)],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    run = DeployRun(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
    assert run.returncode == 0, run.stderr[-4000:]
    assert SECRET not in run.stdout + run.stderr, "the secret leaked into the deploy output"
    return run


# The stand-in: answers every method and path with 200 and the host's name.
STANDIN = """\
import http.server, socket, sys
NAME = (socket.gethostname() + "\\n").encode()
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(NAME)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(NAME)
    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = answer
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()
"""


def _standin(host: str, *ports: int) -> None:
    """Start the gateway stand-in on ``host`` (idempotent): a transient unit per port."""
    encoded = base64.b64encode(STANDIN.encode()).decode()
    _ssh(host, f"mkdir -p {STANDIN_DIR} && echo {encoded} | base64 -d > {STANDIN_DIR}/standin.py")
    for port in ports:
        unit = f"esdr-standin-{port}"
        _ssh(
            host,
            f"systemctl is-active -q {unit} || systemd-run --quiet --unit {unit} "
            f"python3 {STANDIN_DIR}/standin.py {port}",
        )
    for port in ports:  # bounded wait until it listens
        _ssh(
            host,
            f"for i in $(seq 50); do curl -fsS -m 1 -o /dev/null http://127.0.0.1:{port}/ "
            "&& exit 0; sleep 0.1; done; exit 1",
        )


def _keepalived_pids(host: str) -> list[int]:
    main = int(_ssh(host, "systemctl show -p MainPID --value keepalived").strip())
    assert main > 0, f"keepalived is not running on {host}"
    children = _ssh(host, f"pgrep -P {main} || true").split()
    return [main, *map(int, children)]


@pytest.fixture(scope="module")
def lab():
    from esdr_lab import api

    api.require_lab()
    api.up([KEEPALIVED_INVENTORY], fresh=True)
    try:
        yield
    finally:
        if TIMES:
            print("\n[front-door drill] median of", RUNS, "runs:")
            for what, values in TIMES.items():
                runs = ", ".join(f"{v:.2f}" for v in values)
                print(f"  {what}: median {median(values):.2f} s  (runs: {runs})")
        if KEPT_AFTER_KILL:
            print(f"  SIGKILLed master still had the VIP configured: {KEPT_AFTER_KILL}")
        api.down()


@pytest.fixture(scope="module")
def keepalived_tier(lab):
    from esdr_lab import api

    api.require_lab()
    for host in ("gw1", "gw2"):
        _standin(host, 8000, 2900)
    first = _deploy(KEEPALIVED_INVENTORY)
    second = _deploy(KEEPALIVED_INVENTORY)
    return first, second


def test_keepalived_deploy_is_idempotent_and_skips_the_binary_clearly(keepalived_tier):
    from esdr_lab import api

    api.require_lab()
    first, second = keepalived_tier
    assert any(first.changed_operations()[h] for h in ("gw1", "gw2"))
    changed = {h: ops for h, ops in second.changed_operations().items() if ops}
    assert changed == {}, f"second run changed: {changed}"
    assert "binary step skipped" in first.stderr + first.stdout
    for host in ("gw1", "gw2"):
        mode = _ssh(host, "stat -c '%a %U %G' /etc/infini-gateway/gateway.env").split()
        assert mode == ["600", "infini-gateway", "infini-gateway"]
        assert SECRET not in _ssh(host, "cat /etc/infini-gateway/gateway.yml")
        assert _ssh(host, "systemctl is-active keepalived").strip() == "active"


def test_keepalived_vip_fails_over_on_stop_and_returns_by_preempt(keepalived_tier):
    from esdr_lab import api

    api.require_lab()
    wait_for_answer(VIP_URL, "gw1", limit=30)
    for _ in range(RUNS):
        # timed from before the ssh command: `systemctl stop` returns only after keepalived
        # has handed the address over (priority-0 advert), so timing after it would show 0
        start = time.monotonic()
        _ssh("gw1", "systemctl stop keepalived")
        wait_for_answer(VIP_URL, "gw2", limit=20)
        TIMES.setdefault("keepalived stop -> VIP on gw2", []).append(time.monotonic() - start)
        start = time.monotonic()
        _ssh("gw1", "systemctl start keepalived")
        wait_for_answer(VIP_URL, "gw1", limit=30)
        TIMES.setdefault("keepalived start -> VIP back on gw1 (preempt)", []).append(
            time.monotonic() - start
        )
    assert max(TIMES["keepalived stop -> VIP on gw2"]) < 10


def test_keepalived_vip_fails_over_on_sigkill(keepalived_tier):
    from esdr_lab import api

    api.require_lab()
    wait_for_answer(VIP_URL, "gw1", limit=30)
    for _ in range(RUNS):
        pids = _keepalived_pids("gw1")
        start = time.monotonic()
        _ssh("gw1", f"kill -KILL {' '.join(map(str, pids))}")
        wait_for_answer(VIP_URL, "gw2", limit=30)
        TIMES.setdefault("keepalived SIGKILL -> VIP on gw2", []).append(time.monotonic() - start)
        # where is the address now? (testbed.md: a killed master may keep it configured)
        kept = "10.88.0.100/" in _ssh("gw1", "ip -4 -o addr show dev eth0")
        KEPT_AFTER_KILL.append(kept)
        # the killed master may still hold the address: keepalived removes it on start
        start = time.monotonic()
        _ssh("gw1", "systemctl reset-failed keepalived; systemctl start keepalived")
        wait_for_answer(VIP_URL, "gw1", limit=30)
        TIMES.setdefault("after SIGKILL: start -> VIP back on gw1", []).append(
            time.monotonic() - start
        )
    assert max(TIMES["keepalived SIGKILL -> VIP on gw2"]) < 15


def test_keepalived_health_check_moves_the_vip_when_the_gateway_dies(keepalived_tier):
    """vrrp_script: the gateway's entry stops answering -> gw1 gives the VIP up (FAULT)."""
    from esdr_lab import api

    api.require_lab()
    wait_for_answer(VIP_URL, "gw1", limit=30)
    start = time.monotonic()
    _ssh("gw1", "systemctl stop esdr-standin-8000")
    wait_for_answer(VIP_URL, "gw2", limit=20)
    TIMES.setdefault("gateway entry down -> VIP on gw2 (vrrp_script)", []).append(
        time.monotonic() - start
    )
    _standin("gw1", 8000)
    wait_for_answer(VIP_URL, "gw1", limit=30)


@pytest.fixture(scope="module")
def nginx_tier(lab):
    from esdr_lab import api

    api.require_lab()
    for host in ("upstream1", "upstream2"):
        _standin(host, 8000)
    first = _deploy(NGINX_INVENTORY)
    second = _deploy(NGINX_INVENTORY)
    return first, second


def _urls(count: int) -> list[str]:
    # many indices, so the consistent hash spreads them over both gateways
    return [f"{NGINX_URL}/logs-{i % 40}/_doc/{i}" for i in range(count)]


def test_nginx_deploy_is_idempotent(nginx_tier):
    from esdr_lab import api

    api.require_lab()
    first, second = nginx_tier
    assert first.changed_operations()["gw1"]
    changed = {h: ops for h, ops in second.changed_operations().items() if ops}
    assert changed == {}, f"second run changed: {changed}"


def test_nginx_hashes_one_index_to_one_gateway(nginx_tier):
    from esdr_lab import api

    api.require_lab()
    failed, answers = burst(_urls(200))
    assert failed == 0
    assert set(answers) == {"upstream1", "upstream2"}, answers
    # the same index always lands on the same gateway
    for index in range(5):
        seen = {who(f"{NGINX_URL}/logs-{index}/_search") for _ in range(5)}
        assert len(seen) == 1, seen


def test_nginx_loses_no_request_when_a_gateway_stops_and_it_rejoins(nginx_tier):
    from esdr_lab import api

    api.require_lab()
    failures: list[int] = []
    write_failures: list[int] = []
    for _ in range(RUNS):
        _ssh("upstream1", "systemctl stop esdr-standin-8000")
        failed, answers = burst(_urls(200))
        failures.append(failed)
        assert failed == 0, f"{failed} of 200 reads failed with upstream1 stopped"
        assert set(answers) == {"upstream2"}, answers
        # writes too: POST /<index>/_doc, which nginx must not resend once sent
        failed, answers = burst([u.rsplit("/", 1)[0] for u in _urls(100)], body=b'{"n": 1}')
        write_failures.append(failed)
        assert failed == 0, f"{failed} of 100 writes failed with upstream1 stopped"
        _standin("upstream1", 8000)
        start = time.monotonic()
        for _ in range(300):  # bounded: fail_timeout is 5 s
            _, answers = burst(_urls(40), timeout=1.0)
            if "upstream1" in answers:
                break
            time.sleep(0.1)
        assert "upstream1" in answers, "upstream1 did not rejoin"
        TIMES.setdefault("nginx: upstream restarted -> rejoins", []).append(
            time.monotonic() - start
        )
    print(
        f"\n[front-door drill] nginx, one gateway stopped: failed reads {failures} (of 200 each), "
        f"failed writes {write_failures} (of 100 each)"
    )


def test_nginx_on_a_lab_host_accepts_the_tls_site_esdr_renders(nginx_tier):
    """The lab's Nginx tier listens plain (a lab may), so the TLS site production gets is
    checked here by the distribution's own nginx on gw1: ``nginx -t`` on a scratch prefix with
    the rendered site (``listen ... ssl``, ``proxy_ssl_verify on`` to the entries) and real
    certificate files from a CA made for the check. This host has no nginx of its own."""
    from esdr.gateway.render import nginx_site, nginx_tls_paths
    from esdr.security import certs
    from esdr.security.sans import sans_of
    from esdr_lab import api
    from tests.gateway.factory import tier

    api.require_lab()
    model = tier({"kind": "nginx", "listen_port": 9200}, balancers=(("lb1", "10.0.0.21"),))
    site = nginx_site(model, model.host("lb1"))
    assert "listen 9200 ssl;" in site and "proxy_ssl_verify on;" in site, site
    ca_pem, ca_key = certs.create_ca("front door check CA", 30)
    cert, key = certs.issue_node_cert(certs.load_ca(ca_pem, ca_key, "check"), "lb1",
                                      sans_of(["lb1", "127.0.0.1"]), 30)
    scratch = "/tmp/esdr-nginx-tls-check"
    files = {}
    paths = nginx_tls_paths()
    for path, data in ((paths.cert, cert), (paths.key, key), (paths.ca, ca_pem)):
        local = f"{scratch}/{Path(path).name}"
        files[local] = data
        site = site.replace(path, local)
    files[f"{scratch}/site.conf"] = site.encode()
    files[f"{scratch}/nginx.conf"] = (
        f"pid {scratch}/nginx.pid;\nerror_log {scratch}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {scratch}/site.conf;\n}}\n").encode()
    _ssh("gw1", f"rm -rf {scratch} && mkdir -m 700 {scratch}")
    for path, data in files.items():
        _ssh("gw1", f"echo {base64.b64encode(data).decode()} | base64 -d > {path}")
    out = _ssh("gw1", f"nginx -t -p {scratch} -c {scratch}/nginx.conf 2>&1; echo rc=$?; "
                      f"rm -rf {scratch}")
    assert "rc=0" in out, out
