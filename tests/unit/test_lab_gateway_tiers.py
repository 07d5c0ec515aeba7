"""The lab's real-gateway tiers sit between the clusters their inventories deploy.

The gateway settings name each pair's data nodes by address (esdr_lab/gateway_settings.py);
moving a lab host without moving its gateway entry would point the gateway at an address no
host has (it once did, for the backup), and the drills would only fail on the lab.
"""

from __future__ import annotations

import pytest

from esdr.project import load_project
from tests.integration.deploy_runner import REPO


@pytest.mark.parametrize(
    ("tier", "primary", "backup", "engine", "user"),
    [
        ("lab_gateways_real.py", "lab.py", "lab_dc2.py", "elasticsearch", "elastic"),
        ("lab_gateways_os.py", "lab_os.py", "lab_os_dc2.py", "opensearch", "admin"),
    ],
)
def test_a_real_tier_points_at_the_data_nodes_of_its_two_clusters(
    tier, primary, backup, engine, user
) -> None:
    gateways = load_project(REPO / "inventories" / tier).tier
    for ref, inventory in ((gateways.primary, primary), (gateways.backup, backup)):
        topology = load_project(REPO / "inventories" / inventory).topology
        data = sorted(f"https://{n.address}:9200" for n in topology.cluster.nodes if n.holds_data)
        assert sorted(ref.endpoints) == data, f"{tier} {ref.role}: not {inventory}'s data nodes"
        assert ref.distribution == engine == topology.cluster.engine.name
        assert ref.version == topology.cluster["es_version"]
        assert ref.username == user
        assert ref.password.kind == "file"  # the estate's generated secret, never inline
    assert sorted(h.name for h in gateways.gateways) == ["gw1", "gw2"]
    assert gateways.front_door.kind == "keepalived"


def test_the_two_real_tiers_differ_only_in_their_clusters() -> None:
    es = load_project(REPO / "inventories" / "lab_gateways_real.py").tier
    opensearch = load_project(REPO / "inventories" / "lab_gateways_os.py").tier
    assert [(h.name, h.address) for h in es.gateways] == [(h.name, h.address) for h in opensearch.gateways]
    assert es.front_door == opensearch.front_door
    assert es.primary.name != opensearch.primary.name
