"""The Kafka pipelines' own users (esdr.reconcile.pipeline_user) planned and applied through the
real clients against the fake cluster, for both engines: created with a role that writes to the
pipeline's target alone and a password from the estate's secrets directory, no drift on the
rerun, a role or password changed shows and is put back, a dropped pipeline's user deleted only
with the switch, and the password never in a plan line."""

from __future__ import annotations

import copy
import os
import stat

import pytest

from esdr.kafka import search_user
from esdr.model import HostSpec, topology_from_hosts
from esdr.reconcile import pipeline_user, run
from esdr.security import store
from tests.reconcile.conftest import cluster_for

KAFKA = {
    "kafka_clusters": {"kafka-dc1": {
        "lab": True, "tls": {"enabled": False},
        "controllers": {"k1": {"zone": "az1", "node_id": 1, "address": "10.0.1.11"}},
        "brokers": {"k1": {"zone": "az1", "node_id": 1, "address": "10.0.1.11"}},
        "topics": {"orders": {"partitions": 3}, "orders.dlq": {"partitions": 1}}}},
    "search_clusters": {
        # this DC, by its estate alias, without credentials: esdr keeps the pipeline's user
        "dc2": {"engine": "elasticsearch", "hosts": ["https://10.0.2.1:9200"],
                "pipeline_hosts": ["k1"]},
        # another DC, by its cluster name: not this cluster's business
        "t-dc1": {"engine": "elasticsearch", "hosts": ["https://10.0.1.1:9200"],
                  "pipeline_hosts": ["k1"]},
    },
    "pipelines": {"orders": {"kafka_cluster": "kafka-dc1", "topics": ["orders"],
                             "target": "orders", "clusters": ["dc2", "t-dc1"],
                             "dead_letter_topic": "orders.dlq"}},
}
IDENT = "esdr-orders-dc2"


def _topology(tmp_path, kafka=KAFKA, engine: str = "elasticsearch"):
    # the two DCs and nothing else of a cross-DC design: only the pipeline users to plan
    estate = {"_source": "estates/t.yml",
              "clusters": {"dc1": {"cluster_name": "t-dc1", "seeds": ["10.0.1.4:9300"]},
                           "dc2": {"cluster_name": "t-dc2", "seeds": ["10.0.2.4:9300"]}},
              "kafka": copy.deepcopy(kafka)}
    version = "2.19.4" if engine == "opensearch" else "8.19.21"
    hosts = [HostSpec(f"n{i}", ("es_master", "es_data", "es_remote_cluster_client"),
                      {"zone": f"az{i}", "ssh_hostname": f"10.0.2.{i}",
                       "es_cluster_name": "t-dc2", "es_version": version, "es_engine": engine,
                       "es_security": False, "es_lab": True, "es_estate": estate})
             for i in (1, 2)]
    return topology_from_hosts("dc2", hosts)


@pytest.fixture(autouse=True)
def security_on(monkeypatch, tmp_path):
    """The fake speaks plain HTTP, so the topologies have security off (and no CA); the users
    are planned only with it on, their passwords in a secrets directory of the test's own."""
    monkeypatch.setattr(run, "security_enabled", lambda cluster: True)
    monkeypatch.setattr(run.store, "secrets_dir", lambda cluster: tmp_path / "secrets")


def _ours(plan: run.ClusterPlan) -> list:
    return [c for c in plan.changes if c.kind == pipeline_user.KIND]


def _secret_path(tmp_path):
    return tmp_path / "secrets" / search_user.password_name(IDENT)


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
def test_the_pipeline_gets_its_own_user_and_role_once(tmp_path, wire, engine) -> None:
    topo = _topology(tmp_path, engine=engine)
    cluster = cluster_for(wire, topo)
    plan = run.plan_cluster(topo)
    [change] = _ours(plan)
    assert (change.name, change.action) == (IDENT, "created")  # t-dc1's is not planned here
    assert cluster.writes() == []  # the plan only reads
    assert not _secret_path(tmp_path).exists()  # nor does it generate the password

    run.apply_plan(topo, plan, allow_destructive=False)
    password = _secret_path(tmp_path).read_text().rstrip("\n")
    assert stat.S_IMODE(os.stat(_secret_path(tmp_path)).st_mode) == 0o600
    assert cluster.passwords == {IDENT: password} and len(password) >= 32
    role, user = cluster.roles[IDENT], cluster.users[IDENT]
    if engine == "elasticsearch":
        assert role["cluster"] == ["monitor"]
        assert [(p["names"], p["privileges"]) for p in role["indices"]] == [
            (["orders"], ["create_index", "index"])]
        assert user["roles"] == [IDENT] and user["enabled"] is True
        marker = user["metadata"][search_user.MARKER_FIELD]
    else:
        assert role["cluster_permissions"] == ["cluster_monitor", "indices:data/write/bulk"]
        assert [(p["index_patterns"], p["allowed_actions"])
                for p in role["index_permissions"]] == [(["orders"], ["create_index", "index"])]
        assert user["opendistro_security_roles"] == [IDENT] and user["backend_roles"] == []
        marker = user["attributes"][search_user.MARKER_FIELD]
    assert password not in marker and len(marker) == 64
    assert cluster.registry()["pipeline_user"] == [IDENT]
    # the rerun: nothing to do, nothing written
    cluster.requests.clear()
    again = run.plan_cluster(topo)
    assert [c.action for c in _ours(again)] == ["unchanged"] and not again.needs_write
    assert cluster.writes() == []


