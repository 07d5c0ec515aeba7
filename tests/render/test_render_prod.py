"""inventories/prod.py rendered: the checked-in tree, the HA facts, --formed, and the CLI.

The expected tree under ``tests/render/prod/`` was written once with
``esdr render inventories/prod.py --out tests/render/prod`` and read line by line against the
Elasticsearch HA facts (zones, forced awareness, tie-breaker, bootstrap). Regenerate it the
same way after an intended rendering change, and read the diff. The fact tests below parse the
rendered YAML and do not depend on the checked-in tree.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from esdr.cli.main import cli
from esdr.model import Topology
from esdr.render import RenderedFile, node_files
from esdr.project import load_project

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = "inventories/prod.py"
EXPECTED = Path(__file__).resolve().parent / "prod"
CONFIG = "etc/elasticsearch/elasticsearch.yml"
HEAP = "etc/elasticsearch/jvm.options.d/esdr-heap.options"
UNIT = "etc/systemd/system/elasticsearch.service"
SYSCTL = "etc/sysctl.d/90-esdr-net.conf"  # every host's kernel settings (esdr.host_tuning)
HOSTS = {
    "es-dc1-master-a.example.internal": ("az1", ["master"]),
    "es-dc1-master-b.example.internal": ("az2", ["master"]),
    "es-dc1-tiebreaker.example.internal": ("az3", ["master", "voting_only"]),
    "es-dc1-data-a1.example.internal": ("az1", ["data"]),
    "es-dc1-data-a2.example.internal": ("az1", ["data"]),
    "es-dc1-data-b1.example.internal": ("az2", ["data"]),
    "es-dc1-data-b2.example.internal": ("az2", ["data"]),
}
MASTERS = [
    "es-dc1-master-a.example.internal",
    "es-dc1-master-b.example.internal",
    "es-dc1-tiebreaker.example.internal",
]


@pytest.fixture(scope="module")
def prod() -> Topology:
    return load_project(ROOT / INVENTORY).topology


def _rendered(topology: Topology, *, bootstrap: bool) -> dict[str, dict[str, RenderedFile]]:
    return {
        node.name: {f.path.lstrip("/"): f for f in node_files(topology, node, bootstrap=bootstrap)}
        for node in topology.cluster.nodes
    }


@pytest.fixture(scope="module")
def bootstrap(prod: Topology) -> dict[str, dict[str, RenderedFile]]:
    return _rendered(prod, bootstrap=True)


@pytest.fixture(scope="module")
def formed(prod: Topology) -> dict[str, dict[str, RenderedFile]]:
    return _rendered(prod, bootstrap=False)


@pytest.fixture(scope="module")
def configs(bootstrap) -> dict[str, dict]:
    return {host: yaml.safe_load(files[CONFIG].content) for host, files in bootstrap.items()}


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _assert_same_tree(actual: dict[str, bytes], expected: dict[str, bytes]) -> None:
    assert sorted(actual) == sorted(expected)
    for name, content in expected.items():
        if actual[name] != content:
            diff = difflib.unified_diff(
                content.decode().splitlines(),
                actual[name].decode().splitlines(),
                f"expected/{name}",
                f"rendered/{name}",
                lineterm="",
            )
            pytest.fail("\n".join(diff))


def _runner() -> CliRunner:
    """stdout and stderr kept apart: click's default from 8.2, an option before it."""
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()


def _render_cli(out: Path, *extra: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    return _runner().invoke(cli, ["render", INVENTORY, "--out", str(out), *extra])


# --- the checked-in tree ---------------------------------------------------------------------


def test_cli_render_matches_the_expected_tree(tmp_path: Path, monkeypatch) -> None:
    result = _render_cli(tmp_path / "out", monkeypatch=monkeypatch)

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"wrote 28 files for 7 nodes under {tmp_path / 'out'}\n"
        "wrote 8 files for 2 gateway/nginx hosts\n"
    )
    _assert_same_tree(_tree(tmp_path / "out"), _tree(EXPECTED))


def _es_tree() -> dict[str, bytes]:
    """The expected tree's node files, without the gateway hosts' files (tested in
    tests/gateway) and every host's kernel settings (tested below)."""
    return {k: v for k, v in _tree(EXPECTED).items()
            if k.split("/", 1)[0] in HOSTS and not k.endswith(SYSCTL)}


def test_expected_tree_is_one_folder_per_host_with_three_files_and_the_kernel_settings() -> None:
    tree = _es_tree()
    assert sorted(tree) == sorted(f"{h}/{f}" for h in HOSTS for f in (CONFIG, HEAP, UNIT))
    gateway_hosts = {k.split("/", 1)[0] for k in _tree(EXPECTED)} - set(HOSTS)
    assert gateway_hosts == {"gw-dc1-a.example.internal", "gw-dc1-b.example.internal"}
    for host in (*HOSTS, *gateway_hosts):
        lines = _tree(EXPECTED)[f"{host}/{SYSCTL}"].decode().splitlines()
        assert [line for line in lines if not line.startswith("#")] == [
            "net.ipv4.tcp_retries2 = 5"]


