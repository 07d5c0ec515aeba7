"""Two OpenSearch 2.19.4 data centres with the replication plugin, for real: deployed, followed,
drifted, drilled, on the package's lab (tests/opensearch_lab/conftest.py: the six hosts of
inventories/lab_os*.py and the gateway tier, whose drills run after these).

Run under the lab lock (one lab session on the machine at a time):
    flock -w 3000 /run/esdr-lab-session.lock python -m pytest -s tests/opensearch_lab
The tests run in file order. They assert correctness; timings (lag, RTO, RPO) are printed.
"""

from __future__ import annotations

import shutil
import time

import pytest

from esdr_lab import replication_drill as drill
from esdr_lab.replication_drill import DC1_INVENTORY as DC1
from esdr_lab.replication_drill import DC2_INVENTORY as DC2
from esdr_lab.replication_drill import ORDERS, ORDERS_WRITE, wait_until
from tests.integration.deploy_runner import REPO
from tests.opensearch_lab.conftest import deploy, status, status_lines

pytestmark = pytest.mark.lab

BULK_DOCS = 10_000
AUTO_FOLLOW_WAIT = 240  # the plugin polls the leader for new indices every 30 s or more


@pytest.fixture(scope="module")
def lab(os_dcs):
    return os_dcs


@pytest.fixture(scope="module")
def os_lab(lab):
    return lab["os"]


def test_deploys_create_followers_and_auto_follow_rules(lab, os_lab):
    second = lab["deploys"][1]
    dc2_lines = "\n".join(second.esdr_lines())
    assert second.returncode == 0, f"the first DC2 deploy failed:\n{dc2_lines}"
    assert "follower_index orders created" in dc2_lines, dc2_lines
    assert "auto_follow logs-from-dc1 created" in dc2_lines, dc2_lines
    dc1, dc2 = os_lab.clients["dc1"], os_lab.clients["dc2"]
    for es, index in ((dc2, ORDERS), (dc2, "events-dc1"), (dc1, "events-dc2")):
        status = wait_until(f"{index} syncing", lambda es=es, index=index: (
            drill.replication_status(es, index) if drill.is_syncing(es, index) else None),
            timeout=180)
        print(f"{index}: {status}")
        assert status["status"] == "SYNCING"
    rules = drill.rest(dc2, "GET", "/_plugins/_replication/autofollow_stats")
    names = [r.get("name") for r in rules.get("autofollow_stats", [])]
    print(f"auto-follow rules in DC2: {names}")
    assert "logs-from-dc1" in names


def test_status_is_ok_on_the_healthy_lab_and_warns_inside_the_certificate_window(tmp_path):
    """Exit 0 on the two converged DCs; exit 1 (WARNING) when the nearest certificate is inside
    the warning window. A fresh lab's certificates are 730 days from expiry and the validation
    rule keeps es_cert_renew_days below es_cert_days, so the window is widened past them with
    ``status_cert_warn_days`` (whose default is that renew window) in a copy of the project.

    ``-t 8``: the default 2.2 s deadline is too short for this 2-core lab, whose node APIs
    answer through SSH tunnels (esdr_lab.replication_drill.seen_in_sync_by_status says more);
    an answer missing its deadline is a WARNING, so exit 0 needs the longer one."""
    code, answer, _ = status([DC1, DC2], timeout=8)
    assert code == 0, status_lines(answer, 1) + status_lines(answer, 2)
    assert answer["verdict"] == "OK"
    project = tmp_path / "project"
    (project / "inventories").mkdir(parents=True)
    for inventory in (DC1, DC2):
        shutil.copy(REPO / inventory, project / inventory)
    shutil.copytree(REPO / "group_data", project / "group_data")
    for group in ("lab_os.py", "lab_os_dc2.py"):
        with open(project / "group_data" / group, "a") as handle:
            handle.write("\nstatus_cert_warn_days = 1000\n")
    code, answer, _ = status([DC1, DC2], timeout=8, cwd=project)
    assert code == 1, answer
    warned = status_lines(answer, 1)
    assert any("certificate" in line for line in warned), warned


