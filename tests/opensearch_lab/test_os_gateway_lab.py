"""The real INFINI Gateway between the two OpenSearch data centres, drilled behind the VIP.

The package's lab (tests/opensearch_lab/conftest.py, shared with the replication drills, which
run first): DC1 (inventories/lab_os.py, primary), DC2 (inventories/lab_os_dc2.py, backup),
both OpenSearch 2.19.4 with the security plugin (HTTPS), and gw1/gw2
(inventories/lab_gateways_os.py: the binary from the lab mirror, checked by its sha512,
keepalived VIP 10.88.0.100). The same rendered gateway config as the Elasticsearch pair
(tests/crossdc_lab/test_gateway_drills_lab.py), only ``distribution: opensearch``. In order:

1. the tier's second deploy changes nothing, and writes through the VIP (with and without ids)
   land in both clusters under the same ids;
2. backup outage: DC2's hosts are powered off while writing through the VIP; every write is
   acknowledged and gw1's queue for DC2 grows; DC2 powered on, the queues drain (time printed)
   and both clusters hold the same documents, every acknowledged one among them.

The gateway failover and the primary outage are drilled on the Elasticsearch pair: what they
exercise (keepalived, systemd, the gateway's own down-marking) does not depend on the engine.
Writes carry the application's credentials (the lab's admin user), which the gateway passes
through. Times are printed (-s), never asserted.
"""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import urllib3

from esdr.es.connect import credentials
from esdr.gateway.render import SERVICE
from esdr.security import store
from tests.gateway_lab import writer as gw
from tests.gateway_lab.drill import ssh
from esdr_lab.replication_drill import DC1_INVENTORY, DC2_INVENTORY
from tests.opensearch_lab.conftest import GATEWAYS, deploy, status, status_lines

pytestmark = pytest.mark.lab

BACKUP_OUTAGE = 30.0  # seconds DC2 stays powered off (the Elasticsearch pair's drill: 60 s)
BACKUP_QUEUE = "lab-os-dc2-queue"
REPORT: dict[str, str] = {}


@pytest.fixture(scope="module")
def lab(os_dcs):
    from esdr.project import load_project
    from tests.integration.deploy_runner import REPO

    os_lab = os_dcs["os"]
    started = time.monotonic()
    try:
        second = deploy(GATEWAYS)
        user, password = credentials(os_lab.dc1)
        REPORT["gateway rerun"] = f"{time.monotonic() - started:.0f} s"
        project = load_project(REPO / GATEWAYS)
        # the tier keeps production's default: its entries speak TLS from the estate CA
        ca = store.secrets_dir(project.topology.cluster) / "ca.crt"
        yield {"api": os_dcs["api"], "deploys": (os_dcs["gateways"], second),
               "topologies": {"dc1": os_lab.dc1, "dc2": os_lab.dc2},
               "tier": project.tier, "ca": ca,
               "writer": {"entry": f"https://{gw.VIP}:8000",
                          "tls": ssl.create_default_context(cafile=str(ca))},
               "auth": urllib3.make_headers(basic_auth=f"{user}:{password}")}
    finally:
        print("\n[gateway drills, real binary, OpenSearch DC1 -> DC2]")
        for what, value in REPORT.items():
            print(f"  {what}: {value}")


def _es(lab, dc: str):
    return gw.cluster_client(lab["topologies"][dc])


def _green(lab, dc: str) -> bool:
    return gw.all_nodes_green(lab["topologies"][dc])


def _same_ids(lab, index: str) -> set[str] | None:
    dc1, dc2 = gw.doc_ids(_es(lab, "dc1"), index), gw.doc_ids(_es(lab, "dc2"), index)
    return dc1 if dc1 == dc2 else None


