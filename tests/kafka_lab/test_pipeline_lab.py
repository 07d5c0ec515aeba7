"""esdr's pipeline service deployed by esdr in the Kafka lab's two DCs: on each zone's host of
DC1 (inventories/lab_kafka.py, beside the Kafka broker and the OpenSearch node) one
``esdr-pipeline@esdr-orders-esdr-lab-kafka`` instance, and on each of DC2's
(inventories/lab_kafka_dc2.py) one ``esdr-pipeline@esdr-orders-esdr-lab-kafka-dc2``, each
DC's instances one consumer group reading topic ``orders`` into that DC's OpenSearch cluster,
their Python from the lab mirror's wheelhouse. A producer (acks=all) sends 50,000 keyed messages
once and both clusters end with exactly 50,000 documents whose ids are the keys; both groups
then have no lag; the rerun of each DC's deploy changes nothing and restarts no service.

The lab image holds python3-venv (esdr_lab/constants.py IMAGE_PACKAGES: Debian's python3 makes
no venv with pip without it, and the lab hosts reach no apt mirror); this machine must reach the
package registry or hold the lock's wheels in pip's cache (the mirror's wheelhouse is built from
them). The lab and its first deploys are the package's (conftest.py), shared with
test_kafka_lab.py and the drills (test_zz_drills.py, last in the package: they cut hosts).
"""

from __future__ import annotations

import pytest

from esdr_lab import kafka_drill
from tests.integration.deploy_runner import run_deploy
from tests.kafka_lab.conftest import INVENTORY, INVENTORY_DC2

pytestmark = pytest.mark.lab

MESSAGES = 50_000
INDEXED_WITHIN = 600.0  # seconds, per DC: the first batches wait for fresh consumers to join
INVENTORIES = {"dc1": INVENTORY, "dc2": INVENTORY_DC2}


@pytest.fixture(scope="module")
def pipeline_lab(kafka_lab):
    """The package's Kafka lab (tests/kafka_lab/conftest.py): its first deploys started the
    pipeline services too."""
    return kafka_lab


def _ssh(host: str, command: str) -> str:
    from esdr_lab import api

    result = api.ssh(host, f"{command} 2>&1", timeout=60)
    return result.stdout


def _units():
    for dc, spec in kafka_drill.DCS.items():
        for host in spec["hosts"]:
            yield dc, host, kafka_drill.unit(dc)


def test_each_zone_of_each_dc_runs_the_service_from_the_wheelhouse_venv(pipeline_lab):
    for dc, host, unit in _units():
        assert _ssh(host, f"systemctl is-active {unit}").strip() == "active", (dc, host)
        # the unit's python is the lock's venv, through the link; esdr's code is the zip
        target = _ssh(host, "readlink /opt/esdr-pipeline/venv").strip()
        assert target.startswith("/opt/esdr-pipeline/venv-"), (host, target)
        assert _ssh(host, f"test -f {target}/.esdr-complete && echo complete").strip() == \
            "complete"
        modes = _ssh(host, "stat -c '%a %U:%G %n' /etc/esdr-pipeline/*.password "
                           "/etc/esdr-pipeline/tls/*.key /etc/esdr-pipeline/*.json")
        for line in modes.splitlines():
            mode, owner, path = line.split(" ", 2)
            wanted = ("640", "root:esdr-pipeline") if path.endswith(".json") else \
                ("600", "esdr-pipeline:esdr-pipeline")
            assert (mode, owner) == wanted, (host, line)


def test_50000_messages_sent_once_become_50000_documents_in_both_dcs(pipeline_lab):
    result = kafka_drill.end_to_end(MESSAGES, timeout=INDEXED_WITHIN)
    print(f"\n--- end to end: {result.line()}")
    # count == sent, and the id is the key: every key is one document in each DC, none twice
    for dc in kafka_drill.DCS:
        assert kafka_drill.count(dc, result.run) == MESSAGES, dc
    assert result.per_dc_s.keys() == {"dc1", "dc2"}


def test_both_groups_commit_what_reached_their_cluster(pipeline_lab):
    for dc in kafka_drill.DCS:
        lag = kafka_drill.lag(dc, deadline_s=30)
        # after the previous test everything is indexed; unknown is not 0
        assert lag.messages == 0, (dc, lag.text())


def test_the_rerun_of_each_dc_changes_nothing_and_restarts_no_service(pipeline_lab):
    since = {host: _ssh(host, f"systemctl show -p ActiveEnterTimestampMonotonic --value {unit}")
             for _, host, unit in _units()}
    for dc, inventory in INVENTORIES.items():
        again = run_deploy(inventory)
        assert again.returncode == 0, (dc, again.stderr[-4000:])
        changed = again.changed_operations()
        assert all(ops == [] for ops in changed.values()), (dc, changed)
    for _, host, unit in _units():
        now = _ssh(host, f"systemctl show -p ActiveEnterTimestampMonotonic --value {unit}")
        assert now == since[host], host


def test_each_pipeline_user_may_write_its_target_alone(pipeline_lab):
    """The deploy made each pipeline its own user in its DC's cluster (esdr.kafka.search_user):
    with that user's generated password, a document goes into ``orders`` and is refused (403)
    in any other index; the other DC's user does not exist here (401)."""
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import AuthenticationException, AuthorizationException

    from esdr.kafka import search_user
    from esdr.security.store import default_root

    def client(dc: str, user: str) -> OpenSearch:
        password = (default_root() / "lab_kafka" / search_user.password_name(user)).read_text()
        return OpenSearch(kafka_drill.DCS[dc]["urls"], http_auth=(user, password.strip()),
                          use_ssl=True, verify_certs=True,
                          ca_certs=str(default_root() / "lab_kafka" / "ca.crt"), timeout=20,
                          max_retries=0)

    for dc, other in (("dc1", "dc2"), ("dc2", "dc1")):
        user = search_user.user_name("orders", kafka_drill.DCS[dc]["cluster"])
        own = client(dc, user)
        assert own.index(index="orders", id=f"privilege-check-{dc}",
                         body={"id": "privilege-check", "run": "privilege-check"},
                         )["result"] in ("created", "updated")
        with pytest.raises(AuthorizationException):
            own.index(index="not-orders", id="x", body={"run": "privilege-check"})
        stranger = search_user.user_name("orders", kafka_drill.DCS[other]["cluster"])
        with pytest.raises(AuthenticationException):
            client(dc, stranger).index(index="orders", id="y", body={"run": "privilege-check"})
