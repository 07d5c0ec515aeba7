"""What each check concludes from what a host showed: pure functions from observed text or
values to a problem (one line saying what differs) or ``None``. ``esdr.verify.suite`` gathers
the observations over SSH; everything that decides pass or fail is here, where it is tested
without a host.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

# the node API's answers are read as the deploy reads them
from esdr.facts.elasticsearch import parse_response as parse_api  # noqa: F401
from esdr.reconcile.normalize import norm

HEALTH_ORDER = {"red": 0, "yellow": 1, "green": 2}
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
# A shadow password field that allows no password login: locked ("!..."), none ("*").
_NO_PASSWORD = ("!", "*")


# --- files --------------------------------------------------------------------------------------

def path_problem(expected: Mapping[str, Any], exists: bool, is_directory: bool = False,
                 user: str | None = None, group: str | None = None,
                 mode: int | None = None) -> str | None:
    """Owner, group and mode (``stat %a``, setgid included) against what the deploy sets."""
    if not exists:
        return "missing"
    if bool(expected.get("directory")) != is_directory:
        want = "a directory" if expected.get("directory") else "a file"
        return f"not {want}"
    want_mode = int(str(expected["mode"]), 8)
    found = []
    if user != expected["user"] or group != expected["group"]:
        found.append(f"owner {user}:{group}, expected {expected['user']}:{expected['group']}")
    if mode != want_mode:
        found.append(f"mode {mode:o}, expected {want_mode:o}" if mode is not None
                     else f"mode unknown, expected {want_mode:o}")
    return "; ".join(found) if found else None


def content_problem(actual: str | None, expected: str, max_lines: int = 12) -> str | None:
    """The file as ``esdr render`` writes it, byte for byte; the first differing lines."""
    if actual is None:
        return "missing"
    if actual == expected:
        return None
    diff = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                     "rendered", "on the host", lineterm="", n=0))
    shown = [line for line in diff if not line.startswith(("---", "+++"))][:max_lines]
    if not shown:  # only line endings or the final newline differ
        shown = ["(line endings or the final newline differ)"]
    return "differs from what esdr render writes:\n  " + "\n  ".join(shown)


# --- services and ports -------------------------------------------------------------------------

def _local_address(text: str) -> tuple[str, str]:
    """ss's ``Local Address:Port`` column as (address, port), IPv4-mapped IPv6 as IPv4 and any
    ``%interface`` suffix dropped."""
    address, _, port = text.rpartition(":")
    address = address.strip("[]").split("%", 1)[0]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address, port
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return str(parsed), port


def listening_problem(ss_output: str, address: str, port: int) -> str | None:
    """From ``ss -Hltn``: a socket listening on ``address:port`` (``0.0.0.0`` also accepts
    the IPv6 wildcard, which takes IPv4 connections too)."""
    wanted = {address}
    if address in ("0.0.0.0", "::", "*"):
        wanted = {"0.0.0.0", "::", "*"}
    seen = []
    for line in ss_output.splitlines():
        words = line.split()
        if len(words) < 4:
            continue
        local, local_port = _local_address(words[3])
        if local_port == str(port):
            seen.append(local)
            if local in wanted:
                return None
    if seen:
        return f"port {port} listens on {', '.join(sorted(set(seen)))}, not on {address}"
    return f"nothing listens on {address}:{port}"


# --- the service account ------------------------------------------------------------------------

def account_problem(expected: Mapping[str, Any], exists: bool, shell: str | None,
                    group: str | None, home: str | None) -> str | None:
    if not exists:
        return f"user {expected['user']} does not exist"
    found = [f"{what} {value}, expected {expected[what]}"
             for what, value in (("shell", shell), ("group", group), ("home", home))
             if value != expected[what]]
    return f"user {expected['user']}: " + "; ".join(found) if found else None


def password_problem(user: str, shadow_field: str | None) -> str | None:
    """The shadow entry must allow no password login (locked or none)."""
    if shadow_field is None:
        return f"user {user} has no shadow entry to read"
    if shadow_field.startswith(_NO_PASSWORD):
        return None
    if shadow_field == "":
        return f"user {user} has an empty password (login without one)"
    return f"user {user} has a password set"  # the hash itself is never shown


# --- process limits -----------------------------------------------------------------------------

def parse_limits(text: str) -> dict[str, tuple[str, str]]:
    """/proc/PID/limits (proc(5)): row name -> (soft, hard)."""
    out: dict[str, tuple[str, str]] = {}
    for line in text.splitlines()[1:]:
        match = re.match(r"^(.+?)\s{2,}(\S+)\s+(\S+)", line)
        if match:
            out[match.group(1).strip()] = (match.group(2), match.group(3))
    return out


def _limit_value(text: str) -> int | None:
    """``unlimited``/``infinity`` -> None, else the number."""
    return None if text in ("unlimited", "infinity") else int(text)


def limit_problem(directive: str, row: str, unit_value: str, process: Mapping[str, tuple],
                  ceiling: Mapping[str, tuple] | None = None) -> tuple[str | None, str | None]:
    """(problem, skip reason) for one ``Limit*=`` of the unit against the running process.

    systemd sets a limit it may not raise as high as it can instead (``setrlimit_closest`` in
    systemd's source): on a host whose service manager has a lower hard limit itself
    (``ceiling``, /proc/1/limits; a container without CAP_SYS_RESOURCE), the process gets that.
    Then the check is skipped with the reason, not passed: the host, not the deploy, is short.
    """
    if not row or row not in process:
        return f"{directive}: /proc shows no {row or directive} row", None
    want = _limit_value(unit_value.split(":")[0])
    soft, hard = (_limit_value(v) for v in process[row])
    if soft == want and hard == want:
        return None, None
    shown = f"{process[row][0]}/{process[row][1]} (soft/hard)"
    if ceiling and row in ceiling:
        cap = _limit_value(ceiling[row][1])
        lower = cap is not None and (want is None or cap < want)
        if lower and soft == cap and hard == cap:
            return None, (f"{directive}={unit_value}: the process has {shown}, the most this "
                          f"host's service manager can give (its own hard limit is {cap})")
    return f"{directive}={unit_value}, but the running process has {shown}", None


# --- kernel settings ----------------------------------------------------------------------------

def sysctl_problem(key: str, value: Any, op: str, expected: int) -> str | None:
    try:
        number = int(str(value).split()[0])
    except (ValueError, IndexError):
        return f"{key} reads {value!r}, not a number"
    good = number >= expected if op == ">=" else number == expected
    return None if good else f"{key} = {number}, expected {op} {expected}"


# --- TLS ----------------------------------------------------------------------------------------

def pem_certificates(text: str) -> list[x509.Certificate]:
    return [x509.load_pem_x509_certificate(m.encode()) for m in _PEM.findall(text)]


def certificate_problem(served: str, ca_pem: str | None) -> str | None:
    """The certificate the node serves (``openssl s_client -showcerts`` output, leaf first) is
    signed by a CA of the estate (``ca_pem``: one or, during a rotation, several)."""
    if not ca_pem:
        return ("the controller holds no estate CA to check against (esdr's secrets directory: "
                "deploy first, or set es_secrets_dir)")
    chain = pem_certificates(served)
    if not chain:
        return "no certificate was served (is TLS on?)"
    leaf = chain[0]
    subject = leaf.subject.rfc4514_string()
    for ca in pem_certificates(ca_pem):
        try:
            leaf.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return None
    return (f"the served certificate ({subject}, issued by {leaf.issuer.rfc4514_string()}) is "
            "not signed by the estate CA")


def plain_http_problem(status: str) -> str | None:
    """curl's ``%{http_code}`` for a plain-HTTP request: ``000`` means no HTTP answer."""
    code = status.strip()[-3:]
    return None if code in ("", "000") else f"plain HTTP answered with status {code}"


# --- the node API -------------------------------------------------------------------------------

def local_node(nodes_response: Any) -> dict[str, Any] | None:
    """From ``GET _nodes/_local``: the one node, with ``cluster_name`` added."""
    if not isinstance(nodes_response, dict) or not isinstance(nodes_response.get("nodes"), dict):
        return None
    nodes = list(nodes_response["nodes"].values())
    if len(nodes) != 1:
        return None
    return {**nodes[0], "cluster_name": nodes_response.get("cluster_name")}


def view_problem(view: Mapping[str, Any] | None, field: str, expected: Any) -> str | None:
    """One field of the node's own view (``attributes.zone`` for a nested key)."""
    if view is None:
        return "the node's API gave no answer about itself"
    value: Any = view
    for part in field.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(expected, list):
        value = sorted(value) if isinstance(value, list) else value
    if value == expected:
        return None
    return f"the node says {field} = {value!r}, expected {expected!r}"


def health_problem(health: Any, minimum: str) -> str | None:
    status = health.get("status") if isinstance(health, dict) else None
    if status not in HEALTH_ORDER:
        return "no cluster health in the answer"
    if HEALTH_ORDER[status] >= HEALTH_ORDER[minimum]:
        return None
    return f"health is {status}, expected at least {minimum}"


def names_problem(what: str, found: Sequence[str], expected: Sequence[str]) -> str | None:
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if not missing and not extra:
        return None
    parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
        [f"not in the inventory: {', '.join(extra)}"] if extra else [])
    return f"{what}: " + "; ".join(parts)