def test_rerun_changes_nothing_and_writes_land_in_both_clusters(lab) -> None:
    first, second = lab["deploys"]
    changed = {h: ops for h, ops in second.changed_operations().items() if ops}
    assert changed == {}, f"second run changed: {changed}"
    password = Path(lab["tier"].primary.password.value).read_text().strip()
    output = first.stdout + first.stderr + second.stdout + second.stderr
    assert password and password not in output, "the cluster password leaked into the deploy"
    for host in gw.GATEWAY_HOSTS:
        assert ssh(host, f"systemctl is-active {SERVICE}").strip() == "active"
        assert "distribution: \"opensearch\"" in ssh(host, "cat /etc/infini-gateway/gateway.yml")
    gw.wait("the VIP on gw1", lambda: gw.vip_holder() == "gw1", 30)
    index = "gw-os-dual-write"
    with gw.Writer(index, lab["auth"], **lab["writer"]) as writer:
        gw.wait("200 acknowledged writes", lambda: len(writer.acked) >= 200, 120, 0.5)
    assert writer.failures == {}, writer.failures
    _, took = gw.wait("both gateways' queues for DC2 drained",
                      lambda: gw.drained(lab["tier"], BACKUP_QUEUE), 60, 1)
    ids, _ = gw.wait("DC2 to hold what DC1 holds", lambda: _same_ids(lab, index), 60, 2)
    assert writer.acked <= ids, f"acknowledged but missing: {sorted(writer.acked - ids)[:10]}"
    assert any(not doc_id.startswith("w") for doc_id in ids), "no id-less write was named"
    REPORT["dual write: acknowledged, then identical in both"] = (
        f"{len(writer.acked)} writes, queue drained {took:.1f} s after the last")


def test_the_entry_speaks_tls_from_the_estate_ca_and_nothing_else(lab) -> None:
    """The VIP's entry on TLS, as production's default: a client trusting the estate CA gets
    the cluster's answer; one with the system's CAs only, and plain http://, get none.
    keepalived's own probe of it is HTTPS too (the VIP is held, so it passes)."""
    auth = lab["auth"]

    def answer(url: str, context: ssl.SSLContext | None) -> str:
        request = urllib.request.Request(url, headers=auth)
        try:
            with urllib.request.urlopen(request, timeout=5, context=context) as response:
                return str(response.status)
        except urllib.error.HTTPError as error:  # an answer, with its status
            return str(error.code)
        except (OSError, ValueError) as error:  # URLError and SSLError are OSErrors
            return type(getattr(error, "reason", error)).__name__

    entry = lab["writer"]["entry"]
    answers = {
        "estate CA": answer(f"{entry}/_cluster/health", lab["writer"]["tls"]),
        "system CAs": answer(f"{entry}/_cluster/health", ssl.create_default_context()),
        "plain http": answer(f"http://{gw.VIP}:8000/_cluster/health", None),
    }
    assert answers["estate CA"] == "200", answers
    assert answers["system CAs"] == "SSLCertVerificationError", answers
    assert answers["plain http"] != "200", answers
    conf = ssh("gw1", "cat /etc/keepalived/keepalived.conf")
    assert "https://" in conf and "--cacert" in conf, conf
    REPORT["entry TLS"] = ", ".join(f"{k}: {v}" for k, v in answers.items())


