"""Salvage on failback: keep the documents the old leader holds and the new leader does not,
before ``esdr failback --direction reverse`` replaces the old leader's index.

What is selected (``select``, pure): a document of the old leader whose ``_seq_no`` is above
the checkpoint its shard's follower had reached at the promotion (recorded by ``esdr promote``),
and which the new leader does not hold with the same ``_source``. Sequence numbers are per shard
and the follower keeps its leader's (Elasticsearch CCR: the follower replays the leader's
operations; OpenSearch's plugin replays them with their ``seqNo``, only the primary term is the
follower's: TransportReplayChangesAction.kt), so every operation at or below that checkpoint was
in the new leader already. A shard without a recorded checkpoint (a promotion recorded before
esdr kept them, with more than one shard) is read whole and compared by id with the new leader.
A document the new leader holds with another ``_source`` is a conflict: both sides wrote it (or
the old leader updated it after the checkpoint). Deletions made on the old leader after the
checkpoint leave nothing to read, so they are not carried over.

Where it goes: by default a side index on the new leader, ``<index>-salvaged-<UTC time>``, each
document under its own ``_id`` with ``esdr_salvage`` recording where it came from (cluster,
index, shard, ``_seq_no``, ``_primary_term``, conflict). With ``live`` the documents the new
leader lacks are created in the live index, create-only
(https://opensearch.org/docs/latest/api-reference/document-apis/bulk/,
https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-bulk.html: ``create``
fails with 409 when the id exists), so nothing written in the new data centre since is
overwritten; the conflicts are kept out of it, listed, and kept in the side index. Both writes
are create-only and the side index's name is recorded in the promotion record before the first
write, so a rerun after an interruption neither duplicates nor loses a document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from esdr.errors import EsdrError
from esdr.es import client
from esdr.es.client import Api

SIDE = "side"
LIVE = "live"
MODES = (SIDE, LIVE)
FIELD = "esdr_salvage"  # where a side document records its origin
LISTED = 10  # conflicting ids printed at most
BATCH = 500  # ids per _mget, documents per _bulk


@dataclass(frozen=True)
class OldDoc:
    """A document of the old leader, as a search hit gives it."""

    id: str
    shard: int
    seq_no: int
    primary_term: int
    source: dict[str, Any]
    routing: str | None = None

    @classmethod
    def from_hit(cls, hit: dict[str, Any], shard: int) -> OldDoc:
        if "_source" not in hit:
            raise EsdrError(f"document {hit.get('_id')!r} of {hit.get('_index')} has no _source: "
                            "it cannot be copied",
                            hint="salvage needs _source; rerun with --no-salvage to lose it")
        return cls(str(hit["_id"]), shard, int(hit["_seq_no"]), int(hit["_primary_term"]),
                   hit["_source"], hit.get("_routing"))


@dataclass(frozen=True)
class Selection:
    """What to keep of the old leader. ``missing``: the new leader has no document with that
    id; ``conflicts``: it has one with another ``_source``; ``unchanged``: read above the
    checkpoint (or by id) and found identical in the new leader; ``read``: documents read."""

    missing: list[OldDoc] = field(default_factory=list)
    conflicts: list[OldDoc] = field(default_factory=list)
    unchanged: int = 0
    read: int = 0

    @property
    def kept(self) -> list[OldDoc]:
        return [*self.missing, *self.conflicts]


def checkpoints_from_stats(stats: dict[str, Any], index: str) -> dict[str, int] | None:
    """Per shard (``"0"``, ``"1"``, ...), the lowest ``seq_no.global_checkpoint`` over its copies,
    from ``GET /<index>/_stats?level=shards``: every operation at or below it is on every in-sync
    copy (https://www.elastic.co/guide/en/elasticsearch/reference/current/indices-stats.html).
    None when a shard reports none (nothing to rely on)."""
    shards = (((stats or {}).get("indices") or {}).get(index) or {}).get("shards") or {}
    out: dict[str, int] = {}
    for shard, copies in shards.items():
        points = [c["seq_no"]["global_checkpoint"] for c in copies
                  if isinstance((c.get("seq_no") or {}).get("global_checkpoint"), int)]
        if not points:
            return None
        out[str(shard)] = min(points)
    return out or None


def shard_checkpoints(recorded: Mapping[str, Any] | None, summed: int | None,
                      shards: int) -> dict[int, int]:
    """The checkpoint of each of the old leader's ``shards`` at the promotion: as recorded per
    shard, else the summed one when there is one shard (the sum is then that shard's). A shard
    missing from the answer has no checkpoint: it is read whole and compared by id."""
    found = {int(k): int(v) for k, v in (recorded or {}).items()
             if str(k).isdigit() and isinstance(v, int) and int(k) < shards}
    if not found and shards == 1 and isinstance(summed, int):
        found = {0: summed}
    return found


def above(doc: OldDoc, checkpoints: Mapping[int, int]) -> bool:
    """Whether ``doc`` was written after its shard's checkpoint (or its shard has none)."""
    point = checkpoints.get(doc.shard)
    return point is None or doc.seq_no > point


def select(old: Iterable[OldDoc], checkpoints: Mapping[int, int],
           new: Mapping[str, dict[str, Any] | None]) -> Selection:
    """The documents of the old leader to keep. ``new``: id -> the new leader's ``_source``
    (None: it has no such document) for every id of ``old`` above its shard's checkpoint."""
    missing: list[OldDoc] = []
    conflicts: list[OldDoc] = []
    unchanged = read = 0
    for doc in old:
        if not above(doc, checkpoints):
            continue  # replicated before the promotion: the new leader had it
        read += 1
        there = new.get(doc.id)
        if there is None:
            missing.append(doc)
        elif there == doc.source:
            unchanged += 1
        else:
            conflicts.append(doc)
    return Selection(missing, conflicts, unchanged, read)


def side_index_name(index: str, at: datetime) -> str:
    """``<index>-salvaged-<UTC time>``, lower case as index names must be."""
    return f"{index}-salvaged-{at.astimezone(timezone.utc):%Y%m%dt%H%M%Sz}"


def side_document(doc: OldDoc, cluster: str, index: str, conflict: bool) -> dict[str, Any]:
    return {**doc.source, FIELD: {"cluster": cluster, "index": index, "shard": doc.shard,
                                  "seq_no": doc.seq_no, "primary_term": doc.primary_term,
                                  "conflict": conflict}}


SIDE_FIELDS = {"properties": {
    "cluster": {"type": "keyword"}, "index": {"type": "keyword"},
    "shard": {"type": "integer"}, "seq_no": {"type": "long"},
    "primary_term": {"type": "long"}, "conflict": {"type": "boolean"}}}


def side_mappings(mappings: dict[str, Any] | None) -> dict[str, Any]:
    """The old index's mappings (the documents keep their field types) plus ``esdr_salvage``."""
    out = dict(mappings or {})
    out["properties"] = {**(out.get("properties") or {}), FIELD: SIDE_FIELDS}
    return out


def chunks(docs: Iterable[OldDoc], size: int) -> Iterator[list[OldDoc]]:
    chunk: list[OldDoc] = []
    for doc in docs:
        chunk.append(doc)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def listed(ids: list[str]) -> str:
    shown = ", ".join(ids[:LISTED])
    return shown + (f", … (+{len(ids) - LISTED} more)" if len(ids) > LISTED else "")


def how_line(checkpoints: Mapping[int, int], shards: int) -> str:
    if len(checkpoints) == shards:
        points = ", ".join(f"shard {s}: {checkpoints[s]}" for s in sorted(checkpoints))
        return f"selected by _seq_no above the checkpoint recorded at promotion ({points})"
    without = [s for s in range(shards) if s not in checkpoints]
    return (f"no checkpoint recorded at promotion for shard(s) {', '.join(map(str, without))}: "
            "every document there is compared by id with the new leader")


# --- I/O: read the old leader, ask the new one, write create-only -----------------------------
def read_old(es: Api, index: str, checkpoints: Mapping[int, int], shards: int,
             page: int = 1000) -> Iterator[OldDoc]:
    """The old leader's documents above each shard's checkpoint, shard by shard (a shard
    without one: all its documents). Refreshed first: a search sees only refreshed documents,
    and writes acknowledged just before the loss may not have been."""
    client.refresh(es, index)
    for shard in range(shards):
        point = checkpoints.get(shard)
        query = ({"match_all": {}} if point is None
                 else {"range": {"_seq_no": {"gt": point}}})
        try:
            answer = client.open_scroll(es, index, query, shard=shard, size=page)
        except client.API_ERRORS as error:
            # an index whose _seq_no is not searchable (Elasticsearch can index it as doc
            # values only, or not at all) refuses the range: read the shard whole, and
            # ``select`` leaves out what is at or below the checkpoint all the same
            if point is None or client.status_of(error) != 400:
                raise
            answer = client.open_scroll(es, index, {"match_all": {}}, shard=shard, size=page)
        scroll_id = answer.get("_scroll_id")
        try:
            while True:
                hits = (answer.get("hits") or {}).get("hits") or []
                if not hits:
                    break
                for hit in hits:
                    yield OldDoc.from_hit(hit, shard)
                answer = client.next_scroll(es, str(answer.get("_scroll_id") or scroll_id))
                scroll_id = answer.get("_scroll_id") or scroll_id
        finally:
            if scroll_id:
                client.clear_scroll(es, str(scroll_id))


def read_new(es: Api, index: str, docs: list[OldDoc]) -> dict[str, dict[str, Any] | None]:
    """id -> the new leader's ``_source`` (None when it has no such document), real-time."""
    out: dict[str, dict[str, Any] | None] = {}
    for first in range(0, len(docs), BATCH):
        chunk = docs[first:first + BATCH]
        asked = [{"_id": d.id, **({"routing": d.routing} if d.routing else {})} for d in chunk]
        for found in client.mget(es, index, asked):
            out[str(found["_id"])] = found.get("_source", {}) if found.get("found") else None
    return out


def create_only(es: Api, index: str,
                docs: list[tuple[OldDoc, dict[str, Any]]]) -> tuple[list[str], list[str]]:
    """``_bulk`` ``create`` each (doc, body) into ``index``: (ids created, ids that existed).
    Any other failure stops the failback before the old index is deleted."""
    created: list[str] = []
    existed: list[str] = []
    for first in range(0, len(docs), BATCH):
        lines: list[dict[str, Any]] = []
        for doc, body in docs[first:first + BATCH]:
            action = {"_index": index, "_id": doc.id, **({"routing": doc.routing}
                                                         if doc.routing else {})}
            lines += [{"create": action}, body]
        answer = client.bulk(es, lines)
        failed = []
        for item in answer.get("items", []):
            result = item.get("create") or next(iter(item.values()), {})
            status = int(result.get("status", 0))
            if status in (200, 201):
                created.append(str(result["_id"]))
            elif status == 409:
                existed.append(str(result["_id"]))
            else:
                failed.append(f"{result.get('_id')}: {status} {result.get('error')}")
        if failed:
            raise EsdrError(f"salvage into {index}: {len(failed)} document(s) refused, first: "
                            f"{failed[0]}; nothing was deleted",
                            hint="fix the cause and rerun: what was written stays, a rerun "
                            "writes only the rest")
    return created, existed


def ensure_side_index(old_es: Api, old_index: str, es: Api, index: str) -> None:
    if client.index_exists(es, index):
        return  # a rerun: the same side index, recorded in the promotion record
    client.create_index(es, index, {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
                        side_mappings(client.get_mapping(old_es, old_index)), exist_ok=True)


@dataclass(frozen=True)
class Where:
    cluster: str
    index: str
    es: Api

    @property
    def name(self) -> str:
        return f"{self.cluster}:{self.index}"


def salvage(old: Where, new: Where, *, recorded: Mapping[str, Any] | None, summed: int | None,
            mode: str, side_index: str, dry: bool,
            say: Callable[[str], None]) -> Selection:
    """Select on ``old`` (the old leader), compare with ``new`` (the promoted index), write
    (unless ``dry``) into ``side_index`` on the new leader or, ``live``, into ``new.index``."""
    if mode not in MODES:
        raise EsdrError(f"salvage into {mode!r}: use {' or '.join(MODES)}")
    shards = int(client.get_index_setting(old.es, old.index, "index.number_of_shards") or 1)
    checkpoints = shard_checkpoints(recorded, summed, shards)
    if mode == LIVE and len(checkpoints) < shards:
        raise EsdrError(
            f"salvage into the live {new.name} needs the checkpoint of every shard at the "
            f"promotion, and {old.name} has shard(s) without one: a document deleted in "
            f"{new.cluster} since would be created again; nothing was deleted",
            hint="rerun with --salvage-into side (the default) and merge from the side index")
    chosen = Selection()
    for chunk in chunks(read_old(old.es, old.index, checkpoints, shards), BATCH):
        # a chunk at a time: only what is kept stays in memory, not every document read
        part = select(chunk, checkpoints, read_new(new.es, new.index, chunk))
        chosen = Selection(chosen.missing + part.missing, chosen.conflicts + part.conflicts,
                           chosen.unchanged + part.unchanged, chosen.read + part.read)
    say(f"salvage {old.name}: {how_line(checkpoints, shards)}; {chosen.read} document(s) read, "
        f"{chosen.unchanged} identical in {new.name}, {len(chosen.missing)} missing there, "
        f"{len(chosen.conflicts)} different there")
    side = f"{new.cluster}:{side_index}"
    if dry:
        if mode == SIDE:
            say(f"dry run: would salvage {len(chosen.kept)} document(s) from {old.name} into "
                f"{side}")
        else:
            say(f"dry run: would salvage {len(chosen.missing)} document(s) from {old.name} into "
                f"{new.name} (create-only) and keep {len(chosen.conflicts)} conflict(s) out, "
                f"in {side}" + (f": {listed([d.id for d in chosen.conflicts])}"
                                if chosen.conflicts else ""))
        return chosen
    if not chosen.kept:
        say(f"salvaged 0 document(s) from {old.name}: nothing there is missing in {new.name}")
        return chosen
    to_side = chosen.kept if mode == SIDE else list(chosen.conflicts)
    if mode == LIVE:
        created, existed = create_only(new.es, new.index,
                                       [(d, d.source) for d in chosen.missing])
        raced = set(existed)  # written in the new DC between the read and the create
        to_side += [d for d in chosen.missing if d.id in raced]
        kept_out = [d.id for d in chosen.conflicts] + [d.id for d in chosen.missing
                                                       if d.id in raced]
        say(f"salvaged into {new.name} from {old.name}: {len(created)} created, "
            f"{len(kept_out)} conflict(s) kept out" + (f": {listed(kept_out)}" if kept_out
                                                        else ""))
    if to_side:
        conflicting = {d.id for d in chosen.conflicts} | (
            set() if mode == SIDE else {d.id for d in to_side})
        ensure_side_index(old.es, old.index, new.es, side_index)
        created, existed = create_only(new.es, side_index, [
            (d, side_document(d, old.cluster, old.index, d.id in conflicting)) for d in to_side])
        again = f" ({len(existed)} already there from an earlier run)" if existed else ""
        differ = [d.id for d in chosen.conflicts]
        say(f"salvaged {len(to_side)} document(s) from {old.name} into {side}{again}"
            + (f"; {len(differ)} differ from {new.name}'s copy: {listed(differ)}"
               if differ and mode == SIDE else ""))
    return chosen


def now() -> datetime:
    return datetime.now(timezone.utc)