def test_10k_documents_bulk_written_to_dc1_appear_in_dc2(os_lab):
    dc1, dc2 = os_lab.clients["dc1"], os_lab.clients["dc2"]
    result = drill.bulk_lag(dc1, dc2, ORDERS, BULK_DOCS)
    print(f"\n[lag] {BULK_DOCS} documents: bulk write {result.write_s:.1f}s, "
          f"then {result.lag_s:.1f}s until all are in DC2")
    # a count is a search: each copy (primary or replica) shows what its last refresh saw,
    # so equality is awaited (bounded); the real-time GETs below are the exact check
    wait_until(f"{BULK_DOCS} documents counted in DC2 on every read",
               lambda: all(drill.count(dc2, ORDERS) == BULK_DOCS for _ in range(4)), timeout=60)
    assert drill.count(dc1, ORDERS) == BULK_DOCS
    assert drill.missing_ids(dc2, ORDERS, [str(n) for n in range(BULK_DOCS)]) == []


def test_new_leader_index_matching_the_rule_is_followed(os_lab):
    dc1, dc2 = os_lab.clients["dc1"], os_lab.clients["dc2"]
    index = "logs-2026.12.01"
    started = time.monotonic()
    drill.bulk_write(dc1, index, 100)
    drill.refresh(dc1, index)
    wait_until(f"{index} auto-followed in DC2", lambda: drill.is_syncing(dc2, index),
               timeout=AUTO_FOLLOW_WAIT, interval=3)
    wait_until(f"100 documents of {index} in DC2", lambda: drill.count(dc2, index) == 100,
               timeout=120)
    print(f"\n[auto-follow] {index} followed with its 100 documents after "
          f"{time.monotonic() - started:.0f}s")


def test_a_write_to_a_follower_is_refused(os_lab):
    dc2 = os_lab.clients["dc2"]
    with pytest.raises(Exception) as refused:
        dc2.index(index=ORDERS, id="not-here", body={"seq": -1})
    print(f"\nwrite to the follower: {refused.value}")
    assert "cross-cluster-replication" in str(refused.value) or "403" in str(refused.value)
    assert drill.missing_ids(dc2, ORDERS, ["not-here"]) == ["not-here"]


NO_FORWARDING = "/etc/ssh/sshd_config.d/00-esdr-test-no-forwarding.conf"
RELOAD_SSHD = "systemctl reload ssh.service 2>/dev/null || systemctl reload sshd.service"


def test_promote_refuses_when_the_leaders_sshd_refuses_forwarding(lab, os_lab):
    """DC1 healthy, but every DC1 host's real sshd says ``AllowTcpForwarding no`` (sshd takes
    the first value it reads, and ``00-`` sorts before the lab's own drop-in): esdr cannot ask
    DC1, and a refused forward is not a lost DC. `esdr promote` without --force refuses, names
    the sshd setting, and DC2's orders still follows."""
    api = lab["api"]
    hosts = [n.host for n in os_lab.dc1.cluster.nodes]
    try:
        for name in hosts:
            done = api.ssh(name, f"printf 'AllowTcpForwarding no\\n' > {NO_FORWARDING} "
                                 f"&& {RELOAD_SSHD}")
            assert done.returncode == 0, (name, done.stdout, done.stderr)
        result = drill.esdr(["promote", DC2, "--index", ORDERS])
        output = result.stdout + result.stderr
        print(f"\n$ esdr promote {DC2} --index {ORDERS} -> exit {result.returncode}\n{output}")
        assert result.returncode != 0, output
        assert "AllowTcpForwarding" in output and "--force" in output, output
        assert "Secsh channel" not in output, output  # said once, by esdr, not by paramiko too
        assert drill.is_syncing(os_lab.clients["dc2"], ORDERS)  # nothing was promoted
    finally:
        for name in hosts:
            api.ssh(name, f"rm -f {NO_FORWARDING}; {RELOAD_SSHD}")
    assert drill.esdr(["plan", DC2]).returncode == 0


