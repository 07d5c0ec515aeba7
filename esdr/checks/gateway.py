"""Refuse a bad gateway tier before any host is touched: every problem at once.

``validate_tier`` checks the inventory's gateway section (clusters, credentials, front door),
then renders each gateway's gateway.yml and lints it, so ``esdr validate`` catches both. Pure
but for one read: a cluster password this machine has (its variable set, its file readable) is
looked at, never shown, for what the gateway could not receive intact.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter, defaultdict

from esdr.errors import BadInput
from esdr.gateway.lint import lint_text
from esdr.gateway.model import (
    FRONT_DOOR_KINDS,
    LB_GROUP,
    ClusterRef,
    FrontDoor,
    GatewayTier,
    Vip,
    is_loopback,
)
from esdr.gateway.render import gateway_yml
from esdr.gateway.secrets import PASSWORD_FIX, password_defects, peek, runtime_env_name
from esdr.problems import Problem, errors


def validate_tier(tier: GatewayTier) -> list[Problem]:
    where = f"gateways ({tier.source or 'inventory'})"
    problems: list[Problem] = []
    problems.extend(_check_settings(tier, where))
    problems.extend(_check_clusters(tier, where))
    problems.extend(_check_front_door(tier, where))
    if not errors(problems):
        problems.extend(_lint_rendered(tier))
    return problems


def _check_settings(tier: GatewayTier, where: str) -> list[Problem]:
    out = []
    if not tier.gateways:
        out.append(Problem(where, "no-gateways", "no host is in group `gateways`"))
    for key in tier.inconsistent_keys:
        out.append(
            Problem(
                where,
                "gateway-setting-differs",
                f"{key} differs between hosts; it is tier-wide: set it once in group_data",
            )
        )
    entry, api = tier["gateway_entry_port"], tier["gateway_api_port"]
    if entry == api:
        out.append(
            Problem(
                where, "port-clash", f"gateway_entry_port and gateway_api_port are both {entry}"
            )
        )
    if tier["gateway_archive_url"] and tier["gateway_archive_local"]:
        out.append(
            Problem(
                where,
                "archive-source-ambiguous",
                "set gateway_archive_url or gateway_archive_local, not both",
            )
        )
    out.extend(_check_archive_checksum(tier, where))
    out.extend(_check_api_exposure(tier, where))
    out.extend(_check_plain_http_allowed(tier, where))
    return out


ALLOW_PLAIN = "gateway_allow_plain_http"


def _check_plain_http_allowed(tier: GatewayTier, where: str) -> list[Problem]:
    # Plain HTTP on the entry and Nginx sends every application's basic auth in clear, and an
    # http:// endpoint the gateway's own (RFC 7617 section 4). A lab inventory (es_lab = True on
    # every host of the tier) may accept that; production never.
    allowed = tier[ALLOW_PLAIN]
    if allowed is False:
        return []
    if not isinstance(allowed, bool):
        return [Problem(where, "gateway-setting-invalid", f"{ALLOW_PLAIN} must be True or False")]
    fd = tier.front_door
    plain = "the gateway entries" + (" and Nginx" if fd is not None and fd.kind == "nginx" else "")
    if tier.lab:
        return [Problem(where, "gateway-plain-http", f"{ALLOW_PLAIN} = True (lab): {plain} "
                        "listen without TLS, so the applications' passwords cross the network "
                        "in clear", "warning")]
    hosts = [h.name for h in (*tier.gateways, *tier.balancers)]
    return [Problem(
        where, "gateway-plain-http-outside-lab",
        f"{ALLOW_PLAIN} = True is allowed only in a lab inventory (es_lab = True on every host "
        f"of the gateway tier: {', '.join(hosts)}): {plain} would listen without "
        "TLS and pass the applications' basic auth in clear. Remove it: the entries and the "
        "front door then speak TLS with certificates from the estate CA")]


ALLOW_REMOTE_API = "gateway_api_allow_remote_unauthenticated"


def _check_api_exposure(tier: GatewayTier, where: str) -> list[Problem]:
    # The gateway's API has no authentication: GET /config/runtime and GET /environments answer
    # both clusters' passwords, DELETE /queue/<id> drops the writes owed to a cluster (framework
    # modules/configs/config/config.go, modules/queue/api.go). esdr needs it on loopback only.
    address, port = tier["gateway_api_listen_address"], tier["gateway_api_port"]
    allowed = tier[ALLOW_REMOTE_API]
    out = []
    if not isinstance(allowed, bool):
        out.append(Problem(where, "gateway-setting-invalid",
                           f"{ALLOW_REMOTE_API} must be True or False"))
    if not is_loopback(address):
        reach = f"anyone who reaches {address}:{port} reads both clusters' passwords from " \
                "GET /config/runtime (the gateway's API has no authentication)"
        if allowed is not True:
            out.append(Problem(
                where, "gateway-api-not-loopback",
                f"gateway_api_listen_address {address}: {reach}; keep the default 127.0.0.1 "
                "(keepalived and the deploy ask it on the host, esdr gateway status through "
                f"the host's sshd), or accept that with {ALLOW_REMOTE_API} = True"))
        elif not tier.lab:
            out.append(Problem(where, "gateway-api-exposed",
                               f"gateway_api_listen_address {address} ({ALLOW_REMOTE_API}): "
                               f"{reach}", "warning"))
    if tier["gateway_api_transport"] == "direct" and is_loopback(address):
        far = [g.name for g in tier.gateways if not is_loopback(g.address)]
        if far:
            out.append(Problem(
                where, "gateway-api-unreachable",
                f"gateway_api_transport 'direct' connects from here to {', '.join(far)} on port "
                f"{port}, but the API listens on {address} only: use the default transport "
                "'ssh' (a forward through each gateway host's sshd to its loopback)"))
    return out


def _check_archive_checksum(tier: GatewayTier, where: str) -> list[Problem]:
    # INFINI publishes no checksum beside its tarballs, so the download cannot check itself:
    # without the operator's digest, whatever the URL serves would run as the gateway.
    url = tier["gateway_archive_url"]
    digests = {"gateway_archive_sha256": 64, "gateway_archive_sha512": 128}
    given = {key: tier[key] for key in digests if tier[key]}
    if url and not given:
        return [
            Problem(
                where,
                "archive-checksum-missing",
                f"gateway_archive_url {url} has no gateway_archive_sha256 (or "
                "gateway_archive_sha512): set the tarball's digest (sha256sum FILE) so the "
                "deploy installs only that file",
            )
        ]
    out = []
    if len(given) > 1:
        out.append(Problem(where, "archive-checksum-ambiguous",
                           "set gateway_archive_sha256 or gateway_archive_sha512, not both"))
    for key, value in given.items():
        length = digests[key]
        if not (isinstance(value, str) and re.fullmatch(f"[0-9a-fA-F]{{{length}}}", value)):
            kind = key.rsplit("_", 1)[-1]
            out.append(
                Problem(
                    where,
                    "archive-checksum-invalid",
                    f"{key} is not a {kind} hex digest ({length} characters 0-9, a-f)",
                )
            )
    return out


def _check_clusters(tier: GatewayTier, where: str) -> list[Problem]:
    out = [Problem(where, "gateway-clusters-invalid", m) for m in tier.cluster_errors]
    names = Counter(c.name for c in tier.clusters)
    for cluster in tier.clusters:
        here = f"gateway cluster {cluster.role} ({cluster.name or '?'})"
        if not cluster.name:
            out.append(
                Problem(
                    here, "cluster-name-missing", f"gateway_clusters.{cluster.role} has no name"
                )
            )
        elif names[cluster.name] > 1:
            out.append(
                Problem(here, "clusters-same-name", "primary and backup must be different clusters")
            )
        if not cluster.endpoints:
            out.append(
                Problem(here, "endpoints-missing", "no endpoints (e.g. ['http://10.0.0.1:9200'])")
            )
        for endpoint in cluster.endpoints:
            if not endpoint.startswith(("http://", "https://")):
                out.append(
                    Problem(here, "endpoint-invalid", f"endpoint {endpoint!r} needs http(s)://")
                )
        if cluster.password_error:
            out.append(
                Problem(here, "password-not-a-reference", f"password {cluster.password_error}")
            )
        elif cluster.username and cluster.password is None:
            out.append(
                Problem(
                    here,
                    "password-missing",
                    f"username {cluster.username!r} has no password reference "
                    "(password: {'env': 'NAME'} or {'file': '/path'})",
                )
            )
        out.extend(_check_plain_http(tier, cluster, here))
        out.extend(_check_pinned_version(cluster, here))
    out.extend(_check_password_variables(tier, where))
    out.extend(_check_password_values(tier))
    return out


def _check_password_values(tier: GatewayTier) -> list[Problem]:
    # The gateway gets each password through $[[env.NAME]], substituted into gateway.yml's text
    # (esdr.gateway.secrets, beside _DEFECTS, says how each character is mangled). A password
    # this machine does not have is left to the deploy, which checks it again (secrets_file).
    out = []
    for cluster in tier.clusters:
        if not cluster.username or cluster.password is None:
            continue
        value = peek(cluster.password)
        defects = password_defects(value) if value is not None else []
        if defects:
            out.append(Problem(
                f"gateway cluster {cluster.role} ({cluster.name or '?'})",
                "gateway-password-unusable",
                f"the password in {cluster.password} "
                f"(gateway_clusters.{cluster.role}.password) contains {', '.join(defects)}, "
                "which the gateway's $[[env.NAME]] substitution would not pass intact (it "
                f"would log in with another password, or not start): {PASSWORD_FIX}"))
    return out


def _check_plain_http(tier: GatewayTier, cluster: ClusterRef, here: str) -> list[Problem]:
    # Basic auth sends the password base64-encoded with every request: over http:// anyone on
    # the path reads it (https://www.rfc-editor.org/rfc/rfc7617#section-4). Only a lab, whose
    # group data says so with gateway_allow_plain_http, may do that (refused elsewhere:
    # _check_plain_http_allowed).
    if not (cluster.username or cluster.password) or tier["gateway_allow_plain_http"] is True:
        return []
    return [
        Problem(
            here,
            "credentials-over-plain-http",
            f"endpoint {endpoint} would carry the password of {cluster.username or 'the user'} "
            "in clear text (basic auth over http): use https://, or, in a lab inventory only "
            "(es_lab = True), set gateway_allow_plain_http = True in its group data",
        )
        for endpoint in cluster.endpoints
        if isinstance(endpoint, str) and endpoint.startswith("http://")
    ]


def _check_pinned_version(cluster: ClusterRef, here: str) -> list[Problem]:
    # Without version and distribution the gateway asks the cluster (GET /) at start and exits
    # when it gets no answer ("elasticsearch config [...] was not found"): a gateway restarted
    # while this data centre is down would not come back, just when it is needed.
    if cluster.version and cluster.distribution:
        return []
    if cluster.distribution not in (None, "elasticsearch", "opensearch"):
        return []  # the typed load already says what distribution may be
    return [
        Problem(
            here,
            "cluster-version-unpinned",
            "no version and distribution: the gateway probes GET / at start and exits when "
            "this cluster does not answer; set version (e.g. '8.19.21') and distribution "
            "('elasticsearch' or 'opensearch') on the cluster entry",
            "warning",
        )
    ]


def _check_password_variables(tier: GatewayTier, where: str) -> list[Problem]:
    # The gateway reads each cluster's password from one environment variable named after the
    # cluster (esdr.gateway.secrets.runtime_env_name): two names that differ only in '-', '_'
    # or '.' (or case) would make one cluster log in with the other's password.
    names = defaultdict(set)
    for cluster in tier.clusters:
        if cluster.name and cluster.password is not None:
            names[runtime_env_name(cluster.name)].add(cluster.name)
    return [
        Problem(
            where,
            "password-variable-collision",
            f"gateway clusters {' and '.join(sorted(clashing))} would share the password "
            f"variable {variable}: rename one so their names differ in a letter or digit",
        )
        for variable, clashing in sorted(names.items())
        if len(clashing) > 1
    ]


def _check_front_door(tier: GatewayTier, where: str) -> list[Problem]:
    fd = tier.front_door
    raw = tier["gateway_front_door"]
    if raw is None:
        return [
            Problem(
                where,
                "front-door-missing",
                "no gateway_front_door: clients must pick a gateway themselves; set kind "
                f"{' / '.join(FRONT_DOOR_KINDS)}",
                "warning",
            )
        ]
    if fd is None or fd.kind not in FRONT_DOOR_KINDS:
        kind = fd.kind if fd else raw
        return [
            Problem(
                where,
                "front-door-kind",
                f"gateway_front_door kind {kind!r} is not one of {', '.join(FRONT_DOOR_KINDS)}",
            )
        ]
    if fd.kind == "nginx":
        return _check_nginx(tier, fd, where)
    return _check_vips(tier, fd, where)


def _check_vips(tier: GatewayTier, fd: FrontDoor, where: str) -> list[Problem]:
    out: list[Problem] = []
    if not fd.vips:
        return [Problem(where, "vip-missing", f"{fd.kind} needs vips: [{{'address': 'IP/len'}}]")]
    if fd.kind == "floating_ip" and len(fd.vips) > 1:
        out.append(
            Problem(where, "floating-ip-one-vip", "the built-in floating_ip has one address")
        )
    for vrid, count in Counter(str(v.virtual_router_id) for v in fd.vips).items():
        if count > 1:
            out.append(
                Problem(
                    where,
                    "duplicate-virtual-router-id",
                    f"virtual_router_id {vrid} is used by {count} VIPs of this inventory; each "
                    "VRRP instance on a network needs its own id (1-255)",
                )
            )
    for vip in fd.vips:
        out.extend(_check_vip(tier, vip))
    return out


def _check_vip(tier: GatewayTier, vip: Vip) -> list[Problem]:
    here = f"vip {vip.address}"
    try:
        iface = ipaddress.IPv4Interface(vip.address)
    except ValueError:
        return [
            Problem(
                here,
                "vip-invalid",
                "write the VIP as an IPv4 address with its prefix, e.g. 10.20.1.100/24",
            )
        ]
    if "/" not in vip.address:
        return [Problem(here, "vip-prefix-missing", "give the prefix length, e.g. 10.20.1.100/24")]
    out = []
    vrid = vip.virtual_router_id
    if not isinstance(vrid, int) or not 1 <= vrid <= 255:
        out.append(
            Problem(here, "virtual-router-id-invalid", f"virtual_router_id {vrid!r}: use 1-255")
        )
    for host in tier.gateways:
        try:
            address = ipaddress.IPv4Address(host.address)
        except ValueError:
            out.append(
                Problem(
                    f"host {host.name}",
                    "gateway-address-not-ip",
                    f"address {host.address!r} is not an IPv4 address: set gateway_address so "
                    "the VIP's subnet and the unicast peers can be checked",
                )
            )
            continue
        if address not in iface.network:
            out.append(
                Problem(
                    here,
                    "vip-outside-subnet",
                    f"VIP is outside {host.name}'s subnet ({host.address} is not in "
                    f"{iface.network}); VRRP moves an address only within one L2 subnet",
                )
            )
        if address == iface.ip:
            out.append(
                Problem(here, "vip-is-host-address", f"the VIP is {host.name}'s own address")
            )
    unknown = sorted(set(vip.priorities) - {g.name for g in tier.gateways})
    if unknown:
        out.append(
            Problem(
                here,
                "priority-unknown-host",
                f"priorities name non-gateway hosts: {', '.join(unknown)}",
            )
        )
    missing = sorted({g.name for g in tier.gateways} - set(vip.priorities))
    if missing:
        out.append(Problem(here, "priority-missing", f"no priority for {', '.join(missing)}"))
    for value, count in Counter(vip.priorities.values()).items():
        if count > 1:
            names = ", ".join(sorted(n for n, p in vip.priorities.items() if p == value))
            out.append(
                Problem(
                    here,
                    "equal-priorities",
                    f"{names} all have priority {value}; give each host a different priority "
                    "so the master is decided by configuration, not by address order",
                )
            )
    for name, value in vip.priorities.items():
        if not isinstance(value, int) or not 1 <= value <= 254:
            out.append(
                Problem(here, "priority-invalid", f"priority of {name} {value!r}: use 1-254")
            )
    if len(tier.gateways) == 1:
        out.append(
            Problem(
                here,
                "single-gateway-behind-vip",
                f"only {tier.gateways[0].name} is behind the VIP: it fails over to nothing; "
                "add a second gateway",
                "warning",
            )
        )
    return out


def _check_nginx(tier: GatewayTier, fd: FrontDoor, where: str) -> list[Problem]:
    out: list[Problem] = []
    gateways = {g.name for g in tier.gateways}
    if not tier.balancers:
        out.append(
            Problem(
                where,
                "nginx-without-hosts",
                f"front door nginx: put its hosts in group `{LB_GROUP}`",
            )
        )
    named = list(fd.settings.get("upstreams") or []) + list(fd.settings.get("backup") or [])
    for name in named:
        if name not in gateways:
            out.append(
                Problem(
                    f"nginx upstream {name}",
                    "upstream-not-a-gateway",
                    f"{name} is not in group `gateways`: nginx must only send to gateways "
                    "(never straight to an Elasticsearch node, which would skip the replication)",
                )
            )
    if (
        fd.settings.get("backup")
        and fd.settings.get("hash_by_index")
        and "hash_by_index" in (tier["gateway_front_door"] or {})
    ):
        out.append(
            Problem(
                where,
                "backup-with-hash",
                "nginx does not allow `backup` servers with `hash`: drop backup (all active, "
                "hashed by index) or set hash_by_index: False (active/standby)",
            )
        )
    if len(tier.gateways) == 1:
        out.append(
            Problem(
                where, "single-gateway-behind-nginx", "only one gateway behind nginx", "warning"
            )
        )
    return out


def _lint_rendered(tier: GatewayTier) -> list[Problem]:
    out: list[Problem] = []
    seen: set[str] = set()
    for host in tier.gateways:
        try:
            text = gateway_yml(tier, host)
        except BadInput as exc:  # a value gateway.yml cannot carry: one problem among the rest
            same = str(exc).split(": ", 1)[-1]  # without "host NAME": the same on every host
            if same not in seen:
                seen.add(same)
                out.append(Problem(f"rendered gateway.yml of {host.name}",
                                   "gateway-unrenderable", str(exc)))
            continue
        for problem in lint_text(text, f"rendered gateway.yml of {host.name}", True):
            if problem.message not in seen:  # the same defect on every host: say it once
                seen.add(problem.message)
                out.append(problem)
    return out
