"""The deploy's side of a rolling upgrade, without hosts: what the preflight refuses (and how
it says so) from the versions it read, what the reads mean, and `esdr plan` showing the
upgrade node by node.

The preflight reads every node's running version before any operation is added
(``esdr.tasks.preflight.observe``); ``judged`` turns that into the plan or a ``PyinfraError``
whose text pyinfra prints as the run's one error: what, where (host or cluster), how to fix it,
and that nothing was changed.
"""

from __future__ import annotations

from contextlib import nullcontext
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from pyinfra.api.exceptions import PyinfraError

from esdr.cli import cluster as cluster_cli
from esdr.cli.main import cli
from esdr.reconcile import run
from esdr.tasks import preflight
from esdr.tasks.preflight import Observed, judged
from esdr.upgrade import (
    NOTHING,
    UPGRADE,
    health_problem,
    installed_version,
    node_versions,
    plan_upgrade,
)
from tests.crossdc.fake_es import fake_client
from tests.unit.test_upgrade import _dc
from tests.unit.topo_factory import shape_a, topology

OLD, NEW = "8.18.8", "8.19.21"
NODES = ("m1", "m2", "tb", "d1", "d2")


def _topo(version: str = NEW):
    return topology(shape_a, es_version=version)


def _seen(version: str | None = OLD, health: str | None = "green", stopped=(),
          **others: str | None) -> Observed:
    return Observed({n: others.get(n, version) for n in NODES}, tuple(stopped), "m1", health)


def _refusal(seen: Observed, topo=None, peers=None) -> str:
    with pytest.raises(PyinfraError) as raised:
        judged(topo or _topo(), seen, peers)
    return str(raised.value)


# --- what the preflight refuses, and how it says so --------------------------------------------


def test_a_downgrade_is_refused_before_any_host_changes_naming_the_hosts() -> None:
    text = _refusal(_seen("9.0.0"))
    assert text.startswith("esdr refuses this version change to 8.19.21 (1 problem(s)); "
                           "nothing was changed:")
    assert "error: hosts " in text and "[upgrade-downgrade]" in text
    assert "snapshot" in text  # the way back: a new install and a restore


def test_a_skipped_major_is_refused_with_the_way_through() -> None:
    text = _refusal(_seen("6.8.23"))
    assert "[upgrade-skips-major]" in text and "7.17" in text


def test_a_new_major_from_an_old_minor_is_refused() -> None:
    text = _refusal(_seen("8.17.4"), topo=_topo("9.1.0"))
    assert "[upgrade-from-old-minor]" in text and "8.19" in text


def test_a_new_target_on_a_half_done_upgrade_names_who_runs_what() -> None:
    text = _refusal(_seen(OLD, d1="8.19.0", d2="8.19.0"))
    assert "[upgrade-half-done]" in text
    assert "8.19.0 on d1, d2; 8.18.8 on m1, m2, tb" in text
    assert "Rerun with es_version 8.19.0 to resume" in text


def test_a_node_that_runs_but_does_not_answer_is_unknown_and_refused() -> None:
    text = _refusal(_seen(OLD, d2=None))
    assert "error: host " in text and "[upgrade-version-unknown]" in text
    assert "d2: no version could be read" in text


def test_an_upgrade_from_a_yellow_cluster_is_refused_naming_how_to_see_why() -> None:
    text = _refusal(_seen(OLD, health="yellow"))
    assert "esdr refuses this rolling upgrade to 8.19.21" in text
    assert "error: cluster search-t1: the cluster is yellow" in text
    assert "starts only from a green cluster" in text and "[upgrade-not-green]" in text
    assert "GET _cluster/allocation/explain" in text


def test_a_cluster_that_does_not_answer_is_not_taken_for_green() -> None:
    text = _refusal(_seen(OLD, health=None))
    assert "the cluster is unknown (no master-eligible node answered)" in text


def test_a_leader_upgraded_past_its_follower_is_refused_upgrade_followers_first() -> None:
    text = _refusal(_seen(OLD), topo=_dc("dc1", NEW), peers={"dc2": OLD})
    assert "error: cluster search-dc2:" in text
    assert "[upgrade-follower-older-than-leader]" in text
    assert "upgrade followers first" in text


def test_every_refusal_is_listed_at_once() -> None:
    text = _refusal(_seen(OLD, d1="9.0.0", d2=None))
    assert "[upgrade-downgrade]" in text and "[upgrade-version-unknown]" in text


# --- what the preflight lets through -----------------------------------------------------------


