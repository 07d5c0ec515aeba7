"""Property: whatever gateway settings a user writes, the typed load, the gateway model, its
validation and its rendering either accept them or refuse them with an esdr error (a problem
line, or an ``EsdrError``), never a traceback. And what passes keeps the promises of the
checks: the API on loopback unless opted in by name, no password the gateway would mangle, a
keepalived check URL whose port reads back.

In process, below the CLI (tests/unit/test_input_properties.py drives the CLI with whole
projects): the path ``esdr validate`` and the deploy's preflight take, from the hosts' data
(``esdr.schema.check_input``, ``tier_from_hosts``, ``validate_tier``) to every file rendered
(``host_files``) and the secrets file. ``EXAMPLES`` per run (``ESDR_GW_PROP_EXAMPLES`` for
more); about 10 ms each.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from esdr.checks.gateway import validate_tier
from esdr.errors import EsdrError
from esdr.gateway.model import TIER_DEFAULTS, tier_from_hosts
from esdr.gateway.render import check_command, host_files, secrets_file
from esdr.model import HostSpec
from esdr.problems import errors
from esdr.schema import check_input
from tests.gateway.factory import CLUSTERS, KEEPALIVED
from tests.gateway.limits import memory_cap

EXAMPLES = int(os.environ.get("ESDR_GW_PROP_EXAMPLES", "600"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

PASSWORD_VARIABLE = "ESDR_PROP_GW_PASSWORD"  # the primary's password, set per example
PASSWORD_FILE = Path(tempfile.mkdtemp(prefix="esdr-gw-props-")) / "backup.pw"

HOSTILE = st.one_of(
    st.sampled_from(["", " ", "..", "/", "a b", "x\ny", "tab\t", "nul\x00", "\u2028", "ü",
                     "$[[env.ESDR_PROP_GW_PASSWORD]]", "%h", "$(id)", "'\"", "{", "#", ";",
                     "x" * 300, "-1", "true"]),
    st.text(max_size=10),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), HOSTILE)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(HOSTILE, inner, max_size=3)), max_leaves=5)
ADDRESSES = st.one_of(*[st.sampled_from([
    "0.0.0.0", "::", "127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "10.0.0.11",
    "10.0.0.13", "10.0.1.5", "fd00::11", "fe80::1%eth0", "gw1.example.internal", "10.0.0.300",
    "10.0.0.11 ", "::ffff:127.0.0.1"])] * 3, HOSTILE)
PORTS = st.one_of(st.integers(-2, 70000), st.sampled_from([8000, 2900, 9200, "8000", True, 2.5]))
FLAGS = st.sampled_from([True, False, None, "yes", "no", 1, 0])
DURATIONS = st.sampled_from(["1s", "10s", "500ms", "1m30s", "0s", "10", "ten", "", None, 5,
                             "-1s", "2h", "1.5s"])
PATHS = st.sampled_from(["/opt/gw", "/var/lib/gw\\", "relative", "/a b", "/..", "", None,
                         "/x\ny", "/etc/infini-gateway", "/%h"])
NAMES = st.sampled_from(["infini-gateway", "gw_user", "root", "", "a b", "x;y", "-flag",
                         "u" * 40, None, 1])
PASSWORDS = st.one_of(
    st.just("ok-password"),
    st.sampled_from(["ok-password", "a=b", 'a"b', "a\\nb", "it's", "x$[[env.HOME]]", "]]",
                     "tab\there", "line\u2028sep", "é-ü", " spaced ", "#!%^&*", "x" * 200]),
    st.text(min_size=1, max_size=16).filter(lambda s: "\x00" not in s),
)
ENDPOINTS = st.one_of(st.sampled_from([
    ["https://10.0.1.10:9200"], ["http://10.0.1.10:9200"], ["https://[fd00::10]:9200"],
    "https://10.0.1.10:9200", [], ["10.0.1.10:9200"], ["https://$[[env.X]]:9200"],
    ["https://a b:9200"]]), VALUES)

KEY_VALUES: dict[str, st.SearchStrategy] = {
    "gateway_listen_address": ADDRESSES,
    "gateway_api_listen_address": ADDRESSES,
    "gateway_api_allow_remote_unauthenticated": FLAGS,
    "gateway_allow_plain_http": FLAGS,
    "gateway_connect_failover": FLAGS,
    "gateway_entry_port": PORTS,
    "gateway_api_port": PORTS,
    "gateway_api_transport": st.sampled_from(["ssh", "direct", "tcp", None, 1]),
    "gateway_connect_timeout": DURATIONS,
    "gateway_request_timeout": DURATIONS,
    "gateway_install_root": PATHS,
    "gateway_conf_dir": PATHS,
    "gateway_data_dir": PATHS,
    "gateway_log_dir": PATHS,
    "gateway_user": NAMES,
    "gateway_binary": NAMES,
    "gateway_version": st.sampled_from(["1.29.4", "1.0.0_SNAPSHOT", "", "a b", None]),
    "gateway_archive_url": st.sampled_from([
        None, "https://mirror.example.internal/gw.tar.gz", "http://10.0.0.1/gw.tar.gz", "x"]),
    "gateway_archive_sha256": st.sampled_from([None, "a" * 64, "zz", "A" * 64, 5]),
    "gateway_read_rules": st.one_of(st.none(), st.just([{"method": ["GET"], "pattern": ["/x"]}]),
                                    VALUES),
}
FRONT_DOOR_VALUES: dict[str, st.SearchStrategy] = {
    "kind": st.sampled_from(["keepalived", "nginx", "floating_ip", "other", None]),
    "check": st.sampled_from(["entry", "api", "other", None]),
    "interface": st.sampled_from(["eth0", "bond0.12", "a b", "x" * 20, "..", None]),
    "vips": st.one_of(st.lists(st.fixed_dictionaries(
        {"address": st.sampled_from(["10.0.0.100/24", "10.0.0.100", "fd00::100/64",
                                     "10.9.0.1/24", "x"])},
        optional={"virtual_router_id": st.one_of(st.integers(-1, 300), HOSTILE),
                  "priorities": st.dictionaries(st.sampled_from(["gw1", "gw2", "gw3", "x"]),
                                                st.one_of(st.integers(-1, 300), HOSTILE),
                                                max_size=3)}), max_size=2), VALUES),
    "nopreempt": FLAGS,
    "unicast": FLAGS,
    "check_interval": PORTS,
    "upstreams": st.one_of(st.lists(st.sampled_from(["gw1", "gw2", "x"]), max_size=3), VALUES),
    "backup": st.one_of(st.lists(st.sampled_from(["gw1", "gw2", "x"]), max_size=2), VALUES),
    "hash_by_index": FLAGS,
}
CLUSTER_VALUES: dict[str, st.SearchStrategy] = {
    "name": st.sampled_from(["dc1", "dc2", "dc-1", "DC_1", "", "a b", "x\ny", None, 1]),
    "endpoints": ENDPOINTS,
    "username": st.sampled_from(["gw", None, "", "a b", 1]),
    "password": st.sampled_from([{"env": PASSWORD_VARIABLE}, {"file": str(PASSWORD_FILE)},
                                 {"env": "UNSET_ESDR_PROP_VARIABLE"}, {"file": "/dev/zero"},
                                 "literal", {"env": "1x"}, {}, None]),
    "version": st.sampled_from(["8.19.21", "2.19.4", None, "", 8]),
    "distribution": st.sampled_from(["elasticsearch", "opensearch", None, "solr"]),
}


@st.composite
def projects(draw: st.DrawFn) -> tuple[list[HostSpec], dict[str, Any]]:
    """The host specs of one inventory with a mutated gateway tier, and what was drawn."""
    group: dict[str, Any] = {"gateway_clusters": copy.deepcopy(CLUSTERS),
                             "gateway_front_door": copy.deepcopy(KEEPALIVED),
                             "gateway_allow_plain_http": draw(FLAGS)}
    group["gateway_clusters"]["primary"]["password"] = {"env": PASSWORD_VARIABLE}
    group["gateway_clusters"]["backup"]["password"] = {"file": str(PASSWORD_FILE)}
    for _ in range(draw(st.integers(1, 4), label="changes")):
        where = draw(st.sampled_from(["key"] * 4 + ["front door"] * 2 + ["cluster"] * 2
                                     + ["any"]), label="where")
        if where == "key":
            key = draw(st.sampled_from(sorted(KEY_VALUES)), label="key")
            group[key] = draw(KEY_VALUES[key], label=key)
        elif where == "front door" and isinstance(group.get("gateway_front_door"), dict):
            key = draw(st.sampled_from(sorted(FRONT_DOOR_VALUES)), label="front door key")
            group["gateway_front_door"][key] = draw(FRONT_DOOR_VALUES[key], label=key)
        elif where == "cluster" and isinstance(group.get("gateway_clusters"), dict):
            role = draw(st.sampled_from(["primary", "backup", "third"]), label="role")
            entry = group["gateway_clusters"].setdefault(role, {})
            if isinstance(entry, dict):
                key = draw(st.sampled_from(sorted(CLUSTER_VALUES)), label="cluster key")
                entry[key] = draw(CLUSTER_VALUES[key], label=key)
        else:  # any tier key, any value
            key = draw(st.sampled_from(sorted(TIER_DEFAULTS) + ["gateway_bogus"]), label="any")
            group[key] = draw(VALUES, label="value")
    count = draw(st.integers(1, 3), label="gateways")
    specs = [HostSpec(f"gw{i + 1}", ("gateways", "prop"), {
        "ssh_hostname": f"10.0.0.{11 + i}", **group,
        **({"gateway_address": draw(ADDRESSES, label="gateway_address")}
           if draw(st.integers(0, 3)) == 0 else {})}) for i in range(count)]
    if draw(st.booleans(), label="nginx host"):
        specs.append(HostSpec("lb1", ("gateway_lb", "prop"), {"ssh_hostname": "10.0.0.5",
                                                              **group}))
    drawn = {"primary password": draw(PASSWORDS, label="primary password"),
             "backup password": draw(PASSWORDS, label="backup password")}
    return specs, drawn


def _one_line(text: str) -> bool:
    return "\n" not in text


# The oracles, written here rather than taken from esdr: what only this host can connect to,
# and what the gateway's $[[env.NAME]] substitution would not pass intact (the framework's
# core/config/config.go splits each environment entry at every '=', then substitutes the value
# into gateway.yml's text, inside a double-quoted YAML scalar; the EnvironmentFile single-quotes
# it).
def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _mangled(password: str) -> bool:
    return (any(c in password for c in "=\"\\'") or "$[[" in password or "]]" in password
            or not password.isprintable())


def _binding_host(gateway_yml: str) -> str:
    binding = yaml.safe_load(gateway_yml)["api"]["network"]["binding"]
    return binding.rsplit(":", 1)[0].strip("[]")


def _pipeline(specs: list[HostSpec]) -> str:
    """What happened to one project: "refused: <how>" or "accepted"; raises on a traceback.
    On acceptance, the promises of the checks are asserted."""
    problems = check_input(specs, {g for s in specs for g in s.groups}, None, "prop.py", "prop")
    assert all(_one_line(p.message) for p in problems)
    if errors(problems):
        return "refused: typed load"
    try:
        tier = tier_from_hosts(specs, source="prop.py")
    except EsdrError:
        return "refused: model"
    assert tier is not None
    problems = validate_tier(tier)
    assert all(_one_line(str(p)) for p in problems), problems
    if errors(problems):
        return "refused: validation"
    try:
        files = {h.name: host_files(tier, h) for h in (*tier.gateways, *tier.balancers)}
    except EsdrError:
        return "refused: render"
    # accepted: the API on loopback unless opted in by name
    for gateway in tier.gateways:
        (config,) = [f for f in files[gateway.name] if f.path.endswith("gateway.yml")]
        if tier.settings.get("gateway_api_allow_remote_unauthenticated") is not True:
            assert _loopback(_binding_host(config.content)), config.content[:400]
    # a keepalived check URL whose port reads back (IPv6 in brackets)
    if tier.front_door is not None and tier.front_door.kind == "keepalived":
        url = urllib.parse.urlsplit(check_command(tier)[-1])
        assert url.port in (tier["gateway_entry_port"], tier["gateway_api_port"]), url
    # no password the gateway would mangle reaches the secrets file
    try:
        with memory_cap():  # a reference to /dev/zero must not be read into memory
            secrets = secrets_file(tier)
    except EsdrError:
        return "accepted, secrets refused at deploy"
    for line in secrets.content.splitlines()[1:]:
        assert not _mangled(line.split("=", 1)[1][1:-1]), "a password the gateway mangles"
    return "accepted"


@SETTINGS
@given(project=projects())
def test_random_gateway_settings_validate_or_are_refused_never_a_traceback(project) -> None:
    specs, drawn = project
    previous = os.environ.get(PASSWORD_VARIABLE)
    os.environ[PASSWORD_VARIABLE] = drawn["primary password"]
    PASSWORD_FILE.write_text(drawn["backup password"])
    try:
        event(_pipeline(specs))
    finally:
        if previous is None:
            os.environ.pop(PASSWORD_VARIABLE, None)
        else:
            os.environ[PASSWORD_VARIABLE] = previous


def test_the_unmutated_tier_is_accepted() -> None:
    """The property's starting point: without a change the tier passes (so each refusal in
    the examples is the change's doing)."""
    specs = [HostSpec(f"gw{i}", ("gateways", "prop"), {
        "ssh_hostname": f"10.0.0.1{i}", "gateway_clusters": copy.deepcopy(CLUSTERS),
        "gateway_front_door": copy.deepcopy(KEEPALIVED)}) for i in (1, 2)]
    os.environ.setdefault("DC1_PW", "ok-password")  # the factory's references
    try:
        assert _pipeline(specs) in ("accepted", "accepted, secrets refused at deploy")
    finally:
        if os.environ.get("DC1_PW") == "ok-password":
            del os.environ["DC1_PW"]
