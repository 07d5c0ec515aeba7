"""Front-door and tier validation: one named rule per mistake, clear messages."""

from __future__ import annotations

from esdr.checks.gateway import validate_tier
from esdr.model import topology_from_hosts
from esdr.problems import errors
from tests.gateway.factory import CLUSTERS, tier


def _rules(model) -> dict[str, str]:
    return {p.rule: f"{p.severity}: {p.message}" for p in validate_tier(model)}


def test_a_good_tier_has_no_problem() -> None:
    assert validate_tier(tier()) == []


def test_vip_outside_the_hosts_subnet() -> None:
    rules = _rules(tier({"kind": "keepalived", "vips": [{"address": "10.9.0.100/24"}]}))
    assert (
        "VIP is outside gw2's subnet (10.0.0.12 is not in 10.9.0.0/24)"
        in rules["vip-outside-subnet"]
    )


def test_duplicate_virtual_router_id() -> None:
    fd = {
        "kind": "keepalived",
        "vips": [
            {"address": "10.0.0.100/24", "virtual_router_id": 7},
            {"address": "10.0.0.101/24", "virtual_router_id": 7},
        ],
    }
    assert (
        "virtual_router_id 7 is used by 2 VIPs" in _rules(tier(fd))["duplicate-virtual-router-id"]
    )


def test_equal_priorities() -> None:
    fd = {
        "kind": "keepalived",
        "vips": [{"address": "10.0.0.100/24", "priorities": {"gw1": 100, "gw2": 100}}],
    }
    assert "gw1, gw2 all have priority 100" in _rules(tier(fd))["equal-priorities"]


def test_single_gateway_behind_a_vip_is_a_warning() -> None:
    rules = _rules(tier(gateways=(("gw1", "10.0.0.11"),)))
    assert rules["single-gateway-behind-vip"].startswith("warning: only gw1 is behind the VIP")


def test_nginx_upstream_pointing_at_a_non_gateway_host() -> None:
    model = tier(
        {"kind": "nginx", "upstreams": ["gw1", "es-data-1"]},
        balancers=(("lb1", "10.0.0.5"),),
        others=(("es-data-1", "10.0.1.10"),),
    )
    assert "es-data-1 is not in group `gateways`" in _rules(model)["upstream-not-a-gateway"]


def test_nginx_without_lb_hosts() -> None:
    assert "nginx-without-hosts" in _rules(tier({"kind": "nginx"}))


def test_backup_with_hash_is_refused() -> None:
    model = tier(
        {"kind": "nginx", "backup": ["gw2"], "hash_by_index": True},
        balancers=(("lb1", "10.0.0.5"),),
    )
    assert "backup-with-hash" in _rules(model)


def test_literal_password_is_refused() -> None:
    clusters = {**CLUSTERS, "primary": {**CLUSTERS["primary"], "password": "hunter2"}}
    rules = _rules(tier(gateway_clusters=clusters))
    assert "is a literal string" in rules["password-not-a-reference"]


def test_missing_backup_cluster() -> None:
    rules = _rules(tier(gateway_clusters={"primary": CLUSTERS["primary"]}))
    assert "no 'backup' cluster" in rules["gateway-clusters-invalid"]


def test_unknown_front_door_kind() -> None:
    assert "front-door-kind" in _rules(tier({"kind": "haproxy"}))


def test_gateway_hosts_are_not_elasticsearch_nodes() -> None:
    from esdr.model import HostSpec

    specs = [
        HostSpec("gw1", ("gateways",), {"ssh_hostname": "10.0.0.11"}),
        HostSpec("es1", ("es_data",), {"zone": "az1"}),
    ]
    topology = topology_from_hosts("dc", specs)
    assert [n.name for n in topology.cluster.nodes] == ["es1"]
    assert topology.ignored_hosts == ("gw1",)


def test_every_rendered_gateway_yml_is_linted() -> None:
    assert errors(validate_tier(tier())) == []