def test_a_green_cluster_behind_es_version_is_upgraded_elected_master_last(capsys) -> None:
    run_ = judged(_topo(), _seen(OLD))
    assert run_.plan.action == UPGRADE
    assert [s.node for s in run_.plan.steps] == ["d1", "d2", "tb", "m2", "m1"]
    assert run_.nodes == set(NODES) and not run_.from_yellow
    assert run_.install_dir.endswith("/elasticsearch-8.19.21")
    assert run_.link.endswith("/current")
    printed = capsys.readouterr().err
    assert "[esdr] cluster search-t1: rolling upgrade to 8.19.21, 5 node(s)" in printed
    assert "~ upgrade m1: 8.18.8 -> 8.19.21 (elected master, last)" in printed


def test_a_resumed_upgrade_may_start_from_yellow_with_the_rest_only() -> None:
    run_ = judged(_topo(), _seen(OLD, health="yellow", d1=NEW))
    assert run_.from_yellow and run_.nodes == {"d2", "tb", "m2", "m1"}


def test_a_node_a_stopped_run_left_down_lets_it_start_from_yellow() -> None:
    run_ = judged(_topo(), _seen(OLD, health="yellow", stopped=("d1",)))
    assert run_.from_yellow and "d1" in run_.nodes


def test_converged_is_nothing_and_moves_no_link() -> None:
    run_ = judged(_topo(), _seen(NEW, health="yellow"))  # health does not matter then
    assert run_.plan.action == NOTHING and run_.nodes == set()


def test_a_fresh_cluster_is_an_install_not_an_upgrade() -> None:
    run_ = judged(_topo(), _seen(None, health=None))
    assert run_.nodes == set()


def test_running_nodes_that_do_not_say_their_version_are_not_taken_for_a_fresh_cluster() -> None:
    """Seen on the lab: every node's version read failed (GET / answered 405 on the
    integ-test-zip), the plan said "install", and 8.17.0 was installed and started over 8.18.6.
    Nodes that run but do not answer, started on another version, refuse the change."""
    silent = Observed({n: None for n in NODES}, (), None, None, NODES,
                      {n: "8.18.6" for n in NODES})
    text = _refusal(silent, _topo("8.17.0"))
    assert "[upgrade-version-unknown]" in text and "nothing was changed" in text
    assert "started on 8.18.6, not 8.17.0" in text
    # the same silent nodes on the version the inventory names: a rerun that fixes them passes
    same = Observed({n: None for n in NODES}, (), None, None, NODES,
                    {n: "8.17.0" for n in NODES})
    assert judged(_topo("8.17.0"), same).nodes == set()


# --- the reads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target, expected", [
    ("/opt/elasticsearch/elasticsearch-8.18.8", "8.18.8"),
    ("/opt/elasticsearch/elasticsearch-8.18.8/", "8.18.8"),
    ("/opt/opensearch/opensearch-2.19.4", None),  # another engine's directory
    ("/opt/elasticsearch/custom", None),
    (None, None),
    ("", None),
])
def test_a_stopped_node_counts_with_its_links_version(target, expected) -> None:
    assert installed_version(target, "elasticsearch") == expected


def test_node_versions_come_from_the_nodes_api() -> None:
    body = {"nodes": {"a": {"name": "d1", "version": OLD}, "b": {"name": "m1", "version": NEW},
                      "c": {"name": "broken"}}}
    assert node_versions(body) == {"d1": OLD, "m1": NEW}
    assert node_versions(None) == {} and node_versions({"nodes": None}) == {}


def test_health_is_only_judged_for_an_upgrade() -> None:
    converged = plan_upgrade(_topo().cluster, {n: NEW for n in NODES})
    assert health_problem(converged, "red") is None


def test_the_version_fact_reads_the_local_node_of_get_nodes() -> None:
    from esdr.facts.elasticsearch import EsVersion

    fact = EsVersion()
    command = fact.command(address="10.0.0.4", port=9200, scheme="https",
                           curl_config="/etc/esdr/es-api.curlrc")
    assert "https://10.0.0.4:9200/_nodes/_local?filter_path=nodes.*.version" in command
    assert "-K /etc/esdr/es-api.curlrc" in command
    assert fact.process(['{"nodes":{"x":{"version":"8.18.8"}}}', "200"]) == "8.18.8"
    assert fact.process(["", "000"]) is None  # no answer
    assert fact.process(['{"error":"x"}', "401"]) is None