def test_bidirectional_alias_reads_both_dcs(os_lab):
    """Each DC writes its own index by name (the alias has no write index: replication copies
    aliases onto followers, so a write flag would reach the other DC as a second one)."""
    dc1, dc2 = os_lab.clients["dc1"], os_lab.clients["dc2"]
    for name, es in (("dc1", dc1), ("dc2", dc2)):
        for n in range(25):
            es.index(index=f"events-{name}", id=f"{name}-{n}", body={"dc": name, "n": n})
        drill.refresh(es, f"events-{name}")
    for name, es in (("dc1", dc1), ("dc2", dc2)):
        wait_until(f"50 events readable in {name} through the alias",
                   lambda es=es: drill.count(es, "events") == 50, timeout=180)
    # counts hit any copy (a follower replica may not be refreshed yet): await them on
    # repeated reads, bounded
    for index in ("events-dc1", "events-dc2"):
        wait_until(f"25 documents of {index} counted in both DCs on every read",
                   lambda index=index: all(drill.count(es, index) == 25
                                           for es in (dc1, dc2, dc1, dc2)), timeout=60)


def test_reruns_change_nothing_and_plan_is_empty(lab):
    topologies = {DC1: lab["os"].dc1, DC2: lab["os"].dc2}
    for inventory in (DC1, DC2):
        rerun = deploy(inventory)
        changed = rerun.changed_operations()
        assert set(changed) == {n.host for n in topologies[inventory].cluster.nodes}
        assert all(ops == [] for ops in changed.values()), changed
    for inventory in (DC1, DC2):
        plan = drill.esdr(["plan", inventory])
        print(plan.stdout, plan.stderr)
        assert plan.returncode == 0, plan.stdout + plan.stderr


def test_replication_rule_deleted_by_hand_is_planned_then_restored(os_lab):
    """An auto-follow replication rule deleted by hand: `esdr plan` names it (exit 3) and a
    rerun of the deploy creates it again."""
    dc2 = os_lab.clients["dc2"]
    rule = {"leader_alias": "dc1", "name": "logs-from-dc1"}
    drill.rest(dc2, "DELETE", "/_plugins/_replication/_autofollow", body=rule)
    plan = drill.esdr(["plan", DC2])
    print(plan.stdout, plan.stderr)
    assert plan.returncode == 3, plan.stdout + plan.stderr
    drifted = [line.strip() for line in plan.stdout.splitlines()
               if line.strip().startswith(("+ ", "~ ", "- "))]
    assert drifted and all("auto_follow logs-from-dc1" in line for line in drifted), drifted
    fixed = deploy(DC2)
    changed = [op for ops in fixed.changed_operations().values() for op in ops]
    assert changed == ["Cluster-level objects converged"], changed
    after = drill.esdr(["plan", DC2])
    assert after.returncode == 0, after.stdout + after.stderr


def test_a_follower_stopped_by_hand_is_named_and_restored_once_removed(os_lab):
    """`_stop` by hand leaves a regular index that may hold writes of its own: esdr names it
    (exit 3) and does not delete it to follow again; once removed, as the note says, a rerun
    follows again and catches up."""
    dc1, dc2 = os_lab.clients["dc1"], os_lab.clients["dc2"]
    index = "events-dc1"  # a follower in DC2; orders stays untouched for the drill
    drill.rest(dc2, "POST", f"/_plugins/_replication/{index}/_stop", body={})
    plan = drill.esdr(["plan", DC2])
    print(plan.stdout, plan.stderr)
    assert plan.returncode == 3, plan.stdout + plan.stderr
    named = [line for line in plan.stdout.splitlines() if f"follower_index {index}" in line]
    assert named and "regular index" in named[0], plan.stdout
    deploy(DC2)
    assert not drill.is_syncing(dc2, index)  # nothing deleted without the operator
    dc2.indices.delete(index=index)
    deploy(DC2)
    wait_until(f"{index} following again", lambda: drill.is_syncing(dc2, index), timeout=180)
    wait_until(f"{index} in DC2 at DC1's count",
               lambda: drill.count(dc2, index) == drill.count(dc1, index), timeout=180)
    after = drill.esdr(["plan", DC2])
    assert after.returncode == 0, after.stdout + after.stderr


DRILL: dict[str, bool] = {}


