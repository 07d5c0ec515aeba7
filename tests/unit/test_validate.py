"""validate(): one mutation of a valid topology -> one named rule, located where it happens."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from esdr.checks import validate, validate_estate
from esdr.problems import Problem, errors

from .topo_factory import (
    SOURCE,
    Host,
    Mutation,
    build,
    data_of,
    mutated,
    set_groups,
    shape_a,
    shape_b,
    shape_c,
    topology,
)

CLUSTER_WHERE = f"cluster search-t1 ({SOURCE})"


# --- mutations: each changes one thing of shape (a) ------------------------------------------


def cluster_set(**values: Any) -> Mutation:
    def mutate(hosts: list[Host], cluster: dict[str, Any]) -> None:
        cluster.update(values)

    return mutate


def host_set(name: str, **values: Any) -> Mutation:
    def mutate(hosts: list[Host], cluster: dict[str, Any]) -> None:
        data_of(hosts, name).update(values)

    return mutate


def host_unset(name: str, key: str) -> Mutation:
    def mutate(hosts: list[Host], cluster: dict[str, Any]) -> None:
        del data_of(hosts, name)[key]

    return mutate


def regroup(name: str, *groups: str, **values: Any) -> Mutation:
    def mutate(hosts: list[Host], cluster: dict[str, Any]) -> None:
        set_groups(hosts, name, groups)
        data_of(hosts, name).update(values)

    return mutate


def regroup_all(*groups: str) -> Mutation:
    def mutate(hosts: list[Host], cluster: dict[str, Any]) -> None:
        hosts[:] = [(name, groups, data) for name, _, data in hosts]

    return mutate


def drop(name: str) -> Mutation:
    def mutate(hosts: list[Host], cluster: dict[str, Any]) -> None:
        hosts[:] = [h for h in hosts if h[0] != name]

    return mutate


def add(name: str, groups: tuple[str, ...], **data: Any) -> Mutation:
    def mutate(hosts: list[Host], cluster: dict[str, Any]) -> None:
        hosts.append((name, groups, data))

    return mutate


class Case(NamedTuple):
    mutation: Mutation
    rule: str
    where: str
    says: str = ""  # also named in the message
    also: frozenset[str] = frozenset()  # other error rules the same mutation must raise


def case(mutation: Mutation, rule: str, where: str, says: str = "", also: tuple[str, ...] = ()):
    return Case(mutation, rule, where, says, frozenset(also))


CASES: dict[str, Case] = {
    # masters
    "two-masters": case(
        drop("tb"),
        "too-few-masters",
        CLUSTER_WHERE,
        "2 master-eligible",
        # with two masters either zone holds the majority: the reason a third is needed
        also=("zone-holds-master-majority",),
    ),
    "one-full-master": case(
        regroup("m2", "es_tiebreaker", zone="az4"),
        "too-few-full-masters",
        CLUSTER_WHERE,
        "1 master-eligible",
    ),
    "voting-only-without-master": case(
        add("vo", (), zone="az3", ssh_hostname="10.0.0.9", es_roles=["voting_only"]),
        "voting-only-without-master",
        "host vo",
        "master",
    ),
    "tiebreaker-with-data": case(
        regroup("tb", "es_tiebreaker", "es_data"),
        "tiebreaker-holds-data",
        "host tb",
        "es_data",
        # az3 becomes a third data zone, and one replica no longer covers three zones
        also=("replicas-below-zones",),
    ),
    "tiebreaker-in-data-zone": case(
        host_set("tb", zone="az2"),
        "tiebreaker-in-data-zone",
        "host tb",
        "az2",
        also=("zone-holds-master-majority",),
    ),
    "zone-holds-master-majority": case(
        host_set("m2", zone="az1"),
        "zone-holds-master-majority",
        "zone az1",
        "2 of 3",
    ),
    # zones and awareness
    "declared-zone-without-data": case(
        cluster_set(es_data_zones=["az1", "az2", "az3"]),
        "data-zone-without-data",
        "zone az3",
        "es_data_zones",
        also=("replicas-below-zones",),
    ),
    "data-outside-declared-zones": case(
        cluster_set(es_data_zones=["az1"]),
        "data-outside-data-zones",
        "zone az2",
        "es_data_zones",
    ),
    "forced-values-include-tiebreaker-zone": case(
        cluster_set(es_forced_awareness_values=["az1", "az2", "az3"]),
        "forced-values-not-data-zones",
        CLUSTER_WHERE,
        "'az3'",
    ),
    "forced-values-miss-a-data-zone": case(
        cluster_set(es_forced_awareness_values=["az1"]),
        "forced-values-not-data-zones",
        CLUSTER_WHERE,
        "['az1', 'az2']",
    ),
    "replicas-below-zones": case(
        cluster_set(es_index_replicas=0),
        "replicas-below-zones",
        CLUSTER_WHERE,
        "es_index_replicas 0",
    ),
    "replicas-invalid": case(
        cluster_set(es_index_replicas="one"),
        "replicas-invalid",
        CLUSTER_WHERE,
        "'one'",
    ),
    # settings esdr owns
    "owned-node-roles": case(
        cluster_set(es_settings={"node.roles": ["master"]}),
        "owned-setting",
        CLUSTER_WHERE,
        "node.roles",
    ),
    "owned-initial-master-nodes": case(
        cluster_set(es_settings={"cluster.initial_master_nodes": ["m1"]}),
        "owned-setting",
        CLUSTER_WHERE,
        "cluster.initial_master_nodes",
    ),
    "owned-node-attr": case(
        cluster_set(es_settings={"node.attr.rack": "r1"}),
        "owned-setting",
        CLUSTER_WHERE,
        "node.attr.rack",
    ),
    "owned-forced-awareness": case(
        cluster_set(es_settings={"cluster.routing.allocation.awareness.force.zone.values": "az1"}),
        "owned-setting",
        CLUSTER_WHERE,
        "awareness.force.zone.values",
    ),
    "owned-setting-nested": case(
        cluster_set(es_settings={"cluster": {"initial_master_nodes": ["m1"]}}),
        "owned-setting",
        CLUSTER_WHERE,
        "cluster.initial_master_nodes",
    ),
    "owned-security-switch": case(
        cluster_set(es_settings={"xpack.security.enabled": True}),
        "owned-setting",
        CLUSTER_WHERE,
        "xpack.security.enabled",
    ),
    "settings-not-a-mapping": case(
        cluster_set(es_settings=["node.roles"]),
        "settings-not-a-mapping",
        CLUSTER_WHERE,
        "es_settings",
    ),
    # nodes
    "unknown-role": case(
        host_set("d1", es_roles=["data", "dta_hot"]),
        "unknown-role",
        "host d1",
        "'dta_hot'",
    ),
    "unknown-host-key": case(
        host_set("m1", es_heep="2g"),
        "unknown-setting",
        "host m1",
        "es_heep",
    ),
    "duplicate-node-name": case(
        host_set("d2", es_node_name="d1"),
        "duplicate-node-name",
        "host d1",
        "2 hosts",
    ),
    "duplicate-address": case(
        host_set("d2", ssh_hostname="10.0.0.4"),
        "duplicate-address",
        "hosts d1, d2",
        "10.0.0.4",
    ),
    "duplicate-network-host": case(
        host_set("m2", es_network_host="10.0.0.1"),
        "duplicate-address",
        "hosts m1, m2",
        "10.0.0.1",
    ),
    "heap-above-31g": case(
        host_set("d1", es_heap="32g"),
        "heap-above-31g",
        "host d1",
        "32g",
    ),
    "heap-above-half-ram": case(
        host_set("m1", es_heap="9g"),
        "heap-above-half-ram",
        "host m1",
        "16g",
    ),
    "heap-invalid": case(host_set("d1", es_heap="4 GB"), "heap-invalid", "host d1", "'4 GB'"),
    "heap-fractional": case(host_set("d1", es_heap="1.5g"), "heap-invalid", "host d1", "1.5g"),
    "ram-invalid": case(host_set("d1", ram="lots"), "ram-invalid", "host d1", "'lots'"),
    "zone-missing": case(host_unset("d1", "zone"), "zone-missing", "host d1", "zone"),
    "zone-invalid": case(host_set("d1", zone="AZ 1"), "zone-invalid", "host d1", "'AZ 1'"),
    # cluster settings
    "cluster-name-missing": case(
        cluster_set(es_cluster_name=None),
        "cluster-name-missing",
        f"cluster ? ({SOURCE})",
        "es_cluster_name",
    ),
    "version-missing": case(
        cluster_set(es_version=None),
        "version-missing",
        CLUSTER_WHERE,
        "es_version",
    ),
    "unknown-engine": case(
        cluster_set(es_engine="solr"),
        "unknown-engine",
        CLUSTER_WHERE,
        "'solr'",
    ),
    "voting-only-on-opensearch": case(
        cluster_set(es_engine="opensearch", es_elastic_password=None,
                    es_admin_password={"env": "ESDR_T1_ADMIN_PASSWORD"}),
        "voting-only-unsupported",
        "host tb",
        "cluster_manager",
    ),
    "port-clash": case(
        cluster_set(es_transport_port=9200),
        "port-clash",
        CLUSTER_WHERE,
        "9200",
    ),
    "path-repo-relative": case(
        cluster_set(es_path_repo=["snapshots"]),
        "path-repo-relative",
        CLUSTER_WHERE,
        "'snapshots'",
    ),
    "archive-missing": case(
        cluster_set(es_archive_url=None),
        "archive-missing",
        CLUSTER_WHERE,
        "es_archive_url",
    ),
    "archive-url-invalid": case(
        cluster_set(es_archive_url="mirror/es.tar.gz"),
        "archive-url-invalid",
        CLUSTER_WHERE,
        "'mirror/es.tar.gz'",
    ),
    "setting-differs-between-hosts": case(
        host_set("d2", es_version="8.18.0"),
        "cluster-setting-differs",
        CLUSTER_WHERE,
        "es_version",
    ),
    "no-es-hosts": case(
        regroup_all("web"),
        "no-nodes",
        f"cluster ? ({SOURCE})",
        "es_master",
        # hosts outside es_* groups are ignored, their group data with them
        also=("cluster-name-missing", "version-missing", "archive-missing"),
    ),
}


@pytest.mark.parametrize("mutation, rule, where, says, also", CASES.values(), ids=CASES.keys())
def test_one_mutation_one_rule(
    mutation: Mutation, rule: str, where: str, says: str, also: frozenset[str]
) -> None:
    problems = validate(mutated(mutation))

    assert {p.rule for p in errors(problems)} == {rule} | also, [str(p) for p in problems]
    located = [p for p in problems if p.rule == rule and p.where == where]
    assert located, f"no {rule} at {where!r}: {[str(p) for p in problems]}"
    assert all(p.severity == "error" for p in located)
    assert says in located[0].message
    assert where in str(located[0])


def test_the_table_covers_enough_rules() -> None:
    assert len(CASES) >= 24
    assert len({c.rule for c in CASES.values()}) >= 24


@pytest.mark.parametrize(
    "shape", [shape_a, shape_b, shape_c], ids=["tiebreaker", "dedicated", "compact"]
)
def test_valid_shapes_have_no_problem(shape) -> None:
    assert validate(topology(shape)) == []


def test_two_zones_and_a_tiebreaker_zone_loses_no_majority() -> None:
    # (a): losing any one zone leaves 2 of 3 votes, and at least one of them can be elected
    cluster = topology(shape_a).cluster
    for zone in cluster.zones:
        left = [n for n in cluster.master_eligible if n.zone != zone]
        assert len(left) >= 2
        assert any(not n.is_voting_only for n in left)


# --- warnings --------------------------------------------------------------------------------


def test_single_data_zone_is_a_warning() -> None:
    topo = mutated(host_set("d2", zone="az1"))
    problems = validate(topo)
    assert [(p.rule, p.severity) for p in problems] == [("single-data-zone", "warning")]
    assert errors(problems) == []


def test_unbalanced_data_nodes_is_a_warning() -> None:
    topo = mutated(add("d3", ("es_data",), zone="az1", ssh_hostname="10.0.0.6"))
    problems = validate(topo)
    assert [(p.rule, p.severity) for p in problems] == [("data-nodes-not-balanced", "warning")]
    assert "3 data nodes over 2 zones" in problems[0].message
    assert errors(problems) == []


def test_local_archive_is_enough() -> None:
    assert validate(mutated(cluster_set(es_archive_url=None, es_archive_local="/tmp/es.tgz"))) == []


def test_forced_awareness_off_skips_the_awareness_rules() -> None:
    topo = mutated(
        cluster_set(
            es_forced_awareness=False, es_forced_awareness_values=["az9"], es_index_replicas=0
        )
    )
    assert validate(topo) == []


def test_matching_explicit_forced_values_are_fine_in_any_order() -> None:
    assert validate(mutated(cluster_set(es_forced_awareness_values=["az2", "az1"]))) == []


def test_user_settings_esdr_does_not_own_pass() -> None:
    settings = {
        "action.destructive_requires_name": True,
        "indices": {"memory": {"index_buffer_size": "20%"}},
    }
    assert validate(mutated(cluster_set(es_settings=settings))) == []


def test_every_problem_is_reported_at_once() -> None:
    broken = mutated(
        lambda hosts, cluster: (
            cluster.update(es_version=None, es_transport_port=9200),
            data_of(hosts, "d1").update(es_heap="64g"),
        )
    )
    rules = [p.rule for p in validate(broken)]
    assert {"version-missing", "port-clash", "heap-above-31g", "heap-above-half-ram"} <= set(rules)


def test_problem_order_is_stable() -> None:
    def mutation(hosts: list[Host], cluster: dict[str, Any]) -> None:
        cluster.update(es_version=None, es_settings={"node.roles": [], "node.name": "x"})
        data_of(hosts, "d1")["zone"] = "AZ1"

    assert validate(mutated(mutation)) == validate(mutated(mutation))


@pytest.mark.parametrize("mutation", [c.mutation for c in CASES.values()], ids=CASES.keys())
def test_str_names_severity_where_and_rule(mutation: Mutation) -> None:
    problems = validate(mutated(mutation)) + validate(topology(shape_a, es_data_zones=["az1"]))
    assert problems
    for problem in problems:
        text = str(problem)
        assert text.startswith(f"{problem.severity}: {problem.where}: ")
        assert text.endswith(f"[{problem.rule}]")
        assert problem.message in text


def test_problem_str_format() -> None:
    problem = Problem("host x", "some-rule", "what and how", "warning")
    assert str(problem) == "warning: host x: what and how [some-rule]"
    assert Problem("host x", "r", "m").severity == "error"


# --- several data centres ----------------------------------------------------------------------


def _dc(name: str, cluster_name: str, hosts: list[Host] | None = None):
    shape_hosts, cluster = shape_a()
    return build(
        hosts if hosts is not None else shape_hosts,
        {**cluster, "es_cluster_name": cluster_name},
        datacentre=name,
        source=f"inventories/{name}.py",
    )


def _renamed(prefix: str, ip_prefix: str) -> list[Host]:
    hosts, _ = shape_a()
    return [
        (f"{prefix}-{n}", g, {**d, "ssh_hostname": d["ssh_hostname"].replace("10.0.0", ip_prefix)})
        for n, g, d in hosts
    ]


def test_estate_of_disjoint_clusters_is_valid() -> None:
    dc1 = _dc("dc1", "search-dc1", _renamed("dc1", "10.1.0"))
    dc2 = _dc("dc2", "search-dc2", _renamed("dc2", "10.2.0"))
    assert validate_estate([dc1, dc2]) == []


def test_host_in_two_clusters() -> None:
    dc1 = _dc("dc1", "search-dc1", _renamed("dc1", "10.1.0"))
    hosts = _renamed("dc2", "10.2.0")
    hosts[3] = ("dc1-d1", hosts[3][1], {**hosts[3][2], "ssh_hostname": "10.2.0.4"})
    dc2 = _dc("dc2", "search-dc2", hosts)

    problems = validate_estate([dc1, dc2])

    assert [(p.rule, p.where) for p in problems] == [("host-in-two-clusters", "host dc1-d1")]
    assert "search-dc1" in problems[0].message and "search-dc2" in problems[0].message
    assert problems[0].severity == "error"


def test_address_in_two_clusters() -> None:
    dc1 = _dc("dc1", "search-dc1", _renamed("dc1", "10.1.0"))
    dc2 = _dc("dc2", "search-dc2", _renamed("dc2", "10.2.0"))
    hosts = _renamed("dc2", "10.2.0")
    hosts[0][2]["ssh_hostname"] = "10.1.0.1"  # dc2-m1 points at dc1-m1's machine
    dc2 = _dc("dc2", "search-dc2", hosts)

    problems = validate_estate([dc1, dc2])

    assert [(p.rule, p.where) for p in problems] == [("host-in-two-clusters", "host dc2-m1")]
    assert "10.1.0.1" in problems[0].message


def test_host_in_two_clusters_with_the_same_name() -> None:
    # Two data centres may reuse a cluster name; sharing a host is still wrong.
    dc1 = _dc("dc1", "search", _renamed("x", "10.1.0"))
    dc2 = _dc("dc2", "search", _renamed("x", "10.1.0"))

    problems = validate_estate([dc1, dc2])

    assert {p.rule for p in problems} == {"host-in-two-clusters"}
    assert {p.where for p in problems} == {f"host x-{n}" for n in ("m1", "m2", "tb", "d1", "d2")}
    assert "inventories/dc1.py" in problems[0].message
    assert "inventories/dc2.py" in problems[0].message


def test_estate_includes_each_data_centres_problems() -> None:
    dc1 = _dc("dc1", "search-dc1", _renamed("dc1", "10.1.0"))
    dc2 = build(*_with(shape_a, es_version=None), datacentre="dc2", source="inventories/dc2.py")
    problems = validate_estate([dc1, dc2])
    assert [(p.rule, p.where) for p in problems] == [
        ("version-missing", "cluster search-t1 (inventories/dc2.py)")
    ]


def _with(shape, **cluster: Any):
    hosts, base = shape()
    return hosts, {**base, **cluster}


def test_losing_the_zone_of_every_full_master_is_refused_even_with_a_majority_left():
    """Two full masters in az1 and three voting-only ones elsewhere: losing az1 leaves 3 of 5
    votes, a majority, but nobody who can be elected."""

    def mutate(hosts: list[Host], cluster: dict[str, Any]) -> None:
        data_of(hosts, "m2")["zone"] = "az1"
        hosts.append(("tb2", ("es_tiebreaker",), {"zone": "az2", "ssh_hostname": "10.0.0.8"}))
        hosts.append(("tb4", ("es_tiebreaker",), {"zone": "az4", "ssh_hostname": "10.0.0.9"}))

    problems = validate(mutated(mutate))
    rules = {p.rule for p in errors(problems)}
    assert "zone-holds-every-electable-master" in rules
    assert "zone-holds-master-majority" not in rules
    problem = next(p for p in problems if p.rule == "zone-holds-every-electable-master")
    assert problem.where == "zone az1"
