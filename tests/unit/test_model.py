"""The model: roles from groups, zones, forced awareness, sizes, cluster-wide settings."""

from __future__ import annotations

import pytest
import yaml

from esdr.engines import ELASTICSEARCH, ENGINES, OPENSEARCH
from esdr.model import (
    CLUSTER_DEFAULTS,
    ROLE_GROUPS,
    HostSpec,
    parse_size,
    topology_from_hosts,
)
from esdr.render import node_files, node_settings

from .topo_factory import CLUSTER, build, shape_a, shape_b, shape_c, topology


def _node(groups: tuple[str, ...], **data):
    topo = build([("h1", groups, {"zone": "az1", **data})], dict(CLUSTER))
    (node,) = topo.cluster.nodes
    return node


# --- roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "groups, roles",
    [
        (("es_master",), ("master",)),
        (("es_data",), ("data",)),
        (("es_master", "es_data"), ("master", "data")),
        (("es_tiebreaker",), ("master", "voting_only")),
        (("es_coordinating",), ()),
        (("es_ingest", "es_ml", "es_transform"), ("ingest", "ml", "transform")),
        (("es_remote_cluster_client",), ("remote_cluster_client",)),
        (("es_master", "es_tiebreaker"), ("master", "voting_only")),  # no duplicate master
    ],
    ids=["master", "data", "compact", "tiebreaker", "coordinating", "several", "rcc", "no-dup"],
)
def test_roles_from_groups(groups: tuple[str, ...], roles: tuple[str, ...]) -> None:
    assert _node(groups).roles == roles


def test_compact_node_is_master_eligible_and_holds_data() -> None:
    node = _node(("es_master", "es_data"))
    assert node.is_master_eligible and node.holds_data
    assert not node.is_voting_only and not node.is_tiebreaker


def test_tiebreaker_is_master_eligible_voting_only_without_data() -> None:
    node = _node(("es_tiebreaker",))
    assert node.is_master_eligible and node.is_voting_only and node.is_tiebreaker
    assert not node.holds_data


def test_voting_only_node_with_data_is_not_a_tiebreaker() -> None:
    node = _node(("es_tiebreaker", "es_data"))
    assert node.is_voting_only and node.holds_data and not node.is_tiebreaker


def test_explicit_es_roles_win_over_groups() -> None:
    node = _node(("es_master", "es_data"), es_roles=["data_hot", "ingest"])
    assert node.roles == ("data_hot", "ingest")
    assert node.holds_data and not node.is_master_eligible


def test_empty_es_roles_make_a_coordinating_node() -> None:
    assert _node(("es_data",), es_roles=[]).roles == ()


def test_es_roles_alone_make_a_host_part_of_the_cluster() -> None:
    topo = build([("h1", ("web",), {"zone": "az1", "es_roles": ["data"]})], dict(CLUSTER))
    assert [n.name for n in topo.cluster.nodes] == ["h1"]
    assert topo.cluster.nodes[0].groups == ()


def test_hosts_in_no_es_group_are_ignored() -> None:
    hosts, cluster = shape_a()
    hosts.append(("gw", ("gateway",), {"zone": "az1"}))
    topo = build(hosts, cluster)
    assert topo.ignored_hosts == ("gw",)
    assert "gw" not in {n.name for n in topo.cluster.nodes}


def test_node_groups_keep_only_role_groups() -> None:
    # every host also joins the data centre's group ("t1"); that is not a role
    assert _node(("es_master", "es_data")).groups == ("es_master", "es_data")


def test_role_groups_grant_only_known_roles() -> None:
    from esdr.model import KNOWN_ROLES

    assert all(set(roles) <= KNOWN_ROLES for roles in ROLE_GROUPS.values())


def test_cluster_manager_counts_as_master_eligible() -> None:
    assert _node(("es_data",), es_roles=["cluster_manager"]).is_master_eligible


@pytest.mark.parametrize(
    "role", ["data", "data_content", "data_hot", "data_warm", "data_cold", "data_frozen"]
)
def test_data_roles_hold_data(role: str) -> None:
    assert _node((), es_roles=[role]).holds_data


# --- node name and address -------------------------------------------------------------------


def test_node_name_defaults_to_host_name_and_address_to_ssh_hostname() -> None:
    node = _node(("es_data",), ssh_hostname="10.0.0.7")
    assert (node.name, node.host, node.address) == ("h1", "h1", "10.0.0.7")


def test_es_node_name_names_the_node_not_the_host() -> None:
    node = _node(("es_data",), es_node_name="data-1", ssh_hostname="10.0.0.7")
    assert (node.name, node.host, node.address) == ("data-1", "h1", "10.0.0.7")


def test_es_network_host_wins_over_ssh_hostname() -> None:
    node = _node(("es_data",), ssh_hostname="10.0.0.7", es_network_host="192.168.0.7")
    assert node.address == "192.168.0.7"