def test_the_gateways_own_login_monitors_and_reads_no_document(lab) -> None:
    """The gateway logs in as esdr_gateway (role esdr_gateway = cluster_monitor alone, in the
    block the deploy keeps in the plugin's roles.yml): from gw1, with the password its
    EnvironmentFile holds, health and the node list answer 200; a search and a settings
    write answer 403. The password goes to curl through a config on stdin (printf is a shell
    builtin), so no process's arguments show it."""
    from esdr.gateway.render import env_path
    from esdr.gateway.secrets import runtime_env_name

    tier = lab["tier"]
    for ref in tier.clusters:
        assert ref.username == "esdr_gateway"
        variable = runtime_env_name(ref.name)

        def status(method: str, path: str, body: str = "", endpoint: str = ref.endpoints[0],
                   variable: str = variable) -> str:
            data = f" -H 'Content-Type: application/json' -d '{body}'" if body else ""
            command = (
                f"set -a; . {env_path(tier)}; "
                f"printf 'user = \"esdr_gateway:%s\"\\n' \"${variable}\" | "
                f"curl -sk -o /dev/null -w '%{{http_code}}' -K- -X {method}{data} "
                f"'{endpoint}{path}'"
            )
            return ssh("gw1", command).strip()

        answers = {
            "health": status("GET", "/_cluster/health"),
            "nodes": status("GET", "/_nodes"),
            "search": status("GET", "/gw-os-dual-write/_search"),
            # a real update (a reset to the default), so only authorisation can refuse it
            "settings write": status("PUT", "/_cluster/settings",
                                     '{"persistent":{"cluster.routing.allocation.enable":null}}'),
        }
        assert answers == {"health": "200", "nodes": "200", "search": "403",
                           "settings write": "403"}, (ref.name, answers)
    REPORT["gateway login"] = "esdr_gateway: health 200, nodes 200, search 403, settings 403"


def test_backup_outage_every_write_acknowledged_then_both_clusters_identical(lab) -> None:
    api, index = lab["api"], "gw-os-drill-backup"
    dc2_hosts = sorted({node.host for node in lab["topologies"]["dc2"].cluster.nodes})
    with gw.Writer(index, lab["auth"], **lab["writer"]) as writer:
        gw.wait("the first acknowledged writes", lambda: len(writer.acked) >= 20, 60, 0.5)
        writer.phase = "backup outage"
        api.stop_hosts(dc2_hosts)
        off = time.monotonic()
        # the on-call's monitor, at once, with its default-sized deadline: CRITICAL naming DC2
        code, answer, took = status([DC1_INVENTORY, DC2_INVENTORY], timeout=3)
        critical = status_lines(answer, 2)
        assert code == 2, (code, answer)
        named = [line for line in critical
                 if "dc2" in line.lower() and "unreachable" in line.lower()]
        assert named, critical
        REPORT["esdr status -t 3, DC2 just cut"] = (
            f"exit {code} after {took:.1f} s ({time.monotonic() - off:.1f} s from the cut): "
            f"{critical[0]}")
        time.sleep(max(0.0, BACKUP_OUTAGE / 2 - (time.monotonic() - off)))
        grown = gw.queue_state(lab["tier"], "gw1", BACKUP_QUEUE)
        assert grown is not None and grown.messages and not grown.caught_up, grown
        REPORT[f"backup outage: gw1's queue for DC2 after {BACKUP_OUTAGE / 2:.0f} s"] = (
            grown.line())
        time.sleep(max(0.0, BACKUP_OUTAGE - (time.monotonic() - off)))
        acked_while_off = len(writer.acked)
        writer.phase = "after"
        api.start_hosts(dc2_hosts)
        on = time.monotonic()
        REPORT["DC2 powered off"] = f"{on - off:.0f} s"
        _, booted = gw.wait("DC2 green", lambda: _green(lab, "dc2"), 240, 2)
    assert writer.failures.get("backup outage", 0) == 0, "a write failed while only DC2 was down"
    assert len(writer.acked) > acked_while_off
    _, drained_in = gw.wait("both gateways' queues for DC2 drained",
                            lambda: gw.drained(lab["tier"], BACKUP_QUEUE), 240, 1)
    ids, _ = gw.wait("DC2 to hold what DC1 holds", lambda: _same_ids(lab, index), 120, 2)
    assert writer.acked <= ids, f"acknowledged but missing: {sorted(writer.acked - ids)[:10]}"
    REPORT["backup outage: writes acknowledged"] = str(len(writer.acked))
    REPORT["backup outage: drain after power-on (DC2 green, then both queues caught up)"] = (
        f"{booted:.1f} s + {drained_in:.1f} s = {time.monotonic() - on:.1f} s to identical docs")
    REPORT["backup drill: docs in DC1 = docs in DC2"] = str(len(ids))
