"""Refuse a bad cross-DC design before anything is touched, every problem at once.

``check_estate(estate)`` looks at the design alone (two writers for one repository, a follow
whose remote is not linked, a bi-directional auto-follow pair without exclusion patterns, ...);
``check_estate_for(estate, topology)`` checks what one data centre must provide for its part
(path.repo for fs repositories, a remote_cluster_client node). ``esdr.checks.validate`` calls
both when the topology carries ``es_estate``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import PurePosixPath

from esdr.crossdc.estate import (
    LICENCE_CHOICES,
    LINK_MODES,
    REPOSITORY_TYPES,
    Estate,
    EstateError,
)
from esdr.model import Topology
from esdr.problems import Problem


def check_topology_estate(topology: Topology) -> list[Problem]:
    """Problems of the estate the topology carries (none when it carries none)."""
    try:
        estate = topology.estate
    except EstateError as error:
        return [Problem("estate", "estate-unreadable", str(error))]
    if estate is None:
        return []
    return check_estate(estate) + check_estate_for(estate, topology)


def check_estate(estate: Estate) -> list[Problem]:
    problems: list[Problem] = []
    for check in (_licence, _links, _repositories, _slm, _followers, _auto_follow, _bidirectional,
                  _aliases):
        problems.extend(check(estate))
    return problems


def _p(where: str, rule: str, message: str) -> Problem:
    return Problem(where, rule, message)


def _unknown(estate: Estate, where: str, aliases: Iterable[str]) -> list[Problem]:
    known = ", ".join(sorted(estate.clusters))
    return [
        _p(where, "estate-unknown-cluster", f"names cluster {a!r}, which is not under `clusters` "
           f"({known}): add it there or fix the name")
        for a in aliases
        if a not in estate.clusters
    ]


def _licence(estate: Estate) -> list[Problem]:
    if estate.licence in LICENCE_CHOICES:
        return []
    return [_p("estate licence", "licence-invalid",
               f"licence {estate.licence!r}: use one of {sorted(LICENCE_CHOICES)}")]


def _links(estate: Estate) -> list[Problem]:
    out: list[Problem] = []
    for (source, target), count in Counter((k.source, k.target) for k in estate.links).items():
        if count > 1:
            out.append(_p(f"link {source}->{target}", "link-duplicate",
                          f"declared {count} times: keep one"))
    for link in estate.links:
        where = f"link {link.source}->{link.target}"
        out += _unknown(estate, where, (link.source, link.target))
        if link.source == link.target:
            out.append(_p(where, "link-to-itself", "a cluster cannot be its own remote"))
        if link.mode not in LINK_MODES:
            out.append(_p(where, "link-mode-invalid", f"mode {link.mode!r}: use sniff or proxy"))
        elif link.mode == "sniff" and not link.seeds:
            out.append(_p(where, "link-without-seeds",
                          f"sniff mode needs seeds: set `seeds` on the link or on cluster {link.target}"))
        elif link.mode == "proxy" and not link.proxy_address:
            out.append(_p(where, "link-without-proxy",
                          f"proxy mode needs proxy_address (on the link or on cluster {link.target})"))
    return out


def _storage_key(repo) -> tuple[str, str] | None:
    """What physical storage a repository writes to, so two names for one place are caught."""
    s = repo.settings
    place = s.get("location") or s.get("url") or s.get("path")
    if repo.type == "s3":
        place = f"{s.get('bucket')}/{s.get('base_path', '')}"
    return (repo.type, str(place).rstrip("/")) if place else None


def _repositories(estate: Estate) -> list[Problem]:
    out: list[Problem] = []
    writers: dict[tuple[str, str], list[str]] = {}
    for repo in estate.repositories:
        where = f"repository {repo.name}"
        out += _unknown(estate, where, [a for a in (repo.writer, *repo.readers) if a])
        if repo.type not in REPOSITORY_TYPES:
            out.append(_p(where, "repository-type-invalid",
                          f"type {repo.type!r}: use one of {sorted(REPOSITORY_TYPES)}"))
        if repo.type == "url" and repo.writer:
            out.append(_p(where, "url-repository-writer",
                          "url repositories are read-only: drop `writer`, list clusters under `readers`"))
        if repo.type != "url" and not repo.writer:
            out.append(_p(where, "repository-without-writer",
                          "exactly one cluster writes a repository: set `writer`"))
        if repo.writer and repo.writer in repo.readers:
            out.append(_p(where, "repository-writer-is-reader",
                          f"{repo.writer} is the writer and a reader: list it once"))
        if repo.type == "fs" and not repo.settings.get("location"):
            out.append(_p(where, "fs-without-location", "fs repositories need settings.location"))
        key = _storage_key(repo)
        if key and repo.writer:
            writers.setdefault(key, []).append(f"{repo.name} (writer {repo.writer})")
    for (kind, place), names in writers.items():
        if len(names) > 1:
            out.append(_p(f"{kind} storage {place}", "repository-two-writers",
                          f"{' and '.join(names)} both write it: only one cluster may write a "
                          "repository; make the others readers of one repository"))
    return out


def _slm(estate: Estate) -> list[Problem]:
    out: list[Problem] = []
    repos = {r.name: r for r in estate.repositories}
    for policy in estate.slm:
        where = f"slm policy {policy.id}"
        out += _unknown(estate, where, [policy.cluster])
        repo = repos.get(policy.repository)
        if repo is None:
            out.append(_p(where, "slm-repository-unknown",
                          f"repository {policy.repository!r} is not under `repositories`"))
        elif repo.writer != policy.cluster:
            out.append(_p(where, "slm-on-readonly-repository",
                          f"runs on {policy.cluster} but {repo.name} is written by "
                          f"{repo.writer or 'nobody'}: run the policy on the writer"))
    return out


def _not_linked(estate: Estate, where: str, cluster: str, remote: str) -> list[Problem]:
    if cluster == remote:
        return [_p(where, "follow-own-cluster", "a cluster cannot follow itself")]
    if estate.link(cluster, remote) or cluster not in estate.clusters:
        return []
    return [_p(where, "follow-remote-not-linked",
               f"follows remote {remote!r} but {cluster} has no link to it: add "
               f"`- {{from: {cluster}, to: {remote}}}` under `links`")]


def _followers(estate: Estate) -> list[Problem]:
    out: list[Problem] = []
    for (cluster, index), count in Counter((f.cluster, f.index) for f in estate.followers).items():
        if count > 1:
            out.append(_p(f"follower {cluster}:{index}", "follower-duplicate",
                          f"declared {count} times"))
    for f in estate.followers:
        where = f"follower {f.cluster}:{f.index}"
        out += _unknown(estate, where, (f.cluster, f.remote))
        out += _not_linked(estate, where, f.cluster, f.remote)
    return out


def _auto_follow(estate: Estate) -> list[Problem]:
    out: list[Problem] = []
    for rule in estate.auto_follow:
        where = f"auto-follow {rule.name}"
        out += _unknown(estate, where, (rule.cluster, rule.remote))
        out += _not_linked(estate, where, rule.cluster, rule.remote)
        if "{{leader_index}}" not in rule.follow_index_pattern:
            out.append(_p(where, "follow-pattern-without-leader-index",
                          "follow_index_pattern must contain {{leader_index}}, or every leader "
                          "maps to one follower name"))
    for a in estate.auto_follow:
        for b in estate.auto_follow:
            reverse = (a.cluster, a.remote) == (b.remote, b.cluster) and a.name < b.name
            if reverse and not (a.leader_index_exclusion_patterns and b.leader_index_exclusion_patterns):
                out.append(_p(f"auto-follow {a.name} and {b.name}", "bidirectional-without-exclusions",
                              f"{a.cluster} and {b.cluster} auto-follow each other without "
                              "leader_index_exclusion_patterns on both: each would follow the "
                              "other's followers in a loop; exclude the follower names"))
    return out


def _bidirectional(estate: Estate) -> list[Problem]:
    out: list[Problem] = []
    for pair in estate.bidirectional:
        where = f"bidirectional {pair.alias}"
        out += _unknown(estate, where, pair.indices)
        if len(pair.indices) < 2:
            out.append(_p(where, "bidirectional-one-side", "name a local index for 2+ clusters"))
        if len(set(pair.indices.values())) != len(pair.indices):
            out.append(_p(where, "bidirectional-same-index",
                          "each cluster needs its own local index name (e.g. logs-dc1, logs-dc2)"))
        for a in pair.indices:
            for b in pair.indices:
                if a != b and a in estate.clusters and not estate.link(a, b):
                    out.append(_p(where, "follow-remote-not-linked",
                                  f"{a} must follow {pair.indices[b]} on {b} but has no link to "
                                  f"it: add `- {{from: {a}, to: {b}}}` under `links`"))
    return out


def _aliases(estate: Estate) -> list[Problem]:
    """An alias cannot share its name with an index: the engines refuse to create an alias
    named like an existing index (https://www.elastic.co/guide/en/elasticsearch/reference/current/aliases.html),
    and the runbooks would act on one meaning the other."""
    out: list[Problem] = []
    for number, f in enumerate(estate.followers):
        if f.write_alias and f.write_alias in (f.index, f.leader_index):
            out.append(_p(f"estate {estate.source}: followers[{number}]", "alias-is-index",
                          f"write_alias {f.write_alias!r} is also the name of the index it points "
                          f"to: name the alias apart, e.g. {f.write_alias}-write"))
    for pair in estate.bidirectional:
        if pair.alias in pair.indices.values():
            out.append(_p(f"estate {estate.source}: bidirectional.{pair.alias}", "alias-is-index",
                          f"the alias {pair.alias!r} is also one of its indices: name the local "
                          f"indices apart, e.g. {pair.alias}-dc1, {pair.alias}-dc2"))
    return out


def check_estate_for(estate: Estate, topology: Topology) -> list[Problem]:
    """What this data centre's cluster must provide for its part of the estate."""
    cluster = topology.cluster
    alias = estate.alias_of(cluster.name)
    if alias is None:
        return [_p(f"cluster {cluster.name}", "estate-cluster-unknown",
                   f"es_estate ({estate.source}) has no cluster with cluster_name "
                   f"{cluster.name!r}: add it under `clusters`")]
    out: list[Problem] = []
    roots = [PurePosixPath(str(p)) for p in cluster["es_path_repo"] or []]
    for repo in estate.repositories:
        location = repo.settings.get("location")
        registers = alias == repo.writer or alias in repo.readers
        if repo.type == "fs" and registers and location and not any(
            PurePosixPath(str(location)).is_relative_to(r) for r in roots
        ):
            out.append(_p(f"repository {repo.name}", "fs-location-not-in-path-repo",
                          f"{location} is not under es_path_repo {[str(r) for r in roots]} of "
                          f"{cluster.name}: add its mount to es_path_repo"))
    if cluster.engine.name == "opensearch":
        out += _opensearch_limits(estate, alias, cluster.name)
    needs_remote = any(k.source == alias for k in estate.links)
    has_client = any("remote_cluster_client" in n.roles for n in cluster.nodes)
    if needs_remote and cluster.nodes and not has_client:
        out.append(_p(f"cluster {cluster.name}", "no-remote-cluster-client",
                      "links to remote clusters but no node has the remote_cluster_client role: "
                      "add data nodes to es_remote_cluster_client"))
    return out


def _opensearch_limits(estate: Estate, alias: str, name: str) -> list[Problem]:
    """What OpenSearch's replication plugin cannot do, refused rather than silently dropped.

    Its auto-follow rules take one ``pattern``, name each follower like its leader and have no
    exclusions (``POST _plugins/_replication/_autofollow``,
    https://opensearch.org/docs/latest/tuning-your-cluster/replication-plugin/auto-follow/);
    SLM is an Elasticsearch API.
    """
    out: list[Problem] = []
    for rule in estate.auto_follow:
        if rule.cluster != alias:
            continue
        unsupported = []
        if len(rule.leader_index_patterns) != 1:
            unsupported.append(f"{len(rule.leader_index_patterns)} leader_index_patterns "
                               "(exactly one; split it into one rule per pattern)")
        if rule.leader_index_exclusion_patterns:
            unsupported.append("leader_index_exclusion_patterns (there are none)")
        if rule.follow_index_pattern != "{{leader_index}}":
            unsupported.append(f"follow_index_pattern {rule.follow_index_pattern!r} (followers "
                               "are named like their leaders)")
        if unsupported:
            out.append(_p(f"auto-follow {rule.name}", "auto-follow-unsupported-on-opensearch",
                          f"{name} runs OpenSearch, whose auto-follow rules cannot take "
                          + "; ".join(unsupported)))
    for policy in estate.slm:
        if policy.cluster == alias:
            out.append(_p(f"slm policy {policy.id}", "slm-on-opensearch",
                          f"{name} runs OpenSearch, which has no SLM API: remove the policy "
                          "or run it on an Elasticsearch cluster"))
    return out
