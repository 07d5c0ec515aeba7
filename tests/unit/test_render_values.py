"""Rendering details that the prod golden tree does not exercise: values, es_settings, engines."""

from __future__ import annotations

import pytest
import yaml

from esdr.render import elasticsearch_yml, node_files, node_settings, yaml_value

from .topo_factory import shape_a, shape_c, topology


@pytest.mark.parametrize(
    "value",
    [
        "az1",
        "search-dc1",
        "/mnt/es-snapshots",
        "_local_",
        "host.example:9300",
        "10.0.0.1",
        "1g",
        "-1",
        ".5",
        ".inf",
        "@timestamp",
        "a:",
        "true",
        "Yes",
        "off",
        "NULL",
        "~",
        "",
        " padded",
        "a, b",
        "# not a comment",
        "20%",
        "dc1:* ,-dc1:logs",
        "é",
    ],
)
def test_strings_read_back_as_the_same_string(value: str) -> None:
    rendered = yaml_value(value)
    assert yaml.safe_load(f"k: {rendered}") == {"k": value}
    assert yaml.safe_load(f"k: [ {rendered}, x ]") == {"k": [value, "x"]}


@pytest.mark.parametrize(
    "value, rendered",
    [
        ("az1", "az1"),
        ("/var/lib/elasticsearch", "/var/lib/elasticsearch"),
        ("10.0.0.1", '"10.0.0.1"'),
        ("true", '"true"'),
        (True, "true"),
        (False, "false"),
        (9300, "9300"),
        (0.5, "0.5"),
        (["az1", "az2"], "[ az1, az2 ]"),
        ((), "[]"),
        (["m1", True, 3], "[ m1, true, 3 ]"),
    ],
)
def test_yaml_value(value, rendered: str) -> None:
    assert yaml_value(value) == rendered


def test_nested_es_settings_are_flattened_and_sorted() -> None:
    topo = topology(
        shape_a,
        es_settings={
            "indices": {"memory": {"index_buffer_size": "20%"}, "breaker.total.limit": "70%"},
            "action.destructive_requires_name": True,
        },
    )
    sections = dict(node_settings(topo, topo.cluster.node("d1"), bootstrap=False))
    assert sections["es_settings from the inventory"] == [
        ("action.destructive_requires_name", True),
        ("indices.breaker.total.limit", "70%"),
        ("indices.memory.index_buffer_size", "20%"),
    ]
    config = yaml.safe_load(elasticsearch_yml(topo, topo.cluster.node("d1"), bootstrap=False))
    assert config["indices.memory.index_buffer_size"] == "20%"


def test_no_es_settings_no_section() -> None:
    topo = topology(shape_a)
    sections = dict(node_settings(topo, topo.cluster.node("d1"), bootstrap=True))
    assert "es_settings from the inventory" not in sections
    assert list(sections) == [
        "identity",
        "paths",
        "network",
        "discovery",
        "zone awareness",
        "security",
        "deletes name their indices",
    ]


def test_no_path_repo_no_key() -> None:
    topo = topology(shape_a)
    config = yaml.safe_load(elasticsearch_yml(topo, topo.cluster.node("d1"), bootstrap=True))
    assert "path.repo" not in config


def test_forced_awareness_off_renders_attribute_only() -> None:
    topo = topology(shape_a, es_forced_awareness=False)
    config = yaml.safe_load(elasticsearch_yml(topo, topo.cluster.node("d1"), bootstrap=True))
    assert config["cluster.routing.allocation.awareness.attributes"] == "zone"
    assert not any(".force." in key for key in config)


def test_custom_awareness_attribute_and_ports() -> None:
    topo = topology(shape_a, es_awareness_attribute="rack", es_transport_port=9301)
    config = yaml.safe_load(elasticsearch_yml(topo, topo.cluster.node("m1"), bootstrap=True))
    assert config["node.attr.rack"] == "az1"
    assert "node.attr.zone" not in config
    assert config["cluster.routing.allocation.awareness.attributes"] == "rack"
    assert config["cluster.routing.allocation.awareness.force.rack.values"] == ["az1", "az2"]
    assert config["transport.port"] == 9301
    assert config["discovery.seed_hosts"][0] == "10.0.0.1:9301"


def test_compact_cluster_bootstraps_on_every_node() -> None:
    topo = topology(shape_c)
    for node in topo.cluster.nodes:
        config = yaml.safe_load(elasticsearch_yml(topo, node, bootstrap=True))
        assert config["node.roles"] == ["master", "data"]
        assert config["cluster.initial_master_nodes"] == ["n1", "n2", "n3"]
        assert config["cluster.routing.allocation.awareness.force.zone.values"] == [
            "az1",
            "az2",
            "az3",
        ]


def test_java_home_and_directories_reach_the_unit() -> None:
    topo = topology(
        shape_a,
        es_java_home="/usr/lib/jvm/java-17",
        es_install_root="/srv/es",
        es_conf_dir="/srv/es-conf",
        es_user="search",
    )
    files = node_files(topo, topo.cluster.node("d1"), bootstrap=True)
    assert [f.path for f in files] == [
        "/srv/es-conf/elasticsearch.yml",
        "/srv/es-conf/jvm.options.d/esdr-heap.options",
        "/etc/systemd/system/elasticsearch.service",
    ]
    assert files[0].group == "search"
    unit = files[2].content.splitlines()
    assert "Environment=ES_JAVA_HOME=/usr/lib/jvm/java-17" in unit
    assert "Environment=ES_PATH_CONF=/srv/es-conf" in unit
    assert "ExecStart=/srv/es/current/bin/elasticsearch" in unit
    assert "User=search" in unit and "Group=search" in unit
    no_java = node_files(topology(shape_a), topology(shape_a).cluster.node("d1"), bootstrap=True)
    assert "JAVA_HOME" not in no_java[2].content