def test_every_node_detects_a_silent_peer_with_the_fast_profile(configs) -> None:
    for config in configs.values():
        assert config["cluster.fault_detection.leader_check.timeout"] == "1s"
        assert config["cluster.fault_detection.follower_check.retry_count"] == 2
        assert config["cluster.publish.timeout"] == "1500ms"


def test_library_render_matches_the_expected_tree(bootstrap) -> None:
    rendered = {
        f"{host}/{path}": f.content.encode()
        for host, files in bootstrap.items()
        for path, f in files.items()
    }
    _assert_same_tree(rendered, _es_tree())


def test_file_modes_and_owners(bootstrap) -> None:
    for files in bootstrap.values():
        assert (files[CONFIG].mode, files[CONFIG].user, files[CONFIG].group) == (
            "660",
            "root",
            "elasticsearch",
        )
        assert (files[HEAP].mode, files[HEAP].user, files[HEAP].group) == (
            "660",
            "root",
            "elasticsearch",
        )
        assert (files[UNIT].mode, files[UNIT].user, files[UNIT].group) == ("644", "root", "root")


# --- the facts, from the parsed YAML ---------------------------------------------------------


def test_every_node_has_its_zone_attribute(configs) -> None:
    assert {h: c["node.attr.zone"] for h, c in configs.items()} == {
        h: z for h, (z, _) in HOSTS.items()
    }


def test_every_node_has_its_roles(configs) -> None:
    assert {h: c["node.roles"] for h, c in configs.items()} == {h: r for h, (_, r) in HOSTS.items()}


def test_awareness_is_on_zone_and_forced_to_the_data_zones(configs) -> None:
    for config in configs.values():
        assert config["cluster.routing.allocation.awareness.attributes"] == "zone"
        assert config["cluster.routing.allocation.awareness.force.zone.values"] == ["az1", "az2"]


def test_three_master_eligible_nodes_one_voting_only_tiebreaker_in_a_dataless_zone(configs) -> None:
    masters = {h: c for h, c in configs.items() if "master" in c["node.roles"]}
    assert sorted(masters) == sorted(MASTERS)
    voting_only = [h for h, c in masters.items() if "voting_only" in c["node.roles"]]
    assert voting_only == ["es-dc1-tiebreaker.example.internal"]
    tiebreaker = configs[voting_only[0]]
    assert tiebreaker["node.attr.zone"] == "az3"
    assert tiebreaker["node.roles"] == ["master", "voting_only"]
    data_zones = {c["node.attr.zone"] for c in configs.values() if "data" in c["node.roles"]}
    assert data_zones == {"az1", "az2"}
    # one full master per data zone
    full = sorted(
        c["node.attr.zone"] for c in masters.values() if "voting_only" not in c["node.roles"]
    )
    assert full == ["az1", "az2"]


def test_initial_master_nodes_only_on_master_eligible_nodes(configs) -> None:
    for host, config in configs.items():
        if host in MASTERS:
            assert config["cluster.initial_master_nodes"] == MASTERS
        else:
            assert "cluster.initial_master_nodes" not in config


def test_seed_hosts_are_the_master_eligible_nodes(configs) -> None:
    for config in configs.values():
        assert config["discovery.seed_hosts"] == [f"{m}:9300" for m in MASTERS]


def test_identity_network_and_paths(configs) -> None:
    for host, config in configs.items():
        assert config["cluster.name"] == "search-dc1"
        assert config["node.name"] == host
        assert config["network.host"] == host
        assert (config["http.port"], config["transport.port"]) == (9200, 9300)
        assert config["path.data"] == "/var/lib/elasticsearch"
        assert config["path.logs"] == "/var/log/elasticsearch"
        assert config["path.repo"] == ["/mnt/es-snapshots"]
        assert config["action.destructive_requires_name"] is True
        assert config["bootstrap.memory_lock"] is False


def test_no_key_is_rendered_twice(bootstrap) -> None:
    for files in bootstrap.values():
        keys = [
            line.split(":", 1)[0]
            for line in files[CONFIG].content.splitlines()
            if line and not line.startswith("#")
        ]
        assert len(keys) == len(set(keys))


def test_heap_min_equals_max(bootstrap) -> None:
    heaps = {"master-a": "4g", "master-b": "4g", "tiebreaker": "1g"}
    for host, files in bootstrap.items():
        lines = [l for l in files[HEAP].content.splitlines() if not l.startswith("#")]
        size = next((v for k, v in heaps.items() if k in host), "31g")
        assert lines == [f"-Xms{size}", f"-Xmx{size}"]


def test_systemd_unit_limits(bootstrap) -> None:
    for host, files in bootstrap.items():
        lines = files[UNIT].content.splitlines()
        assert "LimitNOFILE=65535" in lines
        assert "LimitNPROC=4096" in lines
        assert "User=elasticsearch" in lines
        assert "Environment=ES_PATH_CONF=/etc/elasticsearch" in lines
        assert "ExecStart=/opt/elasticsearch/current/bin/elasticsearch" in lines
        assert f"Description=Elasticsearch node {host} (cluster search-dc1)" in lines