def node_names(nodes_response: Any, master_eligible: bool = False) -> list[str]:
    """Names from ``GET _nodes`` (every node, or those with a master-eligible role)."""
    if not isinstance(nodes_response, dict) or not isinstance(nodes_response.get("nodes"), dict):
        return []
    out = []
    for node in nodes_response["nodes"].values():
        roles = node.get("roles") or []
        if not master_eligible or "master" in roles or "cluster_manager" in roles:
            out.append(str(node.get("name")))
    return sorted(out)


def persistent_problem(settings: Any, key: str, expected: Any) -> str | None:
    """``GET _cluster/settings?flat_settings=true``: the persistent value esdr sets."""
    persistent = settings.get("persistent") if isinstance(settings, dict) else None
    value = persistent.get(key) if isinstance(persistent, dict) else None
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if norm(value) == norm(expected):  # as the reconciler compares them (strings)
        return None
    return f"persistent {key} is {value!r}, expected {expected!r}"


def status_problem(what: str, status: int) -> str | None:
    if status == 200:
        return None
    if status == 0:
        return f"{what}: the node's API gave no answer"
    return f"{what} is missing (HTTP {status})"


# --- shard copies across zones ------------------------------------------------------------------

def zone_test_index(copies: int) -> dict[str, Any]:
    """The test index's body: one shard, one copy per data zone (a primary and ``copies - 1``
    replicas); allocation awareness on the zone attribute places no two copies in one zone
    while another zone has none:
    https://www.elastic.co/guide/en/elasticsearch/reference/current/shard-allocation-awareness.html
    """
    return {"settings": {"index.number_of_shards": 1,
                         "index.number_of_replicas": max(copies - 1, 0),
                         "index.auto_expand_replicas": "false"}}


