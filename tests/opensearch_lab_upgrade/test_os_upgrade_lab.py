"""Rolling upgrade of both OpenSearch DCs from 2.19.3 to 2.19.4 under writes, with DC2
following DC1's ``orders``. NOT YET RUN: written without a lab; the first run may need fixes to
the test itself.

DC2 (the follower) goes first, then DC1: replication needs the follower at the same or a newer
version than its leader (OpenSearch's cross-cluster replication docs,
https://opensearch.org/docs/latest/tuning-your-cluster/replication-plugin/index/, and
esdr.upgrade.follower_problems, which refuses the other order before any host changes).
Meanwhile a writer sends acknowledged writes to DC1's ``orders`` and both DCs' health is polled.
Checked: never red, never more than one node away per DC, every node on 2.19.4 with both
plugins, the follower still SYNCING, DC2 holding every acknowledged document, and a rerun of
both DCs changing 0 operations.
"""

from __future__ import annotations

import time

import pytest

from esdr_lab import replication_drill as drill
from esdr_lab.replication_drill import ORDERS
from tests.integration.acked_writer import AckedWriter, node_versions
from tests.integration.health_watch import watch_health
from tests.opensearch_lab_upgrade.conftest import deploy
from tests.opensearch_lab_upgrade.project import DC1, DC2

# ``drill``: out of CI's budget (two fresh DCs, a plugin build, six deploys); unrun so far
pytestmark = [pytest.mark.lab, pytest.mark.drill]

PLUGINS = {"opensearch-security", "opensearch-cross-cluster-replication"}


def _plugins(es) -> dict[str, set[str]]:
    nodes = es.nodes.info(metric="plugins", filter_path="nodes.*.name,nodes.*.plugins.name")
    return {n["name"]: {p["name"] for p in n.get("plugins", [])}
            for n in nodes["nodes"].values()}




class _Observer:
    """tests/integration/health_watch.py asks ``cluster.health(timeout="2s")`` as
    elasticsearch-py takes it (the server-side wait). opensearch-py's transport pops a
    ``timeout`` query parameter as its own request timeout unless ``request_timeout`` is given
    (opensearchpy/transport.py, ``_resolve_request_args``), and urllib3 refused "2s" on every
    poll, so the first run's poller saw nothing. Both are given here: 5 s for the request,
    "2s" for the server."""

    def __init__(self, client):
        self.cluster = self
        self._client = client

    def health(self, timeout: str):
        return self._client.cluster.health(params={"timeout": timeout, "request_timeout": 5})


def test_both_dcs_upgrade_follower_first_under_writes_and_replication_continues(os_old_dcs):
    lab = os_old_dcs
    dc1, dc2 = lab.os.client("dc1"), lab.os.client("dc2")
    sizes = {"dc1": len(lab.os.dc1.cluster.nodes), "dc2": len(lab.os.dc2.cluster.nodes)}
    for es in (dc1, dc2):
        assert set(node_versions(es).values()) == {lab.before}
    drill.wait_until("DC2's orders follower SYNCING", lambda: drill.is_syncing(dc2, ORDERS))

    started = time.monotonic()
    with watch_health(_Observer(lab.os.client("dc1", 5))) as health1, \
            watch_health(_Observer(lab.os.client("dc2", 5))) as health2, \
            AckedWriter(lambda doc_id, n: dc1.index(index=ORDERS, id=doc_id, body={"n": n}),
                         "up") as writer:
        time.sleep(5)  # writes before the roll
        for inventory in (DC2, DC1):  # the follower first
            run = deploy(inventory, lab.new)
            assert f"to {lab.after}" in run.stderr, run.esdr_lines()[-40:]
        time.sleep(5)  # writes after the roll
    print(f"both DCs upgraded in {time.monotonic() - started:.0f}s; acknowledged writes: "
          f"{len(writer.acked)}, failed attempts: {writer.failures}")

    for dc, samples in (("dc1", health1), ("dc2", health2)):
        assert samples.statuses, f"the health poller saw nothing of {dc}"
        assert "red" not in samples.statuses, (dc, samples.statuses)
        assert min(samples.node_counts) >= sizes[dc] - 1, (dc, samples.node_counts)
    for es in (dc1, dc2):
        assert set(node_versions(es).values()) == {lab.after}
        assert all(PLUGINS <= names for names in _plugins(es).values()), _plugins(es)

    assert writer.acked, "no write was acknowledged"
    drill.refresh(dc1, ORDERS)
    lost = drill.missing_ids(dc1, ORDERS, sorted(writer.acked))
    assert not lost, lost[:20]
    # the follower keeps replicating: SYNCING, and every acknowledged document reaches DC2
    drill.wait_until("DC2's orders follower SYNCING after the upgrade",
                     lambda: drill.is_syncing(dc2, ORDERS))
    drill.wait_until(
        "every acknowledged write in DC2's follower",
        lambda: (drill.refresh(dc2, ORDERS)
                 or not drill.missing_ids(dc2, ORDERS, sorted(writer.acked))),
        timeout=300, interval=3)

    for inventory in (DC2, DC1):
        again = deploy(inventory, lab.new)
        changed = again.changed_operations()
        assert all(ops == [] for ops in changed.values()), (inventory, changed)
