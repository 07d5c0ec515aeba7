"""Values of the estate and the group data that the engines, systemd or pyinfra would read
otherwise than the user meant: each is refused before any host is touched, by ``esdr validate``,
``esdr render`` and the plan loader alike (exit 2, one line naming the file or host, the key and
the rule), or by the renderer itself when a model built in code carries it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from pyinfra.api import Inventory
from pyinfra.api.exceptions import OperationValueError

from esdr.checks import validate
from esdr.crossdc.estate import parse_estate
from esdr.checks.estate import check_estate
from esdr.errors import BadInput
from esdr.gateway.render import gateway_unit
from esdr.model import HostSpec
from esdr.render import elasticsearch_yml
from esdr.schema import check_hosts
from esdr.tasks import post_deploy
from tests.gateway.factory import tier
from tests.unit.test_opensearch_engine import os_topology
from tests.unit.topo_factory import mutated, topology

from . import project_factory as factory
from .test_input_hardening import _answer, project, refused
from .test_validate import cluster_set


def _estate(edit) -> dict[str, Any]:
    _, _, estate = factory.valid()
    edit(estate)
    return estate


def _accepted(tmp_path: Path, estate=None, group_data=None) -> None:
    inventory = project(tmp_path, estate=estate, group_data=group_data)
    answer = _answer(factory.validate(inventory))
    assert answer["exit"] == 0, answer


def _follower(**fields: Any):
    return lambda e: e["followers"][0].update(fields)


def _auto(**fields: Any):
    return lambda e: e["auto_follow"]["logs"].update(fields)


def _bidirectional(alias: str, indices: dict[str, str]):
    return lambda e: e.update(bidirectional={alias: indices})


# --- index names: https://www.elastic.co/guide/en/elasticsearch/reference/current/indices-create-index.html#indices-create-api-path-params


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (_follower(index="orders,*"), "followers.0.index"),
        (_follower(leader_index="_all"), "followers.0.leader_index"),
        (_follower(index="Orders"), "followers.0.index"),
        (_follower(index="."), "followers.0.index"),
        (_follower(index=".."), "followers.0.index"),
        (_follower(index="-orders"), "followers.0.index"),
        (_follower(index="+orders"), "followers.0.index"),
        (_follower(index="or ders"), "followers.0.index"),
        (_follower(index="or#ders"), "followers.0.index"),
        (_follower(index="dc2:orders"), "followers.0.index"),
        (_follower(index="é" * 128), "followers.0.index"),  # 256 bytes in UTF-8
        (_follower(leader_index="orders*"), "followers.0.leader_index"),
        (_follower(write_alias="Orders-w"), "followers.0.write_alias"),
        (_auto(leader_index_patterns=["logs-*,metrics-*"]),
         "auto_follow.logs.leader_index_patterns"),
        (_auto(leader_index_patterns=["_all"]), "auto_follow.logs.leader_index_patterns"),
        (_auto(leader_index_exclusion_patterns=["Logs-*"]),
         "auto_follow.logs.leader_index_exclusion_patterns"),
        (_auto(follow_index_pattern="{{leader_index}}-*"), "auto_follow.logs.follow_index_pattern"),
        (_bidirectional("Events", {"dc1": "ev-dc1", "dc2": "ev-dc2"}), "bidirectional"),
        (_bidirectional("events", {"dc1": "ev-dc1", "dc2": "_all"}), "bidirectional.events.dc2"),
    ],
)
def test_index_names_the_engines_refuse_are_refused_in_the_estate(
    tmp_path: Path, edit, key
) -> None:
    refused(project(tmp_path, estate=_estate(edit)), "input-bad-index-name", "estate", key)


def test_index_patterns_may_hold_a_star_and_names_may_hold_what_the_engines_allow(
    tmp_path: Path,
) -> None:
    def edit(e: dict) -> None:
        e["followers"][0].update(index="orders-2026.01_a+b", leader_index="orders~x")
        e["auto_follow"]["logs"].update(leader_index_patterns=["logs-*", "*-app"],
                                        leader_index_exclusion_patterns=["*-copy"])
    _accepted(tmp_path, _estate(edit))


def test_destructive_requires_name_is_rendered_for_both_engines_unless_set() -> None:
    for topo in (topology(), os_topology()):
        node = topo.cluster.nodes[0]
        config = yaml.safe_load(elasticsearch_yml(topo, node, bootstrap=False))
        assert config["action.destructive_requires_name"] is True
    topo = topology(es_settings={"action": {"destructive_requires_name": False}})
    text = elasticsearch_yml(topo, topo.cluster.nodes[0], bootstrap=False)
    assert text.count("action.destructive_requires_name") == 1
    assert yaml.safe_load(text)["action.destructive_requires_name"] is False


# --- names, aliases and values of the estate ----------------------------------------------------


@pytest.mark.parametrize("name", ["a/b", "x;y", "a|b", "..", "a b"])
def test_estate_cluster_names_get_the_checks_inventory_names_get(tmp_path: Path, name) -> None:
    estate = _estate(lambda e: e["clusters"]["dc2"].update(cluster_name=name))
    refused(project(tmp_path, estate=estate), "input-bad-name", "estate",
            "clusters.dc2.cluster_name")


@pytest.mark.parametrize(
    ("edit", "key"),
    [(_follower(write_alias="orders|w"), "followers.0.write_alias"),
     (_follower(write_alias="orders;w"), "followers.0.write_alias"),
     (_follower(write_alias="a/../b"), "followers.0.write_alias"),
     (_bidirectional("ev/x", {"dc1": "ev-dc1", "dc2": "ev-dc2"}), "bidirectional")],
)
def test_aliases_get_the_checks_inventory_names_get(tmp_path: Path, edit, key) -> None:
    refused(project(tmp_path, estate=_estate(edit)), "input-bad-name", "estate", key)


@pytest.mark.parametrize(
    "edit",
    [_follower(write_alias="orders"), _follower(leader_index="orders-l", write_alias="orders-l"),
     _bidirectional("ev-dc1", {"dc1": "ev-dc1", "dc2": "ev-dc2"})],
    ids=["follower-index", "leader-index", "bidirectional"],
)
def test_an_alias_equal_to_the_index_it_points_to_is_refused(edit) -> None:
    raw = {**_estate(edit), "_source": "estates/t.yml"}
    raw["links"].append({"from": "dc2", "to": "dc1"})
    problems = [p for p in check_estate(parse_estate(raw)) if p.rule == "alias-is-index"]
    assert problems and "estates/t.yml" in problems[0].where, problems


def test_an_alias_equal_to_its_index_is_refused_by_validate(tmp_path: Path) -> None:
    refused(project(tmp_path, estate=_estate(_follower(write_alias="orders"))), "alias-is-index",
            "estate", "orders")


@pytest.mark.parametrize(
    ("seeds", "key"),
    [
        ("10.20.0.21:9300,10.20.0.22:9300", "clusters.dc1.seeds"),
        (["10.20.0.21:70000"], "clusters.dc1.seeds"),
        (["10.20.0.21:0"], "clusters.dc1.seeds"),
        (["10.20.0.21"], "clusters.dc1.seeds"),
        (["fe80::1:9300"], "clusters.dc1.seeds"),
        (["[fe80::1]"], "clusters.dc1.seeds"),
        (["host name:9300"], "clusters.dc1.seeds"),
        ([":9300"], "clusters.dc1.seeds"),
    ],
)
def test_transport_seeds_must_be_host_and_port(tmp_path: Path, seeds, key) -> None:
    estate = _estate(lambda e: e["clusters"]["dc1"].update(seeds=seeds))
    refused(project(tmp_path, estate=estate), "input-bad-address", "estate", key)


def test_seeds_on_a_link_and_proxy_addresses_are_host_and_port_too(tmp_path: Path) -> None:
    estate = _estate(lambda e: e["links"][0].update(seeds=["a:1,b:2"]))
    refused(project(tmp_path, estate=estate), "input-bad-address", "estate", "links.0.seeds")
    estate = _estate(lambda e: e["clusters"]["dc2"].update(proxy_address="proxy.example"))
    refused(project(tmp_path / "b", estate=estate), "input-bad-address", "estate",
            "clusters.dc2.proxy_address")


def test_good_seeds_pass(tmp_path: Path) -> None:
    good = ["10.20.0.21:9300", "[fe80::1]:9300", "es-dc1-data-a1.example.internal:9300"]
    _accepted(tmp_path, _estate(lambda e: e["clusters"]["dc1"].update(seeds=good)))


@pytest.mark.parametrize("schedule", ["every night", "* * *", "0 30 1 * * ? 2026 9",
                                      "0 30 1 * * ?;", "1d"])
def test_slm_schedules_must_be_cron(tmp_path: Path, schedule: str) -> None:
    estate = _estate(lambda e: e["slm"]["nightly"].update(schedule=schedule))
    refused(project(tmp_path, estate=estate), "input-bad-format", "estate", "slm.nightly.schedule")


def test_good_slm_schedules_pass(tmp_path: Path) -> None:
    for i, schedule in enumerate(["0 30 1 * * ?", "0 0/15 * ? * MON-FRI 2026", "0 0 12 L * ?",
                                  "0 0 12 ? * 6#3"]):
        _accepted(tmp_path / str(i),
                  _estate(lambda e: e["slm"]["nightly"].update(schedule=schedule)))


@pytest.mark.parametrize(
    "retention",
    [{"min_count": -1}, {"min_count": 0}, {"max_count": -5}, {"max_count": "5"},
     {"min_count": 10, "max_count": 5}, {"expire_after": "thirty days"}],
)
def test_slm_retention_counts_are_positive(tmp_path: Path, retention: dict) -> None:
    estate = _estate(lambda e: e["slm"]["nightly"].update(retention=retention))
    answer = _answer(factory.validate(project(tmp_path, estate=estate)))
    assert answer["exit"] == 2
    assert any("slm.nightly.retention" in p["message"] and "estate" in p["where"]
               for p in answer["problems"]), answer


@pytest.mark.parametrize("version", ["latest", "8", "8.x", "8.19.21 ", "../8.19.21", "v8.19.21"])
def test_es_version_must_look_like_a_version(tmp_path: Path, version: str) -> None:
    _, group_data, _ = factory.valid()
    group_data["es_version"] = version
    refused(project(tmp_path, group_data=group_data), "input-bad-format", "", "es_version")


def test_versions_pass(tmp_path: Path) -> None:
    _, group_data, _ = factory.valid()
    group_data["es_version"] = "8.19.21-SNAPSHOT"
    answer = _answer(factory.validate(project(tmp_path, group_data=group_data)))
    assert not [p for p in answer["problems"] if "es_version" in p["message"]], answer


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u0085", "\x1b"])
def test_line_separators_inside_settings_values_are_refused(tmp_path: Path, char: str) -> None:
    _, group_data, _ = factory.valid()
    group_data["es_settings"] = {"node.attr.rack": f"r1{char}x"}
    refused(project(tmp_path, group_data=group_data), "input-control-character", "", "es_settings")


# --- the archive --------------------------------------------------------------------------------


def test_an_unpinned_plain_http_archive_is_refused_outside_a_lab() -> None:
    url = "http://mirror.example.internal/es.tar.gz"
    problems = validate(mutated(cluster_set(es_archive_url=url)))
    assert [(p.rule, p.severity) for p in problems] == [("archive-unpinned", "error")]
    assert "es_archive_sha512" in problems[0].message
    assert validate(mutated(cluster_set(es_archive_url=url, es_lab=True))) == []
    assert validate(mutated(cluster_set(es_archive_url=url, es_archive_sha512="ab" * 64))) == []


@pytest.mark.parametrize("digest", ["zz", "ab" * 63, "ab" * 64 + " ", "g" * 128])
def test_an_archive_digest_that_is_not_128_hex_digits_is_refused(tmp_path: Path, digest) -> None:
    _, group_data, _ = factory.valid()
    group_data["es_archive_sha512"] = digest
    refused(project(tmp_path, group_data=group_data), "input-bad-format", "", "es_archive_sha512")


# --- elasticsearch.yml and the systemd units ----------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"indices.q": None}, "indices.q"),
        ({"indices.q": float("nan")}, "indices.q"),
        ({"indices.q": float("inf")}, "indices.q"),
        ({"indices.q": [1, None]}, "indices.q"),
        ({"indices.q": 1, "indices": {"q": 2}}, "indices.q"),
        ({"node.attr.rack": "${HOSTNAME}"}, "node.attr.rack"),
        ({"path.x": ["/a", "/b/${X}"]}, "path.x"),
    ],
    ids=["none", "nan", "inf", "none-in-list", "twice", "placeholder", "placeholder-in-list"],
)
def test_values_elasticsearch_yml_cannot_carry_are_refused(settings, key) -> None:
    hosts, group_data, _ = factory.valid()
    name, data = hosts["es_data"][0]
    spec = HostSpec(name, ("es_data", "t"), {**group_data, **data, "es_settings": settings})
    problems = check_hosts([spec], "inventories/t.py")
    assert [p.where for p in problems] == ["group data of inventories/t.py"], problems
    assert key in problems[0].message and "es_settings" in problems[0].message, problems
    # and the renderer refuses them itself, whatever built the model
    topo = topology(es_settings=settings)
    with pytest.raises(BadInput, match=f"host d1: .*{key}"):
        elasticsearch_yml(topo, topo.cluster.node("d1"), bootstrap=True)


def test_a_security_key_esdr_writes_cannot_be_written_again_from_es_settings() -> None:
    settings = {"xpack.security.enrollment.enabled": True}
    problems = validate(topology(es_settings=settings))
    assert [p.rule for p in problems] == ["owned-setting"], problems
    topo = topology(es_settings=settings)
    with pytest.raises(BadInput, match="host d1: .*xpack.security.enrollment.enabled.*twice"):
        elasticsearch_yml(topo, topo.cluster.node("d1"), bootstrap=True)


def test_a_placeholder_in_a_value_esdr_derives_is_refused_by_the_renderer() -> None:
    topo = topology(es_data_dir="/data/${HOME}")
    with pytest.raises(BadInput, match="host d1: .*path.data"):
        elasticsearch_yml(topo, topo.cluster.node("d1"), bootstrap=True)


@pytest.mark.parametrize("path", ["/var/lib/gw\\", "/var/lib/gw \\"])
def test_a_trailing_backslash_in_a_unit_value_is_refused(path: str) -> None:
    model = tier(gateway_data_dir=path)
    with pytest.raises(BadInput, match="gateway_data_dir.*backslash"):
        gateway_unit(model, model.host("gw1"))


@pytest.mark.parametrize(
    "settings",
    [{"http.port ": 9201}, {" http.port": 9201}, {"http": {"port ": 9201}},
     {"http": {" port": 9201}}, {"http.\tport": 9201}, {"http..port": 9201}, {"": 1}],
    ids=["trailing", "leading", "nested-trailing", "nested-leading", "tab", "empty-part", "empty"],
)
def test_a_settings_key_with_surrounding_whitespace_is_refused(tmp_path: Path, settings) -> None:
    _, group_data, _ = factory.valid()
    group_data["es_settings"] = settings
    answer = _answer(factory.validate(project(tmp_path, group_data=group_data)))
    assert answer["exit"] == 2, answer
    assert any("es_settings" in p["message"] for p in answer["problems"]), answer


# --- the destructive switch: https://docs.pyinfra.com/en/3.x/cli.html (--data) ------------------


def _host(override: dict | None = None, group: dict | None = None, host: dict | None = None):
    inventory = Inventory(([("h1", host or {})], {}), override_data=override or {},
                          dc=(["h1"], group or {}))
    return inventory.get_host("h1")


def test_allow_destructive_from_the_command_line_is_taken(monkeypatch) -> None:
    monkeypatch.setattr(post_deploy, "host", _host(override={"allow_destructive": True}))
    assert post_deploy.destructive_switch() is True
    monkeypatch.setattr(post_deploy, "host", _host())
    assert post_deploy.destructive_switch() is False


@pytest.mark.parametrize("where", ["group", "host"])
def test_allow_destructive_in_group_or_host_data_is_refused(monkeypatch, where: str) -> None:
    for override in ({}, {"allow_destructive": True}, {"allow_destructive": False}):
        host = _host(override=override, **{where: {"allow_destructive": True}})
        monkeypatch.setattr(post_deploy, "host", host)
        with pytest.raises(OperationValueError, match=f"{where} data.*--data allow_destructive"):
            post_deploy.destructive_switch()


def test_the_switch_given_in_code_is_taken_as_is(monkeypatch) -> None:
    monkeypatch.setattr(post_deploy, "host", _host(group={"allow_destructive": True}))
    assert post_deploy.destructive_switch(False) is False
    monkeypatch.setattr(post_deploy, "host", SimpleNamespace(data={}))
    assert post_deploy.destructive_switch(True) is True


def test_the_lab_and_example_estates_still_validate() -> None:
    root = Path(__file__).resolve().parents[2]
    from esdr.schema import check_estate as shape
    from esdr.crossdc.estate import load_estate_file
    for name in ("lab.yml", "lab_os.yml", "prod.yml"):
        raw = load_estate_file(str(root / "group_data" / "x.py"), f"estates/{name}")
        assert shape(copy.deepcopy(raw)) == [], name
        assert check_estate(parse_estate(raw)) == [], name