def test_the_preflight_reads_once_per_run(monkeypatch) -> None:
    """Every host's deploy asks; the nodes are read once (one greenlet, joined by all)."""
    from esdr.tasks.context import RunContext

    context = RunContext()
    calls: list[str] = []
    monkeypatch.setattr(preflight, "run_context", lambda: context)
    monkeypatch.setattr(preflight, "state", SimpleNamespace(_get_module=lambda: None))
    monkeypatch.setattr(preflight, "ctx_state", SimpleNamespace(use=lambda run: nullcontext()))
    monkeypatch.setattr(preflight, "observe", lambda model: calls.append("read") or _seen(OLD))
    monkeypatch.setattr(preflight, "designed_peers", lambda model: {})
    first = preflight.upgrade(_topo())
    second = preflight.upgrade(_topo())
    assert calls == ["read"] and first is second and first.plan.action == UPGRADE


# --- `esdr plan` ---------------------------------------------------------------------------------


def _planned(monkeypatch, versions: dict[str, Any]) -> tuple[int, list[str]]:
    topo = _topo()
    monkeypatch.setattr(cluster_cli, "topology_of", lambda inventory: topo)
    monkeypatch.setattr(run, "plan_cluster",
                        lambda topology, others=None: run.ClusterPlan("search-t1", "t1"))
    monkeypatch.setattr(run, "plan_version",
                        lambda topology: plan_upgrade(topology.cluster, versions, "m1"))
    from esdr.kafka_io import cluster as kafka_cluster
    monkeypatch.setattr(kafka_cluster, "plan_inventory_topics", lambda topology: [])
    result = CliRunner().invoke(cli, ["plan", "inventories/t1.py"])
    return result.exit_code, result.output.splitlines()


def test_esdr_plan_shows_the_upgrade_node_by_node_as_drift(monkeypatch) -> None:
    code, out = _planned(monkeypatch, {n: OLD for n in NODES})
    assert code == 3
    start = out.index("cluster search-t1: rolling upgrade to 8.19.21, 5 node(s), one at a time "
                      "in this order:")
    assert out[start + 1:start + 6] == [
        "  ~ upgrade d1: 8.18.8 -> 8.19.21",
        "  ~ upgrade d2: 8.18.8 -> 8.19.21",
        "  ~ upgrade tb: 8.18.8 -> 8.19.21",
        "  ~ upgrade m2: 8.18.8 -> 8.19.21",
        "  ~ upgrade m1: 8.18.8 -> 8.19.21 (elected master, last)",
    ]
    assert "drift in 5 object(s)" in out[-1]


def test_esdr_plan_shows_a_refused_version_change_as_errors(monkeypatch) -> None:
    code, out = _planned(monkeypatch, {n: "9.0.0" for n in NODES})
    assert code == 3
    assert "cluster search-t1: version 8.19.21: refused, no host is changed:" in out
    assert any(line.startswith("  error: hosts ") and "[upgrade-downgrade]" in line
               for line in out)
    assert "1 error(s)" in out[-1]


def test_esdr_plan_says_nothing_more_when_every_node_runs_es_version(monkeypatch) -> None:
    code, out = _planned(monkeypatch, {n: NEW for n in NODES})
    assert code == 0 and not any("upgrade" in line or "version" in line for line in out)


def test_plan_version_reads_the_nodes_api_and_the_elected_master() -> None:
    topo = topology(shape_a, es_version=NEW, es_security=False)  # plain HTTP: no CA to read
    es, wire = fake_client([
        ("GET", "/_nodes?filter_path=nodes.*.name,nodes.*.version", None, 200,
         {"nodes": {n: {"name": n, "version": OLD} for n in NODES}}),
        ("GET", "/_cat/master?format=json", None, 200, [{"node": "m2"}]),
    ], topo)
    plan = run.plan_version(topo, es)
    wire.done()
    assert plan.action == UPGRADE
    assert [s.node for s in plan.steps][-1] == "m2"  # the elected master the cluster named


# --- observe: what each node runs, read through its own host --------------------------------------