def test_address_falls_back_to_the_host_name() -> None:
    assert _node(("es_data",)).address == "h1"


def test_es_node_name_is_what_the_cluster_and_render_use() -> None:
    hosts, cluster = shape_a()
    hosts[0][2]["es_node_name"] = "master-az1"
    topo = build(hosts, cluster)
    node = topo.cluster.node("master-az1")
    assert node.host == "m1"
    with pytest.raises(KeyError):
        topo.cluster.node("m1")
    config = yaml.safe_load(node_files(topo, node, bootstrap=True)[0].content)
    assert config["node.name"] == "master-az1"
    assert config["network.host"] == "10.0.0.1"
    assert config["cluster.initial_master_nodes"] == ["master-az1", "m2", "tb"]
    assert config["discovery.seed_hosts"] == ["10.0.0.1:9300", "10.0.0.2:9300", "10.0.0.3:9300"]


def test_heap_defaults_to_1g_and_ram_to_unknown() -> None:
    node = _node(("es_data",))
    assert (node.heap, node.ram) == ("1g", None)


def test_unknown_es_host_keys_are_kept_for_validation() -> None:
    node = _node(("es_data",), es_heep="2g", es_zone="x", ssh_user="deploy", _sudo=True)
    assert node.unknown_keys == ("es_heep", "es_zone")


# --- zones and forced awareness ----------------------------------------------------------------


def test_data_zones_are_derived_from_data_nodes() -> None:
    cluster = topology(shape_a).cluster
    assert cluster.zones == ("az1", "az2", "az3")
    assert cluster.data_zones == ("az1", "az2")


def test_declared_data_zones_win() -> None:
    cluster = topology(shape_a, es_data_zones=["az2", "az1", "az4"]).cluster
    assert cluster.data_zones == ("az1", "az2", "az4")


def test_forced_awareness_values_are_the_data_zones_without_the_tiebreaker_zone() -> None:
    cluster = topology(shape_a).cluster
    assert cluster.forced_awareness_values == ("az1", "az2")
    tiebreaker = next(n for n in cluster.nodes if n.is_tiebreaker)
    assert tiebreaker.zone == "az3"
    assert tiebreaker.zone not in cluster.forced_awareness_values


def test_forced_awareness_values_follow_declared_data_zones() -> None:
    cluster = topology(shape_a, es_data_zones=["az2", "az1"]).cluster
    assert cluster.forced_awareness_values == ("az1", "az2")


def test_explicit_forced_values_are_taken_as_given() -> None:
    cluster = topology(shape_a, es_forced_awareness_values=["az2", "az1"]).cluster
    assert cluster.forced_awareness_values == ("az2", "az1")


def test_forced_awareness_off_has_no_values() -> None:
    assert topology(shape_a, es_forced_awareness=False).cluster.forced_awareness_values == ()


@pytest.mark.parametrize("shape, zones", [(shape_b, 3), (shape_c, 3)], ids=["dedicated", "compact"])
def test_three_zone_shapes_force_all_three(shape, zones: int) -> None:
    cluster = topology(shape).cluster
    assert cluster.forced_awareness_values == tuple(f"az{i}" for i in range(1, zones + 1))
    assert len(cluster.master_eligible) == 3


def test_master_and_data_views() -> None:
    cluster = topology(shape_a).cluster
    assert [n.name for n in cluster.master_eligible] == ["m1", "m2", "tb"]
    assert [n.name for n in cluster.data_nodes] == ["d1", "d2"]


# --- sizes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, size",
    [
        ("256m", 256 * 1024**2),
        ("1g", 1024**3),
        ("31g", 31 * 1024**3),
        ("31G", 31 * 1024**3),
        ("512k", 512 * 1024),
        ("1t", 1024**4),
        (" 4g ", 4 * 1024**3),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "4", "4 GB", "4gb", "1.5g", "-1g", "g", "4x", "four"])
def test_parse_size_refuses(text: str) -> None:
    assert parse_size(text) is None


# --- cluster-wide settings -------------------------------------------------------------------


def test_cluster_defaults_are_filled_in() -> None:
    cluster = topology(shape_a).cluster
    for key, default in CLUSTER_DEFAULTS.items():
        if key not in CLUSTER:
            assert cluster[key] == default, key
    assert cluster.name == "search-t1" and cluster.version == "8.19.21"
    assert cluster.engine is ELASTICSEARCH


def test_consistent_cluster_settings() -> None:
    assert topology(shape_a).cluster.inconsistent_keys == ()


def test_cluster_setting_set_on_one_host_differs() -> None:
    hosts, cluster = shape_a()
    hosts[1][2]["es_http_port"] = 9201
    hosts[2][2]["es_version"] = "8.18.0"
    assert build(hosts, cluster).cluster.inconsistent_keys == ("es_version", "es_http_port")


