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
        ("lab_gateways_real.py", "lab.py", "lab_dc2.py", "elasticsearch", "esdr_gateway"),
        ("lab_gateways_os.py", "lab_os.py", "lab_os_dc2.py", "opensearch", "esdr_gateway"),
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


@pytest.mark.parametrize(
    ("tier", "inventories", "superuser"),
    [
        ("lab_gateways_real.py", ("lab.py", "lab_dc2.py"), "elastic"),
        ("lab_gateways_os.py", ("lab_os.py", "lab_os_dc2.py"), "admin"),
    ],
)
def test_each_real_tier_logs_in_as_the_gateway_user_the_deploy_creates(
    tier, inventories, superuser
) -> None:
    """Not the superuser: the user the deploy puts on both lab DCs (Elasticsearch: the file
    realm, esdr/gateway/cluster_user.py; OpenSearch: the security plugin's internal users,
    esdr/security/opensearch_users.py), with the password it generates in the lab estate's
    secrets directory (esdr.security.store.secrets_dir of DC1 and DC2)."""
    from esdr.gateway import cluster_user
    from esdr.gateway.render import gateway_yml
    from esdr.security.store import secrets_dir

    gateways = load_project(REPO / "inventories" / tier).tier
    for inventory in inventories:
        cluster = load_project(REPO / "inventories" / inventory).topology.cluster
        expected = str(secrets_dir(cluster) / cluster_user.PASSWORD_FILE)
        assert {c.password.value for c in gateways.clusters} == {expected}
    text = gateway_yml(gateways, gateways.gateways[0])
    assert text.count('username: "esdr_gateway"') == 2
    assert f'"{superuser}"' not in text
