"""Property: whatever a user writes, ``esdr validate``, ``esdr render`` and the plan loader never
raise. Each mutation of a valid project (wrong types, missing and unknown keys, control
characters, path separators, non-ASCII, duplicates, huge values) is either valid or refused with
exit 2 and one line per problem.

Each example mutates one of the four inputs (inventory host data, group data, the estate, the
gateway settings), or writes an estate of its own from the parts an estate is made of (index
names, aliases, transport seeds, cron schedules, retention counts: valid ones and ones the
engines refuse), and goes through one of the three entry points, in process (click's
CliRunner). ``EXAMPLES`` per test: 5 x 400 = 2,000 examples (``ESDR_PROP_EXAMPLES`` for more).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from . import project_factory as factory

EXAMPLES = int(os.environ.get("ESDR_PROP_EXAMPLES", "400"))

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Strings a user (or an attacker editing group data) might write.
HOSTILE_TEXT = st.one_of(
    st.sampled_from(["", " ", "../../etc/passwd", "a/b", "..", ".", "x\ny", "x\r\n-javaagent:x",
                     "tab\there", "nul\x00", "%h%i", "$(id)", "'\"", "ünïcödé", "az1 ",
                     "\u2028",
                     "x" * 5000, "9200", "true", "-1", "data"]),
    st.text(max_size=12),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), HOSTILE_TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(HOSTILE_TEXT, st.integers()), inner,
                                            max_size=3)),
    max_leaves=6,
)


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    """Every place in a nested structure a mutation can hit (the root excluded)."""
    out = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, path + (index,))
    return out


def _parent(root: Any, path: tuple) -> Any:
    for part in path[:-1]:
        root = root[part]
    return root


def _mutate(root: Any, data: st.DataObject) -> None:
    """One change at a random place: a hostile value, a deletion, an unknown key beside it."""
    paths = _paths(root)
    if not paths:
        return
    path = data.draw(st.sampled_from(paths), label="at")
    parent = _parent(root, path)
    key = path[-1]
    action = data.draw(st.sampled_from(["set", "set", "delete", "add-key", "duplicate"]),
                       label="action")
    if action == "set":
        parent[key] = data.draw(VALUES, label="value")
    elif action == "delete":
        del parent[key]
    elif action == "add-key" and isinstance(parent, dict):
        parent[data.draw(HOSTILE_TEXT, label="new key")] = data.draw(VALUES, label="value")
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(parent[key])


@pytest.fixture(autouse=True, scope="module")
def _connectors_listed_once():
    """pyinfra lists its connectors from the installed packages' entry points for every
    ``Inventory`` it builds (two per load): the same answer each time, and most of an
    example's time. Listed once here, so the examples fit the fast suite."""
    from pyinfra.api import inventory

    listed = inventory.get_all_connectors, inventory.get_execution_connectors
    inventory.get_all_connectors = cache(listed[0])
    inventory.get_execution_connectors = cache(listed[1])
    yield
    inventory.get_all_connectors, inventory.get_execution_connectors = listed
    shutil.rmtree(_root(), ignore_errors=True)  # thousands of small projects
    _root.cache_clear()


# Thousands of small projects are written and removed: in memory where the machine has a tmpfs
# for it, so a busy disk does not set the run's pace (it took most of a run's time on one).
_MEMORY = "/dev/shm"


@cache
def _root() -> Path:
    return Path(tempfile.mkdtemp(prefix="esdr-props-",
                                 dir=_MEMORY if os.path.isdir(_MEMORY) else None))


def _one_line(lines: list[str]) -> bool:
    return all("\n" not in line for line in lines)


def _check(inventory: Path, entry: str) -> None:
    """The property: never an exception; 0, or 2 with every problem on a line of its own."""
    if entry == "plan":
        code = factory.load_for_plan(inventory)
        event(f"plan loader exit {code}")
        assert code in (0, 2)
        return
    result = factory.validate(inventory) if entry == "validate" else factory.render(inventory)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    answer = json.loads(result.stdout)
    event(f"{entry} exit {answer['exit']}")
    assert answer["exit"] in (0, 2), answer
    if answer["exit"] == 2:
        assert answer["problems"] or answer["errors"], answer
    assert _one_line(answer["errors"]) and _one_line([p["message"] for p in answer["problems"]])


ENTRIES = st.sampled_from(["validate", "render", "plan"])