def test_cluster_setting_equal_to_the_default_on_one_host_is_consistent() -> None:
    hosts, cluster = shape_a()
    hosts[1][2]["es_http_port"] = 9200
    assert build(hosts, cluster).cluster.inconsistent_keys == ()


def test_host_keys_may_differ() -> None:
    cluster = topology(shape_a).cluster
    assert {n.heap for n in cluster.nodes} == {"1g", "4g", "31g"}
    assert cluster.inconsistent_keys == ()


def test_settings_of_ignored_hosts_do_not_count() -> None:
    hosts, cluster = shape_a()
    hosts.append(("gw", ("gateway",), {**cluster, "es_version": "7.17.0"}))
    topo = build(hosts, cluster)
    assert topo.cluster.inconsistent_keys == ()
    assert topo.cluster.version == "8.19.21"


def test_unknown_engine_falls_back_and_is_flagged() -> None:
    cluster = topology(shape_a, es_engine="solr").cluster
    assert cluster.engine is ELASTICSEARCH
    assert cluster.unknown_keys == ("es_engine",)


def test_topology_keeps_datacentre_and_source() -> None:
    topo = topology_from_hosts(
        "dc9", [HostSpec("h", ("es_data", "dc9"), {"zone": "az1"})], source="inventories/dc9.py"
    )
    assert (topo.datacentre, topo.source) == ("dc9", "inventories/dc9.py")
    assert topo.cluster.name is None and topo.cluster.version is None


# --- engines ---------------------------------------------------------------------------------


def test_engines_registry() -> None:
    assert ENGINES == {"elasticsearch": ELASTICSEARCH, "opensearch": OPENSEARCH}
    assert ELASTICSEARCH.supports_voting_only and not OPENSEARCH.supports_voting_only


@pytest.mark.parametrize(
    "role, elasticsearch, opensearch",
    [
        ("master", "master", "cluster_manager"),
        ("cluster_manager", "master", "cluster_manager"),
        ("data", "data", "data"),
        ("voting_only", "voting_only", "voting_only"),
        ("ingest", "ingest", "ingest"),
    ],
)
def test_render_role(role: str, elasticsearch: str, opensearch: str) -> None:
    assert ELASTICSEARCH.render_role(role) == elasticsearch
    assert OPENSEARCH.render_role(role) == opensearch


def _opensearch_b():
    return topology(shape_b, es_engine="opensearch", es_version="2.19.1")


def test_opensearch_renders_cluster_manager_roles_and_bootstrap_key() -> None:
    topo = _opensearch_b()
    master = topo.cluster.node("m1")
    files = node_files(topo, master, bootstrap=True)
    assert [f.path for f in files] == [
        "/etc/opensearch/opensearch.yml",
        "/etc/opensearch/jvm.options.d/esdr-heap.options",
        "/etc/systemd/system/opensearch.service",
    ]
    config = yaml.safe_load(files[0].content)
    assert config["node.roles"] == ["cluster_manager"]
    assert config["cluster.initial_cluster_manager_nodes"] == ["m1", "m2", "m3"]
    assert "cluster.initial_master_nodes" not in config
    assert not any(key.startswith("xpack.") for key in config)
    unit = files[2].content
    assert "Environment=OPENSEARCH_PATH_CONF=/etc/opensearch\n" in unit
    assert "ExecStart=/opt/opensearch/current/bin/opensearch\n" in unit


def test_opensearch_data_node_has_no_bootstrap_key() -> None:
    topo = _opensearch_b()
    keys = dict(
        kv
        for _, section in node_settings(topo, topo.cluster.node("d1"), bootstrap=True)
        for kv in section
    )
    assert keys["node.roles"] == ["data"]
    assert "cluster.initial_cluster_manager_nodes" not in keys


def test_opensearch_compact_node_roles() -> None:
    topo = topology(shape_c, es_engine="opensearch", es_version="2.19.1")
    config = yaml.safe_load(node_files(topo, topo.cluster.node("n1"), bootstrap=False)[0].content)
    assert config["node.roles"] == ["cluster_manager", "data"]


def test_a_broken_group_data_file_gives_one_line_naming_the_file(tmp_path):
    from esdr.errors import EsdrError
    from esdr.inventory import load_inventory

    (tmp_path / "inventories").mkdir()
    (tmp_path / "group_data").mkdir()
    (tmp_path / "inventories" / "x.py").write_text('es_master = [("m1", {"zone": "az1"})]\n')
    (tmp_path / "group_data" / "x.py").write_text("import no_such_module_here\n")
    with pytest.raises(EsdrError) as raised:
        load_inventory(tmp_path / "inventories" / "x.py")
    message = str(raised.value)
    assert "group_data/x.py: could not be loaded: ModuleNotFoundError" in message
    assert "no_such_module_here" in message
