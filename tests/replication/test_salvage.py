"""Salvage on failback (esdr.runbooks.salvage): which documents of the old leader are kept, and
the failback that keeps them before it deletes the old leader's index, checked id by id.

The selection is pure and tested on its own; the runbook runs against two in-memory clusters
behind ``esdr.es.client.request`` (the one function every endpoint goes through), which answer
the REST calls salvage makes as both engines document them: scroll with ``preference=_shards:<n>``
and a ``range`` on ``_seq_no``, ``_mget``, ``_bulk`` ``create`` (409 when the id exists).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from esdr.cli.main import cli
from esdr.errors import EsdrError
from esdr.es import client
from esdr.replication.ccr import CcrReplication
from esdr.replication.opensearch import OpenSearchReplication
from esdr.runbooks import failback, salvage
from esdr.runbooks.salvage import OldDoc

AT = datetime(2026, 12, 5, 17, 30, tzinfo=timezone.utc)
SIDE = "orders-salvaged-20261205t173000z"


def doc(id_: str, shard: int, seq_no: int, **source: Any) -> OldDoc:
    return OldDoc(id_, shard, seq_no, 1, source or {"v": id_})


# --- the selection (pure) ---------------------------------------------------------------------
def test_only_documents_above_their_own_shards_checkpoint_are_considered():
    old = [doc("a", 0, 5), doc("b", 0, 6), doc("c", 1, 2), doc("d", 1, 3)]
    chosen = salvage.select(old, {0: 5, 1: 2}, {"b": None, "d": None})
    # seq_no is per shard: shard 1's 3 is above its 2, shard 0's 5 is not above its 5
    assert [d.id for d in chosen.missing] == ["b", "d"]
    assert chosen.read == 2 and chosen.conflicts == [] and chosen.unchanged == 0


def test_missing_identical_and_different_documents_are_told_apart():
    old = [doc("same", 0, 11, v=1), doc("gone", 0, 12, v=2), doc("both", 0, 13, v=3),
           doc("old", 0, 4, v=9)]
    new = {"same": {"v": 1}, "gone": None, "both": {"v": 30}}
    chosen = salvage.select(old, {0: 10}, new)
    assert [d.id for d in chosen.missing] == ["gone"]
    assert [d.id for d in chosen.conflicts] == ["both"]
    assert chosen.unchanged == 1 and chosen.read == 3
    assert [d.id for d in chosen.kept] == ["gone", "both"]


def test_a_shard_without_checkpoint_is_compared_by_id_whole():
    old = [doc("a", 0, 1, v=1), doc("b", 1, 1, v=2), doc("c", 1, 2, v=3)]
    chosen = salvage.select(old, {0: 5}, {"b": {"v": 2}, "c": None})
    assert [d.id for d in chosen.missing] == ["c"] and chosen.unchanged == 1


@pytest.mark.parametrize("recorded,summed,shards,expected", [
    ({"0": 7, "1": 3}, 10, 2, {0: 7, 1: 3}),
    (None, 10, 1, {0: 10}),  # one shard: the summed checkpoint is that shard's
    ({}, 10, 2, {}),  # summed over two shards says nothing of either
    (None, None, 1, {}),
    ({"0": 7, "x": 1, "5": 2, "1": "3"}, None, 2, {0: 7}),  # only shards the index has
])
def test_checkpoints_recorded_per_shard_else_the_sum_of_a_single_shard(
        recorded, summed, shards, expected):
    assert salvage.shard_checkpoints(recorded, summed, shards) == expected


def test_promote_keeps_the_lowest_global_checkpoint_of_each_shards_copies():
    stats = {"indices": {"orders": {"shards": {
        "0": [{"seq_no": {"global_checkpoint": 9}}, {"seq_no": {"global_checkpoint": 8}}],
        "1": [{"seq_no": {"global_checkpoint": 4}}]}}}}
    assert salvage.checkpoints_from_stats(stats, "orders") == {"0": 8, "1": 4}
    assert salvage.checkpoints_from_stats({"indices": {}}, "orders") is None
    assert salvage.checkpoints_from_stats(
        {"indices": {"orders": {"shards": {"0": [{"seq_no": {}}]}}}}, "orders") is None


def test_side_index_name_and_document():
    assert salvage.side_index_name("orders", AT) == SIDE
    body = salvage.side_document(OldDoc("x", 1, 42, 3, {"v": 1}), "dc1", "orders", True)
    assert body == {"v": 1, "esdr_salvage": {"cluster": "dc1", "index": "orders", "shard": 1,
                                             "seq_no": 42, "primary_term": 3, "conflict": True}}
    mappings = salvage.side_mappings({"dynamic": "strict", "properties": {"v": {"type": "long"}}})
    assert mappings["dynamic"] == "strict" and mappings["properties"]["v"] == {"type": "long"}
    assert "seq_no" in mappings["properties"]["esdr_salvage"]["properties"]


def test_a_long_conflict_list_is_bounded():
    assert salvage.listed([f"i{n}" for n in range(12)]).endswith("i9, … (+2 more)")


# --- the runbook against two in-memory clusters ------------------------------------------------
class Memory:
    """One cluster: index -> {"shards": n, "docs": {id: (shard, seq_no, source)}, "mappings"}."""

    def __init__(self, name: str):
        self.name = name
        self.indices: dict[str, dict[str, Any]] = {}
        self.log: list[str] = []
        self.scrolls: dict[str, list[dict[str, Any]]] = {}
        self.registry: dict[str, Any] | None = None

    def add(self, index: str, shards: int, docs: dict[str, tuple[int, int, dict]]) -> None:
        self.indices[index] = {"shards": shards, "docs": dict(docs),
                               "mappings": {"properties": {"v": {"type": "long"}}}}

    def sources(self, index: str) -> dict[str, dict]:
        return {i: d[2] for i, d in self.indices[index]["docs"].items()}

    def writes(self) -> list[str]:
        return [line for line in self.log if not line.startswith(("GET", "HEAD"))
                and "/_search" not in line and "_refresh" not in line and "_mget" not in line
                and "_count" not in line]

    def __call__(self, method: str, url: str, params: dict | None, body: Any) -> Any:
        params = params or {}
        self.log.append(f"{method} {url}")
        parts = [unquote(p) for p in url.strip("/").split("/")]
        if parts[0] == "esdr-managed":
            return self.registry_api(method, parts, body)
        if url == "/_bulk":
            return self.bulk(body)
        if parts[:2] == ["_search", "scroll"]:
            if method == "DELETE":
                return {"succeeded": True}
            return self.page(body["scroll_id"])
        name, rest = parts[0], parts[1:]
        index = self.indices.get(name)
        if method == "PUT" and not rest:
            if index is not None:
                raise _error(400, "resource_already_exists_exception")
            self.indices[name] = {"shards": 1, "docs": {},
                                  "mappings": body.get("mappings", {}), "settings": body}
            return {"acknowledged": True}
        if index is None:
            if method == "HEAD":
                return False
            raise _error(404, "index_not_found_exception")
        if method == "HEAD":
            return True
        if method == "DELETE" and not rest:
            del self.indices[name]
            return {"acknowledged": True}
        action = rest[0]
        if action == "_count":
            return {"count": len(index["docs"])}
        if action == "_refresh":
            return {}
        if action == "_settings":
            return {name: {"settings": {"index.number_of_shards": str(index["shards"])}}}
        if action == "_mapping":
            return {name: {"mappings": index["mappings"]}}
        if action == "_mget":
            return {"docs": [self.get(name, d["_id"]) for d in body["docs"]]}
        if action == "_search":
            return self.search(name, params, body)
        raise AssertionError(f"{self.name}: unexpected {method} {url}")

    def registry_api(self, method: str, parts: list[str], body: Any) -> Any:
        if method == "HEAD":
            return True
        if method == "GET":
            if self.registry is None:
                raise _error(404, "not_found")
            return {"found": True, "_source": copy.deepcopy(self.registry)}
        self.registry = copy.deepcopy(body)
        return {"result": "updated"}

    def get(self, index: str, id_: str) -> dict[str, Any]:
        found = self.indices[index]["docs"].get(id_)
        if found is None:
            return {"_index": index, "_id": id_, "found": False}
        return {"_index": index, "_id": id_, "found": True, "_seq_no": found[1],
                "_primary_term": 1, "_source": copy.deepcopy(found[2])}

    def search(self, index: str, params: dict, body: dict) -> dict[str, Any]:
        assert body["seq_no_primary_term"] is True and body["sort"] == ["_doc"]
        shard = int(params["preference"].removeprefix("_shards:"))
        above = ((body["query"].get("range") or {}).get("_seq_no") or {}).get("gt", -1)
        hits = [{"_index": index, "_id": i, "_seq_no": s, "_primary_term": 1,
                 "_source": copy.deepcopy(src)}
                for i, (sh, s, src) in sorted(self.indices[index]["docs"].items())
                if sh == shard and s > above]
        scroll_id = f"scroll-{len(self.scrolls)}"
        self.scrolls[scroll_id] = hits
        self.scrolls[scroll_id + "/size"] = body["size"]  # type: ignore[assignment]
        return self.page(scroll_id)

    def page(self, scroll_id: str) -> dict[str, Any]:
        size = self.scrolls[scroll_id + "/size"]
        hits, self.scrolls[scroll_id] = self.scrolls[scroll_id][:size], \
            self.scrolls[scroll_id][size:]
        return {"_scroll_id": scroll_id, "hits": {"hits": hits}}

    def bulk(self, text: str) -> dict[str, Any]:
        lines = [json.loads(line) for line in text.splitlines()]
        assert text.endswith("\n")
        items = []
        for action, source in zip(lines[::2], lines[1::2]):
            (op, meta), = action.items()
            assert op == "create"
            docs = self.indices[meta["_index"]]["docs"]
            if meta["_id"] in docs:
                items.append({"create": {"_id": meta["_id"], "status": 409,
                                         "error": {"type": "version_conflict_engine_exception"}}})
            else:
                docs[meta["_id"]] = (0, 1000 + len(docs), source)
                items.append({"create": {"_id": meta["_id"], "status": 201}})
        return {"errors": any(i["create"]["status"] != 201 for i in items), "items": items}


def _error(status: int, kind: str) -> Exception:
    import opensearchpy

    # as the client raises them (opensearchpy.exceptions.HTTP_EXCEPTIONS: 404 is NotFoundError)
    kind_of = opensearchpy.NotFoundError if status == 404 else opensearchpy.TransportError
    return kind_of(status, kind, {"error": {"type": kind, "reason": kind}})


@pytest.fixture
def lab(monkeypatch):
    """DC1 (the returned old leader, two shards) and DC2 (the promoted copy), promoted with
    checkpoints 2 (shard 0) and 1 (shard 1)."""
    dc1, dc2 = Memory("dc1"), Memory("dc2")
    dc1.add("orders", 2, {
        "a": (0, 1, {"v": 1}), "b": (0, 2, {"v": 2}),  # replicated before the promotion
        "c": (0, 3, {"v": 3}),  # above the checkpoint, but it arrived all the same
        "d": (0, 4, {"v": 4}),  # DC2 wrote d since: a conflict
        "e": (1, 1, {"v": 5}),
        "f": (1, 2, {"v": 6}), "h": (1, 3, {"v": 8}),  # acknowledged by DC1 only
    })
    dc2.add("orders", 2, {"a": (0, 1, {"v": 1}), "b": (0, 2, {"v": 2}), "c": (0, 3, {"v": 3}),
                          "d": (0, 9, {"v": 40}), "e": (1, 1, {"v": 5}),
                          "g": (1, 5, {"v": 7})})  # g: written in DC2 since the promotion
    dc2.registry = {"promoted": {"orders": {
        "remote": "dc1", "leader_index": "orders", "follower_checkpoint": 3,
        "shard_checkpoints": {"0": 2, "1": 1}}}}
    clusters = {"dc1": dc1, "dc2": dc2}

    def request(api, method, url, *, params=None, body=None, request_timeout=None):
        return clusters[api](method, url, params, body)

    monkeypatch.setattr(client, "request", request)
    # the replication step `follow` of the returning DC is the engine's; recorded, not run
    for engine in (OpenSearchReplication, CcrReplication):
        monkeypatch.setattr(engine, "follow",
                            lambda self, index, remote, leader: clusters[self.es].log.append(
                                f"follow {index} {remote}:{leader}"))
    return clusters


def run(lab, mode: str | None, *, dry: bool = False, allow_delete: bool = True,
        engine: type = OpenSearchReplication) -> list[str]:
    said: list[str] = []
    promoted = [failback.Promoted.from_registry("dc2", index, entry) for index, entry in
                sorted(lab["dc2"].registry["promoted"].items())]
    failback.failback({"dc1": engine("dc1"), "dc2": engine("dc2")},
                      promoted, "reverse", allow_delete=allow_delete, dry=dry, say=said.append,
                      salvage=mode, now=lambda: AT)
    return said


@pytest.mark.parametrize("engine", [OpenSearchReplication, CcrReplication])
def test_failback_salvages_into_a_side_index_before_deleting_the_old_leader(lab, engine):
    """One code path for both engines: salvage speaks only the generic APIs."""
    dc1, dc2 = lab["dc1"], lab["dc2"]
    said = run(lab, "side", engine=engine)
    side = dc2.indices[SIDE]["docs"]
    # f and h reached only DC1; d was written on both sides (DC2's copy stays as it is)
    assert sorted(side) == ["d", "f", "h"]
    assert side["f"][2] == {"v": 6, "esdr_salvage": {
        "cluster": "dc1", "index": "orders", "shard": 1, "seq_no": 2, "primary_term": 1,
        "conflict": False}}
    assert side["d"][2]["esdr_salvage"]["conflict"] is True
    assert dc2.sources("orders")["d"] == {"v": 40}  # nothing in the live index overwritten
    assert f"salvaged 3 document(s) from dc1:orders into dc2:{SIDE}; 1 differ from " \
           "dc2:orders's copy: d" in said
    assert any("selected by _seq_no above the checkpoint recorded at promotion (shard 0: 2, "
               "shard 1: 1)" in line for line in said)
    # only documents above each shard's checkpoint were read: c, d, f, h (not a, b, e)
    assert any("4 document(s) read, 1 identical in dc2:orders, 2 missing there, 1 different"
               in line for line in said)
    assert "DELETE /orders" in dc1.log and "orders" not in dc1.indices
    assert dc2.registry["promoted"] == {}  # forgotten once done
    # the follower it made on DC1 recorded as esdr's: the next deploy of DC1 writes nothing
    assert dc1.registry["follower_index"] == ["orders"]


def test_salvage_runs_before_the_delete(lab, monkeypatch):
    events: list[str] = []
    original, orig_delete = salvage.salvage, client.delete_index

    def spy(*args, **kwargs):
        events.append("salvage")
        return original(*args, **kwargs)

    def delete(es, index):
        events.append(f"delete {es}:{index}")
        return orig_delete(es, index)

    monkeypatch.setattr(salvage, "salvage", spy)
    monkeypatch.setattr(client, "delete_index", delete)
    run(lab, "side")
    assert events == ["salvage", "delete dc1:orders"]


def test_live_creates_what_dc2_lacks_and_keeps_the_conflicts_out(lab):
    dc2 = lab["dc2"]
    said = run(lab, "live")
    live = dc2.sources("orders")
    assert live["f"] == {"v": 6} and live["h"] == {"v": 8}  # created, no esdr fields
    assert live["d"] == {"v": 40} and live["g"] == {"v": 7}  # DC2's writes untouched
    assert "salvaged into dc2:orders from dc1:orders: 2 created, 1 conflict(s) kept out: d" in said
    # the conflicting version is not lost: it is in the side index
    assert sorted(dc2.indices[SIDE]["docs"]) == ["d"]


def test_every_id_acknowledged_by_dc1_only_is_in_dc2_after_failback(lab):
    """What the lab drill checks, here by ids: each id DC1 held is in DC2's live or side
    index, and no DC2 write was overwritten."""
    held_by_dc1 = set(lab["dc1"].sources("orders"))
    run(lab, "side")
    dc2 = lab["dc2"]
    assert held_by_dc1 <= set(dc2.sources("orders")) | set(dc2.indices[SIDE]["docs"])


DELETE = client.delete_index


def interrupt(monkeypatch) -> None:
    def fail(es, index):
        raise EsdrError("interrupted")

    monkeypatch.setattr(client, "delete_index", fail)


def test_a_rerun_after_an_interruption_neither_duplicates_nor_loses(lab, monkeypatch):
    dc2 = lab["dc2"]
    # the first run stops after the salvage: the old leader's delete fails
    interrupt(monkeypatch)
    with pytest.raises(EsdrError, match="interrupted"):
        run(lab, "side")
    assert dc2.registry["promoted"]["orders"]["salvage_index"] == SIDE
    first = copy.deepcopy(dc2.indices[SIDE]["docs"])
    monkeypatch.setattr(client, "delete_index", DELETE)
    later = datetime(2026, 12, 5, 18, 0, tzinfo=timezone.utc)
    promoted = [failback.Promoted.from_registry("dc2", "orders",
                                                dc2.registry["promoted"]["orders"])]
    said: list[str] = []
    failback.failback({"dc1": OpenSearchReplication("dc1"), "dc2": OpenSearchReplication("dc2")},
                      promoted, "reverse", allow_delete=True, dry=False, say=said.append,
                      salvage="side", now=lambda: later)
    assert dc2.indices[SIDE]["docs"] == first  # the same side index, nothing twice
    assert not any(name.startswith("orders-salvaged-20261205t1800") for name in dc2.indices)
    assert (f"salvaged 3 document(s) from dc1:orders into dc2:{SIDE} (3 already there from "
            "an earlier run); 1 differ from dc2:orders's copy: d") in said


def test_live_rerun_creates_nothing_twice(lab, monkeypatch):
    dc2 = lab["dc2"]
    interrupt(monkeypatch)
    with pytest.raises(EsdrError):
        run(lab, "live")
    monkeypatch.setattr(client, "delete_index", DELETE)
    before = copy.deepcopy(dc2.sources("orders"))
    said = run(lab, "live")
    assert dc2.sources("orders") == before
    assert "salvaged into dc2:orders from dc1:orders: 0 created, 1 conflict(s) kept out: d" \
        in said


def test_dry_counts_and_changes_nothing(lab):
    dc1, dc2 = lab["dc1"], lab["dc2"]
    said = run(lab, "side", dry=True, allow_delete=False)
    assert f"dry run: would salvage 3 document(s) from dc1:orders into dc2:{SIDE}" in said
    assert dc1.writes() == [] and dc2.writes() == []
    assert "dry run: 2 step(s), nothing changed:" in said


def test_without_allow_delete_nothing_is_salvaged_or_deleted(lab):
    with pytest.raises(EsdrError, match="--allow-delete"):
        run(lab, "side", allow_delete=False)
    assert lab["dc1"].writes() == [] and lab["dc2"].writes() == []


def test_an_old_record_of_several_shards_is_compared_by_id_and_refused_live(lab):
    dc2 = lab["dc2"]
    dc2.registry["promoted"]["orders"].pop("shard_checkpoints")
    with pytest.raises(EsdrError, match="every shard at the promotion.*--salvage-into side"):
        run(lab, "live")
    assert dc2.writes() == ["PUT /esdr-managed/_doc/registry"] and SIDE not in dc2.indices
    said = run(lab, "side")
    assert any("no checkpoint recorded at promotion for shard(s) 0, 1: every document there "
               "is compared by id" in line for line in said)
    assert sorted(dc2.indices[SIDE]["docs"]) == ["d", "f", "h"]


def test_no_salvage_when_asked_for_none(lab):
    run(lab, None)
    assert SIDE not in lab["dc2"].indices and "orders" not in lab["dc1"].indices


def test_the_command_offers_the_switches():
    out = CliRunner().invoke(cli, ["failback", "--help"]).output
    assert "--salvage-into [side|live]" in out and "--no-salvage" in out


def test_dry_live_counts_creates_and_conflicts(lab):
    said = run(lab, "live", dry=True, allow_delete=False)
    assert ("dry run: would salvage 2 document(s) from dc1:orders into dc2:orders (create-only) "
            f"and keep 1 conflict(s) out, in dc2:{SIDE}: d") in said
    assert lab["dc1"].writes() == [] and lab["dc2"].writes() == []
