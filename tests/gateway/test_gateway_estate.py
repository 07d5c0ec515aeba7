"""An inventory of gateways alone takes its estate (CA, secrets) from its own hosts' es_estate:
the CA that signed the clusters' certificates, which the patched gateway verifies them with."""

from __future__ import annotations

from pathlib import Path

from esdr.checks import _gateway_estate, validate_inventory
from esdr.project import load_project
from esdr.security import store

REPO = Path(__file__).resolve().parents[2]


def test_a_gateway_inventory_uses_its_clusters_estate():
    for inventory, estate in (("lab_gateways_os", "lab_os"), ("lab_gateways_real", "lab")):
        project = load_project(REPO / "inventories" / f"{inventory}.py")
        assert project.gateway_only
        assert store.secrets_dir(project.topology.cluster).name == estate
        assert not [p for p in validate_inventory(project.topology, project.tier)
                    if p.rule == "gateway-estate-missing"]


def test_without_es_estate_a_tier_on_https_is_refused_naming_its_hosts():
    project = load_project(REPO / "inventories" / "lab_gateways_os.py")
    project.topology.cluster.settings.pop("es_estate")
    problems = _gateway_estate(project.topology, project.tier)
    assert [p.rule for p in problems] == ["gateway-estate-missing"]
    assert "gw1, gw2" in problems[0].where and "es_estate" in problems[0].message


def test_a_plain_tier_before_plain_clusters_needs_no_estate():
    project = load_project(REPO / "inventories" / "lab_gateways.py")  # stand-ins, http://
    assert _gateway_estate(project.topology, project.tier) == []