def node_zones(nodes_response: Any, attribute: str) -> dict[str, str | None]:
    """Node name -> its ``attribute`` value, from ``GET _nodes`` (``nodes.*.name`` and
    ``nodes.*.attributes``)."""
    if not isinstance(nodes_response, dict) or not isinstance(nodes_response.get("nodes"), dict):
        return {}
    out: dict[str, str | None] = {}
    for node in nodes_response["nodes"].values():
        attributes = node.get("attributes") if isinstance(node.get("attributes"), dict) else {}
        out[str(node.get("name"))] = attributes.get(attribute)
    return out


def zone_copies_problem(shards: Any, zone_of: Mapping[str, str | None],
                        zones: Sequence[str]) -> str | None:
    """From ``GET _cat/shards/INDEX?format=json&h=shard,prirep,state,node``: every shard of the
    test index has exactly one started copy in each data zone (``zones``), none elsewhere."""
    if not isinstance(shards, list) or not shards:
        return "the test index has no shard copies to read (_cat/shards answered none)"
    by_shard: dict[str, list[Mapping[str, Any]]] = {}
    for row in shards:
        by_shard.setdefault(str(row.get("shard")), []).append(row)
    found: list[str] = []
    for shard, rows in sorted(by_shard.items()):
        placed: dict[str, list[str]] = {}
        for row in rows:
            state, node = row.get("state"), row.get("node")
            if state not in ("STARTED", "RELOCATING") or not node:
                copy = "primary" if row.get("prirep") == "p" else "replica"
                found.append(f"shard {shard}: a {copy} is {state or 'in no state'}")
                continue
            name = str(node).split(" -> ")[0].strip()  # a relocating copy: where it is now
            zone = zone_of.get(name)
            if zone is None:
                found.append(f"shard {shard}: a copy on {name}, which has no zone attribute")
                continue
            placed.setdefault(zone, []).append(name)
        missing = [z for z in zones if z not in placed]
        if missing:
            found.append(f"shard {shard}: no copy in {', '.join(missing)}")
        for zone, names in sorted(placed.items()):
            if zone not in zones:
                found.append(f"shard {shard}: a copy in {zone}, not a data zone "
                             f"({', '.join(sorted(names))})")
            elif len(names) > 1:
                found.append(f"shard {shard}: {len(names)} copies in {zone} "
                             f"({', '.join(sorted(names))})")
    return "; ".join(found) if found else None


def index_created_problem(index: str, status: int, body: Any) -> str | None:
    """``PUT INDEX``'s answer: 200, or what the cluster said instead."""
    if status == 200:
        return None
    if status == 0:
        return f"creating the test index {index}: the node's API gave no answer"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("type") == "resource_already_exists_exception":
        # deleted just before: this run's own, made through a node whose answer came too late
        # and asked again through the next one
        return None
    reason = (f": {error.get('type')}: {error.get('reason')}" if isinstance(error, dict)
              else "")
    return f"the test index {index} could not be created (HTTP {status}{reason})"
