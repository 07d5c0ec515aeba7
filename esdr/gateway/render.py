"""Every file the deploy uploads to a gateway or Nginx host, computed from the tier. Pure.

``esdr render`` and the deploy both call ``host_files``, so what a reviewer reads is what lands
on the host. The secrets file is the exception: it is built only at deploy time
(``secrets_file``) and never rendered to disk by ``esdr render``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2

from esdr.errors import EsdrError
from esdr.gateway.model import (
    GATEWAY_TLS_NAME,
    LB_GROUP,
    GatewayHost,
    GatewayTier,
    Vip,
    local_address,
    url_host,
)
from esdr.gateway.secrets import (
    PASSWORD_FIX,
    env_file_text,
    password_defects,
    resolve,
    runtime_env_name,
    runtime_ref,
)
from esdr.render import (
    SYSTEMD_DIR,
    RenderedFile,
    UnsafeValue,
    quoted_scalar,
    render_template,
    show,
    template_environment,
)

SERVICE = "infini-gateway"
KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
NGINX_SITE = "/etc/nginx/conf.d/esdr-gateways.conf"
SECRETS_MODE = "600"  # the passwords' EnvironmentFile, the gateway user's alone
NGINX_TLS_DIR = "/etc/nginx/esdr-tls"  # root only: Nginx's master reads its key as root

# Reads go to the read flow, everything else is a write (https://docs.infinilabs.com/gateway/).
DEFAULT_READ_RULES: tuple[dict[str, Any], ...] = (
    {"method": ["GET", "HEAD"], "pattern": ["/{any:*}"]},
    {
        "method": ["POST", "GET"],
        "pattern": [
            "/_refresh",
            "/_count",
            "/_search",
            "/_msearch",
            "/_mget",
            "/{any_index}/_count",
            "/{any_index}/_search",
            "/{any_index}/_msearch",
            "/{any_index}/_mget",
        ],
    },
)


# --- the escaping filters of the gateway tier's formats -----------------------------------------


class EnvLookup(str):
    """An INFINI ``$[[env.NAME]]`` lookup that esdr itself writes (a password reference)."""


def gateway_yaml(value: Any, what: str = "a gateway setting") -> str:
    """gateway.yml's filter: a quoted YAML scalar, and no INFINI lookup a user could slip in.

    INFINI Gateway replaces ``$[[env.NAME]]`` in its configuration with the environment
    (https://docs.infinilabs.com/gateway/), where the unit's EnvironmentFile holds the cluster
    passwords: an endpoint or name holding one would carry a password wherever it is sent.
    """
    if isinstance(value, str) and "$[[" in value and not isinstance(value, EnvLookup):
        raise UnsafeValue(what, "holds '$[[', which INFINI Gateway expands to an environment "
                                "variable (the gateway's passwords)")
    return quoted_scalar(value)


# keepalived splits a line into words at blanks; '#' and '!' start a comment, '{' '}' open and
# close blocks, '"' quotes, '$' expands a definition and a leading '@' makes a line conditional
# (keepalived.conf(5), "Configuration file syntax"). A word here is kept to characters that are
# none of those, and each kind of value is checked for what it is.
_KEEPALIVED_WORD = re.compile(r"^[A-Za-z0-9_.:/+,=-]+$")
# A word of the check script may also hold the brackets of an IPv6 URL: none of the characters
# above, and `keepalived -t` reads the script as written (tests/gateway/test_render.py).
_KEEPALIVED_SCRIPT_WORD = re.compile(r"^[A-Za-z0-9_.:/+,=\[\]-]+$")
# A Linux interface name: at most 15 bytes, no '/', ':' or blank (dev_valid_name in
# https://github.com/torvalds/linux/blob/master/net/core/dev.c); kept to the usual characters.
_INTERFACE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$")


def _number(value: Any, what: str) -> str:
    text = str(value)
    if isinstance(value, bool) or not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        raise UnsafeValue(what, f"{show(value)} is not a number")  # nan and inf neither
    return text


def keepalived_value(value: Any, kind: str, what: str) -> str:
    """keepalived.conf's filter: ``kind`` is word, interface, number, address or script."""
    if kind == "number":
        return _number(value, what)
    if kind == "address":
        text = str(value)
        try:
            ipaddress.ip_interface(text)
        except ValueError:
            raise UnsafeValue(what, f"{show(text)} is not an IP address") from None
        if not _KEEPALIVED_WORD.match(text):  # an IPv6 scope ("%...") may hold anything
            raise UnsafeValue(what, f"{show(text)} cannot be one keepalived word")
        return text
    if kind == "interface":
        text = str(value)
        if not _INTERFACE.match(text) or text in (".", ".."):
            raise UnsafeValue(what, f"{show(text)} is not a network interface name")
        return text
    if kind == "script":
        words = [str(w) for w in value]
        bad = next((w for w in words if not _KEEPALIVED_SCRIPT_WORD.match(w)), None)
        if bad is not None:
            raise UnsafeValue(what, f"{show(bad)} cannot be a word of a keepalived script")
        return '"' + " ".join(words) + '"'
    assert kind == "word", kind
    text = str(value)
    if not _KEEPALIVED_WORD.match(text):
        raise UnsafeValue(what, f"{show(text)} cannot be one keepalived word")
    return text


# Nginx ends a directive at ';', a block at '{' '}', a line at '#', expands '$' and splits at
# blanks (https://nginx.org/en/docs/beginners_guide.html#conf_structure). The values written here
# (addresses, ports, counts, times) need none of them, so none is allowed.
_NGINX_WORD = re.compile(r"^[A-Za-z0-9_.:\[\]/-]+$")


def nginx_value(value: Any, what: str) -> str:
    """The Nginx site's filter: one word of a directive."""
    if isinstance(value, bool):
        raise UnsafeValue(what, f"{show(value)} is not an Nginx value")
    text = str(value)
    if not _NGINX_WORD.match(text):
        raise UnsafeValue(what, f"{show(text)} cannot be one word of an Nginx directive")
    return text


@cache
def _environment() -> jinja2.Environment:
    return template_environment(q=gateway_yaml, keepalived=keepalived_value, nginx=nginx_value)


def _render(name: str, rendered_for: GatewayHost | None, **context: Any) -> str:
    where = f"host {show(rendered_for.name)}" if rendered_for else "the gateway tier"
    return render_template(name, where=where, jinja_env=_environment(), **context)


# The tag a replay flow adds when its cluster took the request; the consumer commits only then.
REPLAYED_TAG = "esdr_replayed"


def queue_name(cluster_name: str) -> str:
    """The disk queue holding writes still owed to ``cluster_name`` (named for its target)."""
    return f"{cluster_name}-queue"


def config_path(tier: GatewayTier) -> str:
    return f"{tier['gateway_conf_dir']}/gateway.yml"


def env_path(tier: GatewayTier) -> str:
    return f"{tier['gateway_conf_dir']}/gateway.env"


def install_link(tier: GatewayTier) -> str:
    return f"{tier['gateway_install_root']}/current"


def binary_path(tier: GatewayTier) -> str:
    return f"{install_link(tier)}/{tier['gateway_binary']}"


@dataclass(frozen=True)
class TlsPaths:
    """Where a host of the tier keeps its TLS files (certificate, key, the estate CA)."""

    cert: str
    key: str
    ca: str


def entry_tls_paths(tier: GatewayTier) -> TlsPaths:
    """The gateway's: the key 0600 owned by the gateway user, beside gateway.yml."""
    conf = tier["gateway_conf_dir"]
    return TlsPaths(f"{conf}/entry.crt", f"{conf}/entry.key", f"{conf}/ca.crt")


def nginx_tls_paths() -> TlsPaths:
    return TlsPaths(f"{NGINX_TLS_DIR}/front-door.crt", f"{NGINX_TLS_DIR}/front-door.key",
                    f"{NGINX_TLS_DIR}/ca.crt")


def cluster_ca_path(tier: GatewayTier) -> str | None:
    """The estate CA the gateway verifies its clusters' HTTPS certificates against (the unit's
    ``SSL_CERT_FILE``), when an endpoint of a cluster is ``https://``; None when none is.

    The vendored gateway never verified them (InsecureSkipVerify in the framework's clients and
    the `elasticsearch` filter's default); esdr builds it patched so that every connection to a
    cluster verifies against the file SSL_CERT_FILE names, alone (patches/infini-gateway/,
    docs/gateway-cluster-tls.md). The file is the same ``ca.crt`` as the entry's.
    """
    if any(str(e).lower().startswith("https://") for c in tier.clusters for e in c.endpoints):
        return entry_tls_paths(tier).ca
    return None


def entry_scheme(tier: GatewayTier) -> str:
    return "https" if tier.tls else "http"


def _floating_ip(tier: GatewayTier, host: GatewayHost) -> dict[str, Any] | None:
    fd = tier.front_door
    if fd is None or fd.kind != "floating_ip" or not fd.vips:
        return None
    vip = fd.vips[0]
    iface = ipaddress.IPv4Interface(vip.address)
    return {
        "ip": str(iface.ip),
        "netmask": str(iface.netmask),
        "interface": fd.settings.get("interface", "eth0"),
        "priority": vip.priorities.get(host.name, 100),
    }


# How INFINI's `elasticsearch` filter answers (status 500) when it could not even connect to
# the cluster, so the request never left the gateway (gateway
# proxy/output/elastic/reverseproxy.go: `{"error":true,"message":"<err>"}`). The connect errors:
# fasthttp's ErrDialTimeout (framework lib/fasthttp/tcpdialer.go) or, when Go's dialer reports
# its deadline first (a race in tryDial, seen on loopback), Go's `dial tcp ADDR: i/o timeout`;
# a refused connection is `dial tcp ADDR: connect: connection refused`. Every Go dial error
# starts `dial tcp` (tcp4 included). A cluster's own errors are `{"error":{...},"status":N}`,
# so none of them starts so.
CONNECT_ERROR_PREFIXES = (
    '{"error":true,"message":"dialing to the given TCP address timed out"',
    '{"error":true,"message":"dial tcp',
)


def timeouts(tier: GatewayTier) -> dict[str, Any]:
    """What every `elasticsearch` filter of the gateway.yml waits, and whether writes and reads
    the primary did not take the connection for go to the backup."""
    return {
        "connect": tier["gateway_connect_timeout"],
        "request": tier["gateway_request_timeout"],
        "connect_failover": tier["gateway_connect_failover"] is True,
    }


def gateway_yml(tier: GatewayTier, host: GatewayHost) -> str:
    primary, backup = tier.primary, tier.backup
    assert primary is not None and backup is not None, "validate the tier first"
    clusters = (primary, backup)
    return _render(
        "gateway/gateway.yml.j2",
        host,
        tier=tier,
        host=host,
        clusters=clusters,
        primary=primary,
        backup=backup,
        queue_of={c.name: queue_name(c.name) for c in clusters},
        password_of={c.name: EnvLookup(runtime_ref(c.name)) for c in clusters},
        read_rules=tier["gateway_read_rules"] or DEFAULT_READ_RULES,
        alive_path=ALIVE_PATH,
        replayed_tag=REPLAYED_TAG,
        floating_ip=_floating_ip(tier, host),
        entry_tls=entry_tls_paths(tier) if tier.tls else None,
        timeouts=timeouts(tier),
        connect_errors=CONNECT_ERROR_PREFIXES,
    )


def gateway_unit(tier: GatewayTier, host: GatewayHost | None = None) -> str:
    fd = tier.front_door
    return _render(
        "gateway/infini-gateway.service.j2",
        host,
        user=tier["gateway_user"],
        env_file=env_path(tier),
        data_dir=tier["gateway_data_dir"],
        binary=binary_path(tier),
        config=config_path(tier),
        floating_ip=fd is not None and fd.kind == "floating_ip",
        cluster_ca=cluster_ca_path(tier),
    )


# The API path that says the gateway process answers (check "api"), whatever its clusters do.
# Not /health: it answers 500 until the gateway has once read the primary cluster's health
# (framework modules/api/api.go dereferences that cluster's metadata), so gateways started while
# the primary is down would all give the VIP up together (seen with the vendored binary).
CHECK_PATH = "/_version"
# The entry path the gateway answers itself (check "entry", the default): the entry listens
# only once the proxy to every cluster is set up, which waits out the connect timeouts of a
# cluster that is down (about 20 s in the lab, while the API answered at once), so a gateway
# restarted during an outage would take the VIP back before it could take a write. An index
# name cannot start with "_", so no application's path is taken.
ALIVE_PATH = "/_esdr/alive"


def check_command(tier: GatewayTier) -> list[str]:
    """The vrrp_script probe (its words): the local gateway's entry (over TLS verified against
    the estate CA, unless a lab allows plain HTTP), or its API (plain, on loopback)."""
    fd = tier.front_door
    tls: list[str] = []
    if fd is not None and fd.settings.get("check") == "api":
        listen, port, path = "gateway_api_listen_address", "gateway_api_port", CHECK_PATH
        scheme = "http"
    else:
        listen, port, path = "gateway_listen_address", "gateway_entry_port", ALIVE_PATH
        scheme = entry_scheme(tier)
        if tier.tls:  # the entry certificate names the address probed (model.entry_sans)
            tls = ["--cacert", entry_tls_paths(tier).ca]
    url = f"{scheme}://{url_host(local_address(tier[listen]))}:{tier[port]}{path}"
    return ["/usr/bin/curl", "-fsS", "-m", "2", *tls, "-o", "/dev/null", url]


def _instance(vip: Vip, host: GatewayHost, nopreempt: bool) -> dict[str, Any]:
    priority = vip.priorities.get(host.name, 100)
    top = max(vip.priorities.values()) if vip.priorities else priority
    # keepalived honours nopreempt only when every host starts as BACKUP
    state = "BACKUP" if nopreempt or priority != top else "MASTER"
    return {
        "virtual_router_id": vip.virtual_router_id,
        "priority": priority,
        "state": state,
        "address": vip.address,
    }


def keepalived_conf(tier: GatewayTier, host: GatewayHost) -> str:
    fd = tier.front_door
    assert fd is not None and fd.kind == "keepalived"
    nopreempt = bool(fd.settings["nopreempt"])
    return _render(
        "gateway/keepalived.conf.j2",
        host,
        host=host,
        fd=fd.settings,
        check_command=check_command(tier),
        instances=[_instance(v, host, nopreempt) for v in fd.vips],
        peers=[g.address for g in tier.gateways if g.name != host.name],
    )


@dataclass(frozen=True)
class _Server:
    name: str
    address: str
    backup: bool


def nginx_servers(tier: GatewayTier) -> list[_Server]:
    fd = tier.front_door
    assert fd is not None
    by_name = {g.name: g for g in tier.gateways}
    names = fd.settings.get("upstreams") or list(by_name)
    backup = set(fd.settings.get("backup") or ())
    out = []
    for name in list(names) + [b for b in backup if b not in names]:
        gateway = by_name.get(name)
        out.append(_Server(name, gateway.address if gateway else name, name in backup))
    return out


def nginx_hashed(tier: GatewayTier) -> bool:
    """Hash by index unless a backup server is configured (nginx forbids backup with hash)."""
    fd = tier.front_door
    assert fd is not None
    return bool(fd.settings.get("hash_by_index")) and not fd.settings.get("backup")


def nginx_site(tier: GatewayTier, host: GatewayHost) -> str:
    fd = tier.front_door
    assert fd is not None and fd.kind == "nginx"
    return _render(
        "gateway/nginx-gateways.conf.j2",
        host,
        host=host,
        fd=fd.settings,
        servers=nginx_servers(tier),
        hashed=nginx_hashed(tier),
        entry_port=tier["gateway_entry_port"],
        tls=nginx_tls_paths() if tier.tls else None,
        gateway_tls_name=GATEWAY_TLS_NAME,
    )


def host_files(tier: GatewayTier, host: GatewayHost) -> list[RenderedFile]:
    """Every rendered file for ``host`` (a gateway, an Nginx host, or both), upload order."""
    out: list[RenderedFile] = []
    fd = tier.front_door
    if host in tier.gateways:
        user = tier["gateway_user"]
        out.append(RenderedFile(config_path(tier), gateway_yml(tier, host), "640", "root", user))
        out.append(
            RenderedFile(
                f"{SYSTEMD_DIR}/{SERVICE}.service", gateway_unit(tier, host), "644", "root", "root"
            )
        )
        if fd is not None and fd.kind == "keepalived":
            out.append(
                RenderedFile(KEEPALIVED_CONF, keepalived_conf(tier, host), "644", "root", "root")
            )
    if LB_GROUP in host.groups and fd is not None and fd.kind == "nginx":
        out.append(RenderedFile(NGINX_SITE, nginx_site(tier, host), "644", "root", "root"))
    return out


def secrets_file(tier: GatewayTier) -> RenderedFile:
    """The EnvironmentFile with the resolved passwords (deploy time only; 0600, gateway user)."""
    values = {}
    for c in tier.clusters:
        if not c.username or c.password is None:
            continue
        where = f"gateway cluster {c.name} password {c.password}"
        value = resolve(c.password, where)
        defects = password_defects(value)
        if defects:  # esdr validate says so too; this is the deploy's own guard
            raise EsdrError(f"{where} contains {', '.join(defects)}: the gateway's "
                            "$[[env.NAME]] substitution would not pass it intact",
                            hint=PASSWORD_FIX)
        values[runtime_env_name(c.name)] = value
    user = tier["gateway_user"]
    return RenderedFile(env_path(tier), env_file_text(values), SECRETS_MODE, user, user)