@SETTINGS
@given(data=st.data(), entry=ENTRIES)
def test_mutated_inventory_hosts_never_crash(data: st.DataObject, entry: str) -> None:
    hosts, group_data, estate = factory.valid()
    # (name, data) entries as lists while mutating, so the data inside is reachable
    hosts = {group: [list(entry) for entry in entries] for group, entries in hosts.items()}
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        choice = data.draw(st.sampled_from(["data", "name", "group"]), label="what")
        group = data.draw(st.sampled_from(sorted(hosts)), label="group")
        if choice == "data" or not isinstance(hosts[group], list) or not hosts[group]:
            _mutate(hosts, data)
        elif choice == "name":  # rename a host, or list it twice with other data
            index = data.draw(st.integers(0, len(hosts[group]) - 1), label="host")
            new = data.draw(st.one_of(HOSTILE_TEXT, st.sampled_from(["m1", "d1", "g1"])))
            hosts[group][index] = [new, *_as_list(hosts[group][index])[1:]]
        else:  # a group esdr does not know, or an empty one
            hosts[data.draw(st.sampled_from(["es_ingset", "gateway", "es_data", "other"]))] = (
                hosts.pop(group))
    hosts = {group: [tuple(e) if isinstance(e, list) and len(e) == 2 else e for e in entries]
             if isinstance(entries, list) else entries for group, entries in hosts.items()}
    _check(factory.write(_root(), hosts, group_data, estate), entry)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@SETTINGS
@given(data=st.data(), entry=ENTRIES)
def test_mutated_group_data_never_crashes(data: st.DataObject, entry: str) -> None:
    hosts, group_data, estate = factory.valid()
    es_keys = {k: v for k, v in group_data.items() if not k.startswith("gateway_")}
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        if data.draw(st.booleans(), label="known key"):
            _mutate(es_keys, data)
        else:  # any esdr setting, set or not in the valid project
            key = data.draw(st.sampled_from(sorted(_cluster_keys())), label="key")
            es_keys[key] = data.draw(VALUES, label="value")
    group_data = {k: v for k, v in group_data.items() if k.startswith("gateway_")} | es_keys
    group_data = {k: v for k, v in group_data.items() if k.isidentifier()}
    _check(factory.write(_root(), hosts, group_data, estate), entry)


@SETTINGS
@given(data=st.data(), entry=ENTRIES)
def test_mutated_estates_never_crash(data: st.DataObject, entry: str) -> None:
    hosts, group_data, estate = factory.valid()
    if data.draw(st.integers(0, 9), label="text") == 0:  # not YAML, or not a mapping
        text = data.draw(st.one_of(st.text(max_size=40), st.sampled_from(
            ["[1, 2]", "a: [", "\x00", "clusters: &a [*a]", "- x", "on: yes"])))
        _check(factory.write(_root(), hosts, group_data, estate_text=text), entry)
        return
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        _mutate(estate, data)
    _check(factory.write(_root(), hosts, group_data, estate), entry)


@SETTINGS
@given(data=st.data(), entry=ENTRIES)
def test_mutated_gateway_settings_never_crash(data: st.DataObject, entry: str) -> None:
    hosts, group_data, estate = factory.valid()
    gateway = {k: v for k, v in group_data.items() if k.startswith("gateway_")}
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        if data.draw(st.booleans(), label="known key"):
            _mutate(gateway, data)
        else:
            key = data.draw(st.sampled_from(sorted(_tier_keys())), label="key")
            gateway[key] = data.draw(VALUES, label="value")
    group_data = {k: v for k, v in group_data.items() if not k.startswith("gateway_")} | gateway
    group_data = {k: v for k, v in group_data.items() if k.isidentifier()}
    _check(factory.write(_root(), hosts, group_data, estate), entry)


# The parts of a generated estate: each strategy mixes values the engines take with ones they
# refuse (index-name rules, host:port, Elastic's cron), so both answers are exercised.
NAMES = st.one_of(st.sampled_from(["dc1", "dc2", "dc3", "Dc1", "a/b", "x;y", "a|b", "..", ""]),
                  HOSTILE_TEXT)
INDICES = st.one_of(
    st.sampled_from(["orders", "logs-dc1", "orders,*", "_all", "Orders", "-x", "+x", ".", "..",
                     "a b", "a#b", "dc2:orders", "é" * 128, "x" * 256, "logs-*", "orders-write",
                     "{{leader_index}}", "{{leader_index}}-copy"]),
    HOSTILE_TEXT,
)
SEEDS = st.one_of(
    st.sampled_from(["10.20.0.21:9300", "[fe80::1]:9300", "es.example.internal:9300",
                     "10.20.0.21:9300,10.20.0.22:9300", "10.20.0.21:70000", "fe80::1:9300",
                     "10.20.0.21", "[::1]", ":9300", "host name:9300", "[zz]:1"]),
    HOSTILE_TEXT,
)
CRONS = st.one_of(
    st.sampled_from(["0 30 1 * * ?", "0 0/15 * ? * MON-FRI 2026", "* * *", "1d",
                     "0 30 1 * * ?;", "0 30 1 * * ? 2026 9"]),
    HOSTILE_TEXT,
)
COUNTS = st.one_of(st.integers(-3, 60), st.sampled_from(["5", None, 1.5]))
PART = st.one_of(SCALARS, VALUES)


