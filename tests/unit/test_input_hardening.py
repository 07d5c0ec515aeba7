"""Input a user writes by mistake: each is refused at load with exit 2 and one line per problem
naming the host, file or key, never a traceback, never silently accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from esdr.cli.main import cli

from . import project_factory as factory


def _answer(result) -> dict:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return json.loads(result.stdout)


def refused(inventory: Path, rule: str, where: str = "", key: str = "") -> dict:
    """``esdr validate``, ``esdr render`` and the plan loader each refuse with exit 2; validate
    names ``rule`` at ``where`` with ``key`` in its message."""
    answer = _answer(factory.validate(inventory))
    assert answer["exit"] == 2, answer
    matching = [p for p in answer["problems"]
                if p["rule"] == rule and where in p["where"] and key in p["message"]]
    assert matching, answer["problems"]
    assert _answer(factory.render(inventory))["exit"] == 2
    assert factory.load_for_plan(inventory) == 2
    return answer


def project(tmp_path: Path, hosts=None, group_data=None, estate=None, **kwargs) -> Path:
    h, g, e = factory.valid()
    return factory.write(tmp_path, hosts or h, group_data or g,
                         e if estate is None else estate, **kwargs)


def test_the_valid_project_passes_all_three(tmp_path: Path) -> None:
    inventory = project(tmp_path)
    assert _answer(factory.validate(inventory))["exit"] == 0
    assert _answer(factory.render(inventory))["exit"] == 0
    assert factory.load_for_plan(inventory) == 0


# --- crashes that become messages ---------------------------------------------------------------


def test_a_zone_given_as_a_number_on_some_hosts_is_refused(tmp_path: Path) -> None:
    hosts, _, _ = factory.valid()
    hosts["es_master"][0][1]["zone"] = 1
    refused(project(tmp_path, hosts=hosts), "input-wrong-type", "host m1", "zone")


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda e: e["clusters"]["dc1"].update(seeds=5), "clusters.dc1.seeds"),
        (lambda e: e["repositories"]["dr"].update(settings=[1]), "repositories.dr.settings"),
        (lambda e: e["slm"]["nightly"].update(config=[]), "slm.nightly.config"),
    ],
    ids=["seeds-5", "settings-list", "config-list"],
)
def test_wrong_types_in_the_estate_are_refused(tmp_path: Path, mutate, key: str) -> None:
    _, _, estate = factory.valid()
    mutate(estate)
    refused(project(tmp_path, estate=estate), "input-wrong-type", "estate", key)


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda g: g.update(gateway_entry_port="8000"), "gateway_entry_port"),
        (lambda g: g["gateway_front_door"].update(vips="10.20.1.100/24"),
         "gateway_front_door.vips"),
        (lambda g: g["gateway_front_door"]["vips"][0].update(priorities=[150, 100]),
         "gateway_front_door.vips.0.priorities"),
        (lambda g: g["gateway_clusters"]["primary"].update(endpoints=5),
         "gateway_clusters.primary.endpoints"),
    ],
    ids=["port-string", "vips-string", "priorities-list", "endpoints-int"],
)
def test_wrong_types_in_gateway_settings_are_refused(tmp_path: Path, mutate, key: str) -> None:
    _, group_data, _ = factory.valid()
    mutate(group_data)
    refused(project(tmp_path, group_data=group_data), "input-wrong-type", "group data", key)


@pytest.mark.parametrize("value", [["LD_PRELOAD=/x.so"], {"ES_TMPDIR": 5}, "ES_TMPDIR=/tmp"])
def test_a_wrong_es_service_environment_is_refused(tmp_path: Path, value) -> None:
    _, group_data, _ = factory.valid()
    group_data["es_service_environment"] = value
    refused(project(tmp_path, group_data=group_data), "input-wrong-type", "group data",
            "es_service_environment")


def test_es_secrets_dir_pointing_at_a_file_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    _, group_data, _ = factory.valid()
    group_data["es_secrets_dir"] = str(a_file)
    refused(project(tmp_path, group_data=group_data), "secrets-dir-not-a-directory",
            "group data", "es_secrets_dir")


def test_a_non_ascii_host_name_is_refused(tmp_path: Path) -> None:
    hosts, _, _ = factory.valid()
    hosts["es_master"][0] = ("mäster1", hosts["es_master"][0][1])
    answer = refused(project(tmp_path, hosts=hosts), "input-bad-name", "host")
    assert all(line.isascii() for line in json.dumps(answer).splitlines())


def test_gateway_lint_of_a_binary_file_says_so_on_one_line(tmp_path: Path) -> None:
    binary = tmp_path / "gateway.yml"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\xd0\xff\xfe" * 20)
    result = CliRunner().invoke(cli, ["--json", "gateway", "lint", str(binary)])
    answer = _answer(result)
    assert answer["exit"] == 2 and len(answer["errors"]) == 1
    assert "not a text file" in answer["errors"][0]


@pytest.mark.parametrize(
    "text",
    [
        "entry: [{name: e, router: {a: 1}, network: nope}]\n"
        "router: [{name: r, default_flow: {x: 1}}]\n",
        "flow: [{name: f, filter: 5}]\npipeline: [{name: p, processor: [{consumer: {when: 3}}]}]\n",
    ],
    ids=["router-and-network", "filter-and-when"],
)
def test_gateway_lint_of_wrong_typed_fields_lists_problems(tmp_path: Path, text: str) -> None:
    path = tmp_path / "gateway.yml"
    path.write_text(text)
    answer = _answer(CliRunner().invoke(cli, ["--json", "gateway", "lint", str(path)]))
    assert answer["exit"] == 2 and answer["problems"]


# --- silently accepted, now refused -------------------------------------------------------------


def test_es_roles_as_a_string_is_refused_not_split_into_letters(tmp_path: Path) -> None:
    hosts, _, _ = factory.valid()
    hosts["es_data"][1][1]["es_roles"] = "data"
    refused(project(tmp_path, hosts=hosts), "input-wrong-type", "host d2", "es_roles")


def test_a_typo_in_an_es_group_is_refused(tmp_path: Path) -> None:
    hosts, _, _ = factory.valid()
    hosts["es_ingset"] = [("i1", {"zone": "az1"})]
    refused(project(tmp_path, hosts=hosts), "unknown-group", "group es_ingset")


def test_a_host_listed_twice_with_different_zones_is_refused(tmp_path: Path) -> None:
    hosts, _, _ = factory.valid()
    hosts["es_remote_cluster_client"][0][1]["zone"] = "az2"
    refused(project(tmp_path, hosts=hosts), "host-listed-twice", "host d1", "zone")


def test_validate_refuses_a_host_in_two_clusters_of_the_estate(tmp_path: Path) -> None:
    hosts, group_data, estate = factory.valid()
    inventory = factory.write(tmp_path, hosts, group_data, estate)
    # the estate's other data centre, whose inventory lists d1 again
    other = inventory.parent / "t2.py"
    other.write_text(f"es_data = [('d1', {hosts['es_data'][0][1]!r})]\n")
    (inventory.parent.parent / "group_data" / "t2.py").write_text(
        "es_cluster_name = 't2'\nes_version = '8.19.21'\n")
    estate["clusters"]["dc2"]["inventory"] = "inventories/t2.py"
    (inventory.parent.parent / "group_data" / "estates" / "t.yml").write_text(
        __import__("yaml").safe_dump(estate))
    answer = _answer(factory.validate(inventory))
    assert answer["exit"] == 2
    assert [p for p in answer["problems"] if p["rule"] == "host-in-two-clusters"], answer


@pytest.mark.parametrize("path", ["../../elsewhere/x.py", "/etc/passwd", "inventories/dc2.yml"])
def test_an_estate_inventory_outside_the_project_is_refused_not_run(tmp_path: Path, path) -> None:
    _, _, estate = factory.valid()
    estate["clusters"]["dc2"]["inventory"] = path
    refused(project(tmp_path, estate=estate), "input-bad-path", "estate", "clusters.dc2.inventory")


def test_es_http_port_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    _, group_data, _ = factory.valid()
    group_data["es_http_port"] = "abc"
    refused(project(tmp_path, group_data=group_data), "input-wrong-type", "group data",
            "es_http_port")


def test_es_cert_sans_as_a_string_is_refused_not_split_into_characters(tmp_path: Path) -> None:
    hosts, _, _ = factory.valid()
    hosts["es_master"][0][1]["es_cert_sans"] = "10.0.0.19"
    refused(project(tmp_path, hosts=hosts), "input-wrong-type", "host m1", "es_cert_sans")


# --- exit codes: what cannot be loaded is bad input, on one line --------------------------------


def _one_line_bad_input(inventory: Path) -> str:
    answer = _answer(factory.validate(inventory))
    assert answer["exit"] == 2 and answer["problems"] == [], answer
    assert len(answer["errors"]) == 1 and "\n" not in answer["errors"][0], answer["errors"]
    return answer["errors"][0]


def test_a_group_data_file_that_fails_to_load_exits_2_on_one_line(tmp_path: Path) -> None:
    inventory = project(tmp_path)
    group_data = inventory.parent.parent / "group_data" / "t.py"
    group_data.write_text(group_data.read_text() + "import yaml\nextra = yaml.safe_load('a: [')\n")
    line = _one_line_bad_input(inventory)
    assert str(group_data) in line


def test_host_data_that_is_not_a_dict_exits_2_naming_host_and_group(tmp_path: Path) -> None:
    hosts, _, _ = factory.valid()
    hosts["es_data"].append(("d3", "az1"))
    line = _one_line_bad_input(project(tmp_path, hosts=hosts))
    assert "'d3'" in line and "es_data" in line and "not a dict" in line


def test_an_estate_yaml_error_exits_2_on_one_line_with_where_to_fix_it(tmp_path: Path) -> None:
    text = "clusters:\n  dc1: {cluster_name: t1\nlicence: basic\n"
    inventory = project(tmp_path, estate_text=text)
    line = _one_line_bad_input(inventory)
    assert "not valid YAML at line" in line and "t.yml" in line
    assert "Python" not in line


# --- names and values that would break a rendered file or a path --------------------------------


@pytest.mark.parametrize(
    ("where", "key", "value", "rule"),
    [
        ("host", "es_node_name", "d2\n-javaagent:/tmp/x.jar", "input-control-character"),
        ("host", "zone", "az2\nnode.attr.rack: x", "input-control-character"),
        ("host", "ssh_hostname", "10.20.0.22\ndiscovery.type: single-node",
         "input-control-character"),
        ("group", "es_settings", {"a.b\nxpack.security.transport.ssl.verification_mode": "none"},
         "input-control-character"),
        ("group", "es_service_environment", {"ES_TMPDIR": "/tmp\nExecStartPre=/bin/sh"},
         "input-control-character"),
        ("host", "es_node_name", "../../etc/cron.d/x", "input-bad-name"),
        ("group", "es_cluster_name", "a/b", "input-bad-name"),
        ("group", "es_user", "x" * 300, "input-bad-name"),
    ],
    ids=["node-name-newline", "zone-newline", "address-newline", "settings-key-newline",
         "environment-newline", "node-name-dotdot", "cluster-name-slash", "user-too-long"],
)
def test_values_that_cannot_be_a_name_or_hold_a_newline_are_refused(
    tmp_path: Path, where: str, key: str, value, rule: str
) -> None:
    hosts, group_data, _ = factory.valid()
    if where == "host":
        hosts["es_data"][1][1][key] = value
        hosts["es_remote_cluster_client"][1][1][key] = value
    else:
        group_data[key] = value
    refused(project(tmp_path, hosts=hosts, group_data=group_data), rule, "", key)


def test_a_keepalived_interface_with_a_newline_is_refused(tmp_path: Path) -> None:
    _, group_data, _ = factory.valid()
    group_data["gateway_front_door"]["interface"] = "eth0\nnotify_master /tmp/x"
    refused(project(tmp_path, group_data=group_data), "input-bad-name", "group data",
            "gateway_front_door.interface")


def test_problems_never_show_the_value_itself(tmp_path: Path) -> None:
    _, group_data, _ = factory.valid()
    group_data["es_elastic_password"] = {"env": "S3CRET\nVALUE"}
    answer = refused(project(tmp_path, group_data=group_data), "input-control-character",
                     "group data", "es_elastic_password")
    assert "S3CRET" not in json.dumps(answer)


def test_the_data_centre_group_named_after_the_inventory_file_is_not_a_typo() -> None:
    from esdr.schema import check_groups

    groups = ["all", "gateways", "gateways_edge", "es_data"]
    assert check_groups(groups, "inventories/gateways_edge.py") == []
    assert check_groups(groups, "", file_group="gateways_edge") == []
    assert [p.rule for p in check_groups(groups, "inventories/other.py")] == ["unknown-group"]


def test_promote_on_an_inventory_without_an_estate_is_bad_input(tmp_path: Path) -> None:
    hosts, group_data, _ = factory.valid()
    inventory = factory.write(tmp_path, hosts, group_data)  # no es_estate
    answer = _answer(CliRunner().invoke(cli, ["--json", "promote", str(inventory), "--dry"]))
    assert answer["exit"] == 2 and "no cross-DC design" in answer["errors"][0]


def test_certificates_of_an_inventory_with_security_off_is_bad_input(tmp_path: Path) -> None:
    hosts, group_data, estate = factory.valid()
    group_data.update(es_security=False, es_lab=True)
    inventory = factory.write(tmp_path, hosts, group_data, estate)
    answer = _answer(CliRunner().invoke(cli, ["--json", "certs", "status", str(inventory)]))
    assert answer["exit"] == 2 and "security is off" in answer["errors"][0]