def test_a_password_never_shows_in_the_plan_lines(tmp_path, wire) -> None:
    topo = _topology(tmp_path)
    cluster_for(wire, topo)
    run.apply_plan(topo, run.plan_cluster(topo))
    password = _secret_path(tmp_path).read_text().rstrip("\n")
    _secret_path(tmp_path).write_text("another-password-0123456789abcdef\n")  # rotated by hand
    plan = run.plan_cluster(topo)
    [change] = _ours(plan)
    assert change.action == "changed"
    text = "\n".join(run.plan_lines(plan, verbose=True))
    assert password not in text and "another-password" not in text


def test_a_role_widened_by_hand_or_a_new_password_is_drift_and_put_back(tmp_path, wire) -> None:
    topo = _topology(tmp_path)
    cluster = cluster_for(wire, topo)
    run.apply_plan(topo, run.plan_cluster(topo))
    cluster.roles[IDENT]["indices"][0]["names"] = ["*"]
    cluster.roles[IDENT]["indices"][0]["privileges"] = ["all"]
    [change] = _ours(run.plan_cluster(topo))
    assert change.action == "changed"
    run.apply_plan(topo, run.plan_cluster(topo))
    assert [p["names"] for p in cluster.roles[IDENT]["indices"]] == [["orders"]]
    # a password generated anew (the file removed): the user is set with the new one
    _secret_path(tmp_path).unlink()
    [change] = _ours(run.plan_cluster(topo))
    assert change.action == "changed"
    run.apply_plan(topo, run.plan_cluster(topo))
    assert cluster.passwords[IDENT] == _secret_path(tmp_path).read_text().rstrip("\n")
    assert [c.action for c in _ours(run.plan_cluster(topo))] == ["unchanged"]


def test_a_dropped_pipeline_loses_its_user_only_with_the_switch(tmp_path, wire) -> None:
    topo = _topology(tmp_path)
    cluster = cluster_for(wire, topo)
    run.apply_plan(topo, run.plan_cluster(topo))
    section = copy.deepcopy(KAFKA)
    section["pipelines"]["orders"]["clusters"] = ["t-dc1"]
    section["search_clusters"]["dc2"]["pipeline_hosts"] = []
    dropped = _topology(tmp_path, section)
    [change] = _ours(run.plan_cluster(dropped))
    assert (change.action, change.destructive) == ("deleted", True)
    _, skipped, _ = run.apply_plan(dropped, run.plan_cluster(dropped), allow_destructive=False)
    assert [n.name for n in skipped] == [IDENT] and IDENT in cluster.users
    run.apply_plan(dropped, run.plan_cluster(dropped), allow_destructive=True)
    assert IDENT not in cluster.users and IDENT not in cluster.roles
    assert cluster.registry()["pipeline_user"] == []


def test_a_user_of_that_name_esdr_did_not_make_is_left_when_the_estate_has_none(
        tmp_path, wire) -> None:
    section = copy.deepcopy(KAFKA)
    section["pipelines"]["orders"]["clusters"] = ["t-dc1"]
    section["search_clusters"]["dc2"]["pipeline_hosts"] = []
    topo = _topology(tmp_path, section)
    cluster = cluster_for(wire, topo)
    cluster.users[IDENT] = {"username": IDENT, "roles": ["superuser"], "metadata": {},
                            "enabled": True}
    assert _ours(run.plan_cluster(topo)) == []  # not recorded as esdr's: never planned


def test_credentials_in_the_estate_mean_esdr_keeps_no_user(tmp_path, wire) -> None:
    section = copy.deepcopy(KAFKA)
    section["search_clusters"]["dc2"].update(user="admin", password_variable="PIPE_PASSWORD")
    topo = _topology(tmp_path, section)
    cluster_for(wire, topo)
    assert _ours(run.plan_cluster(topo)) == []


def test_the_deploy_sets_the_password_its_pipeline_hosts_staged(tmp_path, wire) -> None:
    """In one deploy the pipeline hosts' part generates the password while it is prepared
    (staged); the cluster-level step, which executes first, must set the user with that one
    and store it, so the later store of the staging finds it there already."""
    topo = _topology(tmp_path)
    cluster = cluster_for(wire, topo)
    directory = tmp_path / "secrets"
    staged = store.Staged()
    made = store.generated_password(directory, search_user.password_name(IDENT), staged)
    assert not _secret_path(tmp_path).exists()
    plan = run.plan_cluster(topo, staged=staged)
    run.apply_plan(topo, plan)
    assert cluster.passwords[IDENT] == made
    assert _secret_path(tmp_path).read_text() == made + "\n"
    store.write_staged(staged)  # the pipeline part's store: no conflict, nothing new
    assert [c.action for c in _ours(run.plan_cluster(topo))] == ["unchanged"]