def test_dc_loss_drill_promote_then_failback(lab, os_lab):
    api = lab["api"]
    # `esdr promote` detaches DC2's link to the unreachable DC1 itself (the plugin's _stop
    # otherwise waits on the black-holed connections) and `esdr failback` restores it
    result, writer = drill.dc_loss(os_lab, api.stop_hosts, say=print)
    assert result.acked_dc1 > 0
    assert result.acked_dc2 > 0, f"no write acknowledged by DC2 ({writer.last_error})"
    dc2 = os_lab.clients["dc2"]
    # every write DC2 acknowledged through the alias is in DC2's promoted orders
    assert drill.missing_ids(dc2, ORDERS, [a.id for a in writer.acked("dc2")]) == []
    # promote's report: a window from the in-sync record `esdr status` wrote before the loss,
    # holding every acknowledged write DC2 lacks (it may over-state, never under-state); the
    # pair line of DC2's follower, which ends "(seen now; recorded)" once a run recorded it
    assert "follower dc2:orders active" in result.in_sync_seen, result.in_sync_seen
    assert result.in_sync_seen.endswith("(seen now; recorded)"), result.in_sync_seen
    assert result.window["since"] is not None, result.window
    assert result.window["uncovered"] == [], result.window
    alias = dc2.indices.get_alias(name=ORDERS_WRITE)
    assert alias[ORDERS]["aliases"][ORDERS_WRITE].get("is_write_index") is True, alias
    drill.failback(os_lab, result, writer, api.start_hosts, say=print,
                   before_failback=_after_promote_both_dcs_plan_clean_and_deploy_nothing,
                   after_failback=_after_failback_a_deploy_of_both_dcs_changes_nothing)
    counts = result.counts_after_failback
    assert counts["dc1"] == counts["dc2"], counts
    # salvage: every write DC1 acknowledged is in DC2, in orders or in the side index, id by id
    salvage = result.salvage
    print(f"[salvage] {salvage}")
    assert salvage["lost"] == [], salvage
    assert salvage["rpo_recovered"] == result.rpo_documents, salvage
    assert salvage["in_live"] + salvage["in_side_only"] == result.acked_dc1, salvage
    assert result.writes_back_on_dc1 > 0
    DRILL["done"] = True


def _after_promote_both_dcs_plan_clean_and_deploy_nothing() -> None:
    """DC1 is back, nothing failed back yet, the estate untouched: `esdr plan` on both DCs
    exits 0 naming dc2 (recorded by promote; DC1 reads it from DC2's registry and is told to
    fail back), and a deploy of each changes nothing (DC1's copy is not touched)."""
    for inventory in (DC1, DC2):
        drill.plan_names_active(inventory, "dc2", "promote", print)
    # `esdr status` names the promoted DC as the active side of the orders pair
    _, answer, _ = status([DC2], timeout=8)
    pairs = [line for table in answer.get("tables") or [] for line in table.get("lines") or []
             if line.get("pair") and line.get("index") == ORDERS]
    assert pairs and all(line.get("active_side") == "dc2" for line in pairs), pairs
    assert all(f"active side: {ORDERS} → dc2 (" in str(line.get("value"))
               for line in pairs), pairs
    for inventory in (DC1, DC2):
        run = deploy(inventory)
        changed = run.changed_operations()
        assert all(ops == [] for ops in changed.values()), (changed, run.esdr_lines())


def _after_failback_a_deploy_of_both_dcs_changes_nothing() -> None:
    """Failed back (DC1's orders follows DC2's, recorded by failback; both plans named dc2
    already), the estate untouched: a deploy of each DC changes nothing."""
    for inventory in (DC1, DC2):
        run = deploy(inventory)
        changed = run.changed_operations()
        assert all(ops == [] for ops in changed.values()), (changed, run.esdr_lines())


def test_after_failback_a_deploy_converges_the_estate_again(os_lab):
    """After promote, failback (which resumed events-dc1 in DC2, paused by the plugin while
    DC1 was away) and switchover, with the estate untouched: the first deploy of each DC
    changes nothing."""
    if not DRILL.get("done"):
        pytest.skip("the drill did not complete (see its failure): DC1 may still be down")
    for inventory in (DC1, DC2):
        run = deploy(inventory)
        changed = run.changed_operations()
        assert all(ops == [] for ops in changed.values()), (changed, run.esdr_lines())
    for inventory in (DC1, DC2):
        plan = drill.esdr(["plan", inventory])
        print(plan.stdout, plan.stderr)
        assert plan.returncode == 0, plan.stdout + plan.stderr
        # back on DC1 by `esdr switchover`, recorded as such; the estate was never edited
        assert f"active side: {ORDERS} → dc1 (recorded by switchover" in plan.stdout, plan.stdout
