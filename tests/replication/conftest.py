"""What the tests of ``esdr promote`` on an OpenSearch estate share: the command run on DC2,
with the leader DC1 reached by whatever client the test gives it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner

from esdr import replication
from esdr.cli import cluster as commands
from esdr.cli.main import cli
from esdr.replication.opensearch import OpenSearchReplication
from tests.replication.fake_os import fake_os_client, os_topology

ESTATE = {
    "_source": "estates/os.yml",
    "clusters": {"dc1": {"cluster_name": "os-dc1", "seeds": ["10.0.1.4:9300"]},
                 "dc2": {"cluster_name": "os-dc2", "seeds": ["10.0.2.4:9300"]}},
    "links": [{"from": "dc2", "to": "dc1"}, {"from": "dc1", "to": "dc2"}],
    "followers": [{"cluster": "dc2", "index": "orders", "remote": "dc1",
                   "write_alias": "orders-w"}],
}

PromoteOnDc2 = Callable[[object, list[tuple]], tuple[int, list[str]]]


@pytest.fixture
def promote_on_dc2(monkeypatch) -> PromoteOnDc2:
    """``promote(leader, dc2_requests)`` runs ``esdr promote inventories/os_dc2.py --index
    orders``: ``leader`` is the client to DC1 (None: the estate names no inventory for it),
    ``dc2_requests`` what DC2 must be asked, in order (``fake_os``'s expectations), and every
    one of them must have been asked. Returns the exit code and the output's lines."""
    topology = os_topology("os-dc2", es_estate=ESTATE)
    monkeypatch.setattr(commands, "topology_of", lambda inventory: topology)

    def promote(leader, dc2_requests: list[tuple]) -> tuple[int, list[str]]:
        api, wire = fake_os_client(dc2_requests)

        def adapter_for(t, es=None, replicator=None):
            assert t is topology
            return OpenSearchReplication(api)

        monkeypatch.setattr(replication, "adapter_for", adapter_for)
        monkeypatch.setattr(commands, "remote_client", lambda inv, estate, alias: leader)
        result = CliRunner().invoke(cli, ["promote", "inventories/os_dc2.py", "--index", "orders"])
        wire.done()
        return result.exit_code, result.output.splitlines()

    return promote