def _maybe(value: st.SearchStrategy, other: st.SearchStrategy = PART) -> st.SearchStrategy:
    """Mostly the part's own values, sometimes any value at all."""
    return st.one_of(value, value, value, other)


def _or_list(part: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(part, st.lists(part, max_size=3))


@st.composite
def estates(draw: st.DrawFn) -> dict[str, Any]:
    """An estate written from scratch, every field drawn from its own parts; cluster dc1 is
    the inventory's own (cluster t1) unless the draw renames it."""
    clusters = {"dc1": {"cluster_name": "t1", "seeds": draw(_or_list(_maybe(SEEDS)))}}
    for alias in draw(st.lists(_maybe(NAMES, HOSTILE_TEXT), max_size=2)):
        clusters[alias] = {"cluster_name": draw(_maybe(NAMES)),
                           "seeds": draw(_or_list(_maybe(SEEDS)))}
        if draw(st.booleans()):
            clusters[alias]["proxy_address"] = draw(_maybe(SEEDS))
    aliases = sorted(clusters, key=str)
    alias = st.one_of(st.sampled_from(aliases), NAMES)
    estate: dict[str, Any] = {"clusters": clusters,
                              "links": [{"from": draw(alias), "to": draw(alias)}
                                        for _ in range(draw(st.integers(0, 2)))]}
    if draw(st.booleans()):
        estate["repositories"] = {"dr": {"type": draw(st.sampled_from(["fs", "s3", "url", "x"])),
                                         "settings": {"location": "/mnt/snapshots/t1"},
                                         "writer": draw(alias)}}
        estate["slm"] = {draw(_maybe(NAMES, HOSTILE_TEXT)): {
            "cluster": draw(alias), "schedule": draw(_maybe(CRONS)), "name": "<n-{now/d}>",
            "repository": "dr",
            "retention": draw(st.dictionaries(
                st.sampled_from(["min_count", "max_count", "expire_after", "bogus"]),
                st.one_of(COUNTS, st.sampled_from(["30d", "thirty days"])), max_size=3))}}
    estate["followers"] = [
        {"cluster": draw(alias), "index": draw(_maybe(INDICES)), "remote": draw(alias),
         **({"leader_index": draw(_maybe(INDICES))} if draw(st.booleans()) else {}),
         **({"write_alias": draw(_maybe(INDICES))} if draw(st.booleans()) else {})}
        for _ in range(draw(st.integers(0, 2)))
    ]
    if draw(st.booleans()):
        estate["auto_follow"] = {draw(_maybe(NAMES, HOSTILE_TEXT)): {
            "cluster": draw(alias), "remote": draw(alias),
            "leader_index_patterns": draw(_or_list(_maybe(INDICES))),
            "leader_index_exclusion_patterns": draw(st.lists(_maybe(INDICES), max_size=2)),
            "follow_index_pattern": draw(_maybe(INDICES))}}
    if draw(st.booleans()):
        estate["bidirectional"] = {draw(_maybe(INDICES, HOSTILE_TEXT)): {
            draw(alias): draw(_maybe(INDICES)) for _ in range(draw(st.integers(0, 3)))}}
    return estate


@SETTINGS
@given(estate=estates(), entry=ENTRIES)
def test_generated_estates_are_valid_or_refused_never_a_crash(estate: dict, entry: str) -> None:
    hosts, group_data, _ = factory.valid()
    _check(factory.write(_root(), hosts, group_data, estate), entry)


@cache
def _cluster_keys() -> frozenset[str]:
    from esdr.model import CLUSTER_DEFAULTS, HOST_KEYS

    return frozenset(CLUSTER_DEFAULTS) | HOST_KEYS | {"es_bogus"}


@cache
def _tier_keys() -> frozenset[str]:
    from esdr.gateway.model import TIER_DEFAULTS

    return frozenset(TIER_DEFAULTS) | {"gateway_address", "gateway_bogus"}


def test_the_unmutated_project_is_valid_through_every_entry() -> None:
    """The property's starting point: without a mutation all three succeed (so a refusal in
    the examples is the mutation's doing)."""
    inventory = factory.write(_root(), *factory.valid())
    for entry in ("validate", "render"):
        result = factory.validate(inventory) if entry == "validate" else factory.render(inventory)
        assert json.loads(result.stdout)["exit"] == 0, result.stdout
    assert factory.load_for_plan(inventory) == 0
