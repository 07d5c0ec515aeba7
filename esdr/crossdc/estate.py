"""The estate: typed, frozen view of ``group_data/estates/<name>.yml``. Parsing only, no I/O
except ``load_estate_file`` (which group data calls while pyinfra loads the inventory).

The file lives under ``group_data/`` on purpose: pyinfra reads only ``*.py`` there, and anything
that copies a project's group data (tests, CI) takes the estate with it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from esdr.errors import BadInput

REPOSITORY_TYPES = frozenset({"fs", "s3", "hdfs", "url", "source"})
LINK_MODES = frozenset({"sniff", "proxy"})
LICENCE_CHOICES = frozenset({"basic", "trial"})


@dataclass(frozen=True)
class ClusterRef:
    alias: str  # the name other clusters use for it (its remote-cluster alias)
    cluster_name: str
    inventory: str | None = None  # path from the project root, for runbooks
    seeds: tuple[str, ...] = ()  # transport host:port other clusters sniff from
    proxy_address: str | None = None  # host:port of a proxy in front of its transport


@dataclass(frozen=True)
class Link:
    """On cluster ``source``, the remote cluster ``target`` (alias = target's alias)."""

    source: str
    target: str
    mode: str = "sniff"
    seeds: tuple[str, ...] = ()
    proxy_address: str | None = None
    skip_unavailable: bool = True


@dataclass(frozen=True)
class Repository:
    name: str
    type: str
    settings: Mapping[str, Any]
    writer: str | None
    readers: tuple[str, ...] = ()


@dataclass(frozen=True)
class SlmPolicy:
    id: str
    cluster: str
    schedule: str
    snapshot_name: str
    repository: str
    config: Mapping[str, Any] = field(default_factory=dict)
    retention: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Follower:
    cluster: str  # where the follower index lives
    index: str
    remote: str  # alias of the leader's cluster
    leader_index: str
    write_alias: str | None = None  # the alias promote switches to this index


@dataclass(frozen=True)
class AutoFollow:
    name: str
    cluster: str
    remote: str
    leader_index_patterns: tuple[str, ...]
    leader_index_exclusion_patterns: tuple[str, ...] = ()
    follow_index_pattern: str = "{{leader_index}}"


@dataclass(frozen=True)
class Bidirectional:
    """Each cluster writes its own index and follows the others', so both DCs take writes
    without two writers of one index: Elastic's bi-directional recipe,
    https://www.elastic.co/guide/en/elasticsearch/reference/8.17/ccr-disaster-recovery-bi-directional-tutorial.html
    """

    alias: str
    indices: Mapping[str, str]  # cluster alias -> its local write index


@dataclass(frozen=True)
class Estate:
    source: str
    clusters: Mapping[str, ClusterRef]
    links: tuple[Link, ...] = ()
    repositories: tuple[Repository, ...] = ()
    slm: tuple[SlmPolicy, ...] = ()
    followers: tuple[Follower, ...] = ()
    auto_follow: tuple[AutoFollow, ...] = ()
    bidirectional: tuple[Bidirectional, ...] = ()
    licence: str = "basic"

    def alias_of(self, cluster_name: str | None) -> str | None:
        """The estate's alias for the cluster called ``cluster_name`` (None if absent)."""
        for ref in self.clusters.values():
            if ref.cluster_name == cluster_name:
                return ref.alias
        return None

    def link(self, source: str, target: str) -> Link | None:
        return next((k for k in self.links if k.source == source and k.target == target), None)


# --- values the engines read by their own rules -------------------------------------------------
# Each returns None when ``text`` is acceptable, else what is wrong with it (one line).
# ``esdr.schema`` refuses the estate with them before any host is touched; they live here, beside
# the estate's types, in the lowest layer, so any other layer may use them too.

# Index (and alias) names: lowercase; not "." or ".."; none of \ / * ? " < > | , # : or a space;
# not starting with -, _ or +; at most 255 bytes. Elasticsearch reference, create index API,
# path parameters: https://www.elastic.co/guide/en/elasticsearch/reference/current/indices-create-index.html#indices-create-api-path-params
# (":" separates a remote cluster's alias from an index name since 7.0; OpenSearch keeps the
# same rules: https://opensearch.org/docs/latest/api-reference/index-apis/create-index/).
INDEX_NAME_RULE = ("lowercase, at most 255 bytes, not '.' or '..', not starting with '-', '_' "
                   "or '+', and none of \\ / * ? \" < > | , # : or a space")
_INDEX_FORBIDDEN = frozenset('\\/*?"<>|,#: ')
MAX_INDEX_BYTES = 255


def index_name_problem(text: str, *, pattern: bool = False) -> str | None:
    """Why ``text`` cannot be an index or alias name (``pattern``: may hold ``*`` wildcards,
    never ``,``: a comma would make one pattern a list of them)."""
    forbidden = _INDEX_FORBIDDEN - {"*"} if pattern else _INDEX_FORBIDDEN
    bad = sorted({c for c in text if c in forbidden or c.isspace()})
    if not text:
        return "is empty"
    if text in (".", ".."):
        return f"is {text!r}"
    if text != text.lower():
        return "has upper-case letters"
    if text[0] in "-_+":
        # "_all" and "_*" are the engines' own names; "-" and "+" exclude and include in patterns
        return f"starts with {text[0]!r}"
    if bad:
        return f"holds {' '.join(repr(c) for c in bad)}"
    if len(text.encode("utf-8")) > MAX_INDEX_BYTES:
        return f"is longer than {MAX_INDEX_BYTES} bytes"
    return None


# A transport address as the engines parse a remote cluster's seeds and proxy_address: host:port,
# an IPv6 address in brackets ("remote hosts need to be configured as [host:port]":
# https://www.elastic.co/guide/en/elasticsearch/reference/current/remote-clusters-settings.html).
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def address_problem(text: str) -> str | None:
    """Why ``text`` is not one ``host:port`` (IPv6 as ``[addr]:port``)."""
    if "," in text:
        return "holds a ',': give one host:port per list entry"
    host, colon, port = text.rpartition(":")
    if not colon or not host or (text.startswith("[") and not host.endswith("]")):
        return "is not host:port"
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return f"has port {port!r}: use 1-65535"
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return "has no IPv6 address between its brackets"
        return None
    if ":" in host:
        return "holds an IPv6 address without brackets: write [address]:port"
    if not _HOSTNAME.match(host):
        return f"has host {host!r}, which is neither a DNS name nor an IPv4 address"
    return None


# Elastic's cron (SLM schedules, watcher): seconds minutes hours day-of-month month day-of-week
# [year], each field digits, names, and * ? , - / L W # only:
# https://www.elastic.co/guide/en/elasticsearch/reference/current/api-conventions.html#api-cron-expressions
# A syntactic check: the engine checks ranges when the policy is put.
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#-]+$")


def cron_problem(text: str) -> str | None:
    fields = text.split()
    if not 6 <= len(fields) <= 7:
        return (f"has {len(fields)} field(s): Elastic's cron takes 6 or 7, seconds minutes "
                "hours day-of-month month day-of-week [year], e.g. '0 30 1 * * ?'")
    bad = [f for f in fields if not _CRON_FIELD.match(f)]
    if bad:
        return f"has field {bad[0]!r}: a cron field holds digits, names and * ? , - / L W # only"
    return None


class EstateError(BadInput):
    """The estate file cannot be read as an estate at all (shape, not design, problems)."""


def load_estate_file(anchor: str, relative: str) -> dict[str, Any]:
    """Read ``relative`` next to ``anchor`` (a group data file's ``__file__``) as raw data.

    Returns plain data (pyinfra host data must stay plain); ``parse_estate`` types it. The
    source path rides along under ``_source`` for messages.
    """
    path = Path(anchor).resolve().parent / relative
    try:
        raw = yaml.load(path.read_text(), Loader=_LOADER) or {}
    except OSError as exc:
        raise EstateError(f"estate {path}: cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise EstateError(f"estate {path}: not UTF-8 text", hint="save it as UTF-8") from exc
    except yaml.YAMLError as exc:
        raise EstateError(f"estate {path}: not valid YAML{_at(exc)}",
                          hint="fix the YAML syntax there") from exc
    if not isinstance(raw, dict):
        raise EstateError(f"estate {path}: the top level must be a mapping")
    return {**raw, "_source": str(path)}


# libyaml's safe loader when PyYAML has it: the same YAML, read several times faster
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _at(exc: yaml.YAMLError) -> str:
    """Where the YAML parser stopped and why, on one line."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return where + (f": {' '.join(str(problem).split())}" if problem else "")


def parse_estate(raw: Mapping[str, Any]) -> Estate:
    """Typed estate from the raw mapping; ``EstateError`` (one line) on a wrong shape."""
    source = str(raw.get("_source", "estate"))
    clusters = {
        alias: _cluster_ref(source, alias, body)
        for alias, body in _mapping(source, raw, "clusters").items()
    }
    return Estate(
        source=source,
        clusters=clusters,
        links=tuple(_link(source, clusters, i, b) for i, b in enumerate(_list(source, raw, "links"))),
        repositories=tuple(
            _repository(source, n, b) for n, b in _mapping(source, raw, "repositories").items()
        ),
        slm=tuple(_slm(source, n, b) for n, b in _mapping(source, raw, "slm").items()),
        followers=tuple(_follower(source, b) for b in _list(source, raw, "followers")),
        auto_follow=tuple(
            _auto_follow(source, n, b) for n, b in _mapping(source, raw, "auto_follow").items()
        ),
        bidirectional=tuple(
            Bidirectional(alias=str(a), indices=_str_map(source, f"bidirectional.{a}", b))
            for a, b in _mapping(source, raw, "bidirectional").items()
        ),
        licence=str(raw.get("licence", raw.get("license", "basic"))),
    )


def _mapping(source: str, raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise EstateError(f"estate {source}: `{key}` must be a mapping of name -> settings")
    return value


def _list(source: str, raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise EstateError(f"estate {source}: `{key}` must be a list")
    return value


def _str_map(source: str, where: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise EstateError(f"estate {source}: `{where}` must be a mapping")
    return {str(k): str(v) for k, v in value.items()}


def _need(source: str, where: str, body: Any, key: str) -> Any:
    if isinstance(body, dict) and True in body:  # YAML 1.1 reads a bare `on:` key as true
        raise EstateError(f"estate {source}: `{where}` has a key YAML reads as `true` (`on:`?): "
                          "name the cluster with `cluster:`")
    if not isinstance(body, dict) or body.get(key) in (None, "", []):
        raise EstateError(f"estate {source}: `{where}` needs `{key}`")
    return body[key]


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _cluster_ref(source: str, alias: str, body: Any) -> ClusterRef:
    return ClusterRef(
        alias=str(alias),
        cluster_name=str(_need(source, f"clusters.{alias}", body, "cluster_name")),
        inventory=body.get("inventory"),
        seeds=_strings(body.get("seeds")),
        proxy_address=body.get("proxy_address"),
    )


def _link(source: str, clusters: Mapping[str, ClusterRef], index: int, body: Any) -> Link:
    where = f"links[{index}]"
    target = str(_need(source, where, body, "to"))
    ref = clusters.get(target)
    mode = str(body.get("mode", "sniff"))
    return Link(
        source=str(_need(source, where, body, "from")),
        target=target,
        mode=mode,
        seeds=_strings(body.get("seeds")) or (ref.seeds if ref else ()),
        proxy_address=body.get("proxy_address") or (ref.proxy_address if ref else None),
        skip_unavailable=bool(body.get("skip_unavailable", True)),
    )


def _repository(source: str, name: str, body: Any) -> Repository:
    where = f"repositories.{name}"
    settings = body.get("settings") or {} if isinstance(body, dict) else {}
    return Repository(
        name=str(name),
        type=str(_need(source, where, body, "type")),
        settings=dict(settings),
        writer=body.get("writer"),
        readers=_strings(body.get("readers")),
    )


def _slm(source: str, policy_id: str, body: Any) -> SlmPolicy:
    where = f"slm.{policy_id}"
    return SlmPolicy(
        id=str(policy_id),
        cluster=str(_need(source, where, body, "cluster")),
        schedule=str(_need(source, where, body, "schedule")),
        snapshot_name=str(_need(source, where, body, "name")),
        repository=str(_need(source, where, body, "repository")),
        config=dict(body.get("config") or {}),
        retention=dict(body.get("retention") or {}),
    )


def _follower(source: str, body: Any) -> Follower:
    where = f"followers[{body.get('index', '?') if isinstance(body, dict) else '?'}]"
    index = str(_need(source, where, body, "index"))
    return Follower(
        cluster=str(_need(source, where, body, "cluster")),
        index=index,
        remote=str(_need(source, where, body, "remote")),
        leader_index=str(body.get("leader_index") or index),
        write_alias=body.get("write_alias"),
    )


def _auto_follow(source: str, name: str, body: Any) -> AutoFollow:
    where = f"auto_follow.{name}"
    return AutoFollow(
        name=str(name),
        cluster=str(_need(source, where, body, "cluster")),
        remote=str(_need(source, where, body, "remote")),
        leader_index_patterns=_strings(_need(source, where, body, "leader_index_patterns")),
        leader_index_exclusion_patterns=_strings(body.get("leader_index_exclusion_patterns")),
        follow_index_pattern=str(body.get("follow_index_pattern", "{{leader_index}}")),
    )