def test_observe_reads_each_node_and_tells_stopped_from_silent(monkeypatch, capsys) -> None:
    """d1 answers; d2's service is stopped (a run cut short mid-step): it counts with the
    version its link starts; tb runs but does not answer: unknown; m2 has nothing installed."""
    import gevent
    from pyinfra.api import State
    from pyinfra.context import ctx_state
    from pyinfra.facts.files import Link
    from pyinfra.facts.systemd import SystemdStatus

    from esdr.facts.elasticsearch import EsClusterHealth, EsElectedMaster, EsVersion

    topo = _topo()
    answers = {"m1": OLD, "d1": OLD}
    links = {"m1": "/opt/elasticsearch/elasticsearch-8.18.8",
             "d1": "/opt/elasticsearch/elasticsearch-8.18.8",
             "d2": "/opt/elasticsearch/elasticsearch-8.18.8",
             "tb": "/opt/elasticsearch/elasticsearch-8.18.8"}
    running = {"m1": True, "d1": True, "tb": True, "d2": False, "m2": False}

    class Api:
        def __init__(self, name: str):
            self.name = name

        @classmethod
        def for_node(cls, model, node, target):
            return cls(node.name)

        def read(self, fact):
            gevent.sleep(0)  # the nodes are read at once, in greenlets
            if fact is EsVersion:
                return answers.get(self.name)
            if fact is EsClusterHealth:
                return {"status": "green"} if self.name in answers else None
            if fact is EsElectedMaster:
                return "m1"
            raise AssertionError(fact)

    def fact(host_name, cls, **kwargs):
        if cls is SystemdStatus:
            return {"elasticsearch.service": running[host_name]}
        if cls is Link:
            return {"link_target": links[host_name]} if host_name in links else None
        raise AssertionError(cls)

    monkeypatch.setattr(preflight, "NodeApi", Api)
    monkeypatch.setattr(preflight, "fact", fact)
    monkeypatch.setattr(preflight, "inventory", SimpleNamespace(get_host=lambda name: name))
    monkeypatch.setattr(preflight, "ctx_host", SimpleNamespace(use=lambda h: nullcontext()))
    with ctx_state.use(State()):
        seen = preflight.observe(topo)
    assert seen.versions == {"m1": OLD, "m2": None, "tb": None, "d1": OLD, "d2": OLD}
    assert seen.stopped == ("d2",) and seen.silent == ("tb",)
    assert seen.health == "green" and seen.elected == "m1"
    # and so the preflight refuses: tb runs but cannot be read, m2 has nothing installed
    text = _refusal(seen)
    assert "[upgrade-version-unknown]" in text and "m2, tb: no version could be read" in text
    # the two are told apart beside the refusal (warnings, printed before it)
    printed = capsys.readouterr().err
    assert "[esdr] warning: host tb: tb: its service runs but GET / did not answer" in printed
    assert "[esdr] warning: host m2: m2: no elasticsearch is installed (no /opt/" in printed


# --- the install: the new version beside the old one, the link left to the roll -----------------


@pytest.fixture
def install_ops(monkeypatch):
    """``install_elasticsearch`` run bare (without pyinfra's deploy wrapper), every operation
    it would add replaced by its name."""
    from esdr.tasks import install

    monkeypatch.setattr(install, "service_account", lambda user, home: None)
    monkeypatch.setattr(install.known, "directory", lambda *args: None)
    monkeypatch.setattr(install, "fact", lambda host_name, cls, **kw: {
        "writable": False, "value": 262144})
    monkeypatch.setattr(install, "host", SimpleNamespace(name="d1"))
    monkeypatch.setattr(install, "kernel_settings", lambda: None)
    monkeypatch.setattr(install.known, "shows", lambda cls, **kw: False)  # not installed yet
    added: list[str] = []
    monkeypatch.setattr(install.archive, "archive", lambda **kw: added.append(kw["name"]))
    monkeypatch.setattr(install, "install_plugins", lambda topology: ["plugins"])
    monkeypatch.setattr(install.known, "link", lambda name, path, target: f"{path} -> {target}")

    def run(hold_link: bool) -> tuple[list, list[str]]:
        topo = _topo()
        returned = install.install_elasticsearch.__wrapped__(
            topo, topo.cluster.node("d1"), hold_link=hold_link)
        return returned, added

    return run


def test_an_upgrading_node_gets_the_new_version_beside_the_old_and_no_link(install_ops) -> None:
    returned, added = install_ops(hold_link=True)
    assert added == ["Install elasticsearch 8.19.21"]  # into its versioned directory
    assert returned == ["plugins"]  # plugins into the new directory; the link is the roll's


def test_any_other_node_gets_its_link_with_the_install(install_ops) -> None:
    from esdr.render import install_dir, install_link

    returned, _ = install_ops(hold_link=False)
    cluster = _topo().cluster
    assert returned == [f"{install_link(cluster)} -> {install_dir(cluster)}", "plugins"]
    assert install_dir(cluster).endswith("elasticsearch-8.19.21")


def test_the_followers_version_is_its_inventorys_es_version(monkeypatch) -> None:
    dc1, dc2 = _dc("dc1", NEW), _dc("dc2", OLD)
    monkeypatch.setattr(preflight, "project", lambda: SimpleNamespace(topology=dc1))
    monkeypatch.setattr(preflight, "estate_topologies", lambda project: [dc1, dc2])
    assert preflight.designed_peers(dc1) == {"dc2": OLD}
    assert preflight.designed_peers(_topo()) == {}  # no estate: no follower to judge