# --- bootstrap vs formed ---------------------------------------------------------------------


def test_formed_drops_initial_master_nodes_and_changes_nothing_else(bootstrap, formed) -> None:
    assert sorted(formed) == sorted(bootstrap)
    for host in bootstrap:
        assert sorted(formed[host]) == sorted(bootstrap[host])
        for path, first in bootstrap[host].items():
            kept = [
                line
                for line in first.content.splitlines(keepends=True)
                if not line.startswith("cluster.initial_master_nodes:")
            ]
            assert formed[host][path].content == "".join(kept), f"{host}/{path}"
            assert "initial_master_nodes" not in formed[host][path].content
    dropped = [h for h in bootstrap if bootstrap[h][CONFIG].content != formed[h][CONFIG].content]
    assert sorted(dropped) == sorted(MASTERS)


def test_cli_formed_differs_from_the_expected_tree_only_by_initial_masters(
    tmp_path, monkeypatch
) -> None:
    result = _render_cli(tmp_path / "out", "--formed", monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output

    expected = {
        name: b"".join(
            line
            for line in content.splitlines(keepends=True)
            if not line.startswith(b"cluster.initial_master_nodes:")
        )
        for name, content in _tree(EXPECTED).items()
    }
    _assert_same_tree(_tree(tmp_path / "out"), expected)


# --- the validate and render commands ----------------------------------------------------------


def test_validate_prod_exits_0(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    result = _runner().invoke(cli, ["validate", INVENTORY])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        "inventories/prod.py: valid: cluster search-dc1, 7 nodes, data zones az1, az2, "
        "3 master-eligible"
    ) in lines
    assert (
        "inventories/prod.py: valid: gateways: 2 (keepalived 10.20.1.100/24), "
        "clusters search-dc1 -> search-dc2 (primary -> backup)"
    ) in lines
    # every host lists the IP its name resolves to (es_cert_sans), so no warning is left
    assert [line for line in lines if line.startswith("warning:")] == []
    assert result.stderr == ""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A project with two masters in one zone, an oversized heap, no version, an owned setting."""
    (tmp_path / "inventories").mkdir()
    (tmp_path / "group_data").mkdir()
    (tmp_path / "inventories" / "x.py").write_text(
        'es_master = [("x-m1", {"zone": "az1", "ssh_hostname": "10.9.0.1"}),'
        ' ("x-m2", {"zone": "az1", "ssh_hostname": "10.9.0.2"})]\n'
        'es_data = [("x-d1", {"zone": "az1", "es_heap": "40g", "ssh_hostname": "10.9.0.3"})]\n'
    )
    (tmp_path / "group_data" / "x.py").write_text(
        'es_cluster_name = "search-x"\n'
        'es_elastic_password = {"env": "ESDR_X_ELASTIC_PASSWORD"}\n'
        'es_archive_url = "https://mirror.example.internal/es.tar.gz"\n'
        'es_settings = {"node.roles": ["data"]}\n'
    )
    return tmp_path / "inventories" / "x.py"


def test_validate_broken_inventory_exits_2_with_one_line_per_problem(broken: Path) -> None:
    where = f"cluster search-x ({broken})"
    result = _runner().invoke(cli, ["validate", str(broken)])

    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        (
            f"warning: {where}: all data is in one zone: losing it loses the data; add data nodes "
            "in a second zone [single-data-zone]"
        )
    ]
    *lines, summary = result.stderr.splitlines()
    assert summary == f"{broken}: 5 error(s)"
    parsed = [re.fullmatch(r"(\w+): (.+?): .+ \[([a-z0-9-]+)\]", line) for line in lines]
    assert [m.groups() if m else line for m, line in zip(parsed, lines)] == [
        ("error", where, "version-missing"),
        ("error", "host x-d1", "heap-above-31g"),
        ("error", where, "too-few-masters"),
        ("error", "zone az1", "zone-holds-master-majority"),
        ("error", where, "owned-setting"),
    ]


def test_validate_reads_group_data_from_any_working_directory(broken: Path, monkeypatch) -> None:
    monkeypatch.chdir(broken.parent.parent.parent)
    result = _runner().invoke(cli, ["validate", str(broken)])
    assert "search-x" in result.output  # the cluster name came from group_data/x.py


def test_render_refuses_a_broken_inventory_and_writes_nothing(broken: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _runner().invoke(cli, ["render", str(broken), "--out", str(out)])
    assert result.exit_code == 2
    assert "5 problem(s), nothing was changed" in result.stderr
    assert "[too-few-masters]" in result.stderr
    assert not out.exists()


def test_missing_inventory_is_bad_input_exit_2(tmp_path: Path) -> None:
    result = _runner().invoke(cli, ["validate", str(tmp_path / "nope.py")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr
