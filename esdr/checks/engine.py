"""Rules that differ by engine: keys and settings one engine has and the other lacks, and the
plugin list (the voting-only role is checked with the other node rules). Pure; ``esdr.checks.validate``
includes these.

OpenSearch has no voting-only role (its hidden third zone holds a dedicated cluster-manager
node with no data), no x-pack, and a security plugin whose settings esdr owns:
https://opensearch.org/docs/latest/tuning-your-cluster/ (node roles) and
https://opensearch.org/docs/latest/security/configuration/yaml/ (security settings).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from esdr.fault_detection import duration_ms
from esdr.model import Cluster, flat_settings
from esdr.problems import Problem

# Group-data keys only one engine understands.
ENGINE_ONLY_KEYS: dict[str, tuple[str, ...]] = {
    "elasticsearch": ("es_elastic_password",),
    "opensearch": ("es_admin_password", "es_replication_password", "es_replication_poll_interval"),
}
# es_settings prefixes only one engine knows (the other refuses to start on them).
ENGINE_ONLY_PREFIXES: dict[str, tuple[str, ...]] = {
    "elasticsearch": ("xpack.",),
    "opensearch": ("plugins.",),
}
# OpenSearch settings esdr derives from the estate CA and its certificates.
OPENSEARCH_OWNED_PREFIX = "plugins.security."
_SHA512 = re.compile(r"^[0-9a-fA-F]{128}$")
_PLUGIN_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


def check_engine(cluster: Cluster, where: str) -> list[Problem]:
    engine = cluster.engine.name
    out: list[Problem] = []
    for other, keys in ENGINE_ONLY_KEYS.items():
        if other == engine:
            continue
        for key in keys:
            if cluster.settings.get(key) is not None:
                out.append(Problem(where, "engine-key-mismatch",
                                   f"{key} is for {other} clusters; this cluster runs {engine}"))
    settings = cluster["es_settings"] if isinstance(cluster["es_settings"], dict) else {}
    for key in sorted(k for k, _ in flat_settings(settings)):
        for other, prefixes in ENGINE_ONLY_PREFIXES.items():
            if other != engine and key.startswith(prefixes):
                out.append(Problem(where, "engine-setting-mismatch",
                                   f"es_settings sets {key}, a {other} setting; {engine} refuses "
                                   "to start with it"))
        if engine == "opensearch" and key.startswith(OPENSEARCH_OWNED_PREFIX):
            out.append(Problem(where, "owned-setting",
                               f"es_settings sets {key}, which esdr derives from the estate CA "
                               "and its certificates (esdr/security); remove it"))
    out += check_plugins(cluster, where)
    out += check_poll_interval(cluster, where)
    return out


def check_poll_interval(cluster: Cluster, where: str) -> list[Problem]:
    """The replication plugin refuses a follower poll interval outside 1 ms to 1 s."""
    value = cluster.settings.get("es_replication_poll_interval")
    if value is None or cluster.engine.name != "opensearch":
        return []
    ms = duration_ms(value)
    if ms is None or not 1 <= ms <= 1000:
        return [Problem(where, "replication-poll-interval-invalid",
                        f"es_replication_poll_interval is {value!r}: the replication plugin takes "
                        "a duration from 1ms to 1s (esdr's default 500ms keeps follower "
                        "staleness under 2 s at a steady load; see docs/silent-failures.md)")]
    return []


def check_plugins(cluster: Cluster, where: str) -> list[Problem]:
    plugins = cluster["es_plugins"]
    if plugins in (None, []):
        return []
    if not isinstance(plugins, (list, tuple)):
        return [Problem(where, "plugins-invalid",
                        "es_plugins must be a list of {name, url | local, sha512?} entries")]
    out: list[Problem] = []
    seen: set[str] = set()
    for number, entry in enumerate(plugins, 1):
        here = f"{where}: es_plugins entry {number}"
        problem = _plugin_problem(entry, str(cluster.version or ""), cluster["es_lab"])
        if problem:
            rule, message, severity = problem
            out.append(Problem(here, rule, message, severity))
            continue
        if entry["name"] in seen:
            out.append(Problem(here, "plugin-duplicate", f"plugin {entry['name']} is listed twice"))
        seen.add(entry["name"])
    return out


def _plugin_problem(entry: Any, version: str, lab: bool) -> tuple[str, str, str] | None:
    """(rule, message, severity) for one entry, or None when it is fine."""
    if not isinstance(entry, dict):
        return "plugin-invalid", "must be a mapping {name, url | local, sha512?}", "error"
    unknown = sorted(set(entry) - {"name", "url", "local", "sha512"})
    if unknown:
        return "plugin-invalid", f"unknown key(s) {', '.join(unknown)}", "error"
    name = entry.get("name")
    if not isinstance(name, str) or not _PLUGIN_NAME.match(name):
        return "plugin-invalid", f"name {name!r} is not a plugin name", "error"
    sources = [k for k in ("url", "local") if entry.get(k)]
    if len(sources) != 1:
        return "plugin-invalid", f"plugin {name}: give exactly one of url or local", "error"
    source = str(entry[sources[0]])
    if sources == ["url"] and not source.startswith(("http://", "https://", "file://")):
        return "plugin-invalid", f"plugin {name}: url {source!r} is not a URL", "error"
    if not source.endswith(".zip"):
        return "plugin-invalid", f"plugin {name}: {source} is not a .zip", "error"
    sha512 = entry.get("sha512")
    if sha512 is not None and not (isinstance(sha512, str) and _SHA512.match(sha512)):
        return "plugin-invalid", f"plugin {name}: sha512 is not 128 hex digits", "error"
    # The plugin tool refuses a plugin built for another version; say so before any host.
    if version and version not in PurePosixPath(source).name:
        return ("plugin-version-mismatch",
                f"plugin {name}: {PurePosixPath(source).name} does not name version {version}; "
                "a plugin must be built for exactly the engine's version", "error")
    if sha512 is None and source.startswith("http://") and not lab:
        return ("plugin-unpinned",
                f"plugin {name}: plain http and no sha512: the .sha512 beside it is fetched over "
                "the same channel; pin the sha512 in production", "warning")
    return None
