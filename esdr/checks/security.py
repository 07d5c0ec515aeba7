"""Security problems of a topology: off outside a lab, literal secrets, certificates that miss
an address. Pure; ``esdr.checks.validate`` includes these."""

from __future__ import annotations

from pathlib import PurePosixPath

from esdr.model import Cluster, flat_settings
from esdr.problems import Problem
from esdr.security import config
from esdr.security.refs import parse_ref
from esdr.security.sans import san_problems, wanted_sans

# Cluster-wide settings that hold a secret: they must be references.
SECRET_KEYS = ("es_elastic_password", "es_admin_password", "es_replication_password")


def check_security(cluster: Cluster, where: str) -> list[Problem]:
    out: list[Problem] = []
    if not cluster.nodes:
        return out  # no Elasticsearch host: nothing to secure (reported as no-nodes)
    flag = cluster.settings.get("es_security")
    if not isinstance(flag, bool):
        message = f"es_security must be True or False, not {flag!r}"
        out.append(Problem(where, "security-flag-invalid", message))
        return out
    for key in SECRET_KEYS:
        ref = parse_ref(cluster.settings.get(key))
        if isinstance(ref, str):
            literal = isinstance(cluster.settings.get(key), str)
            rule = "secret-literal" if literal else "secret-invalid"
            # The value itself is never echoed: it may be the password.
            out.append(Problem(where, rule, f"{key} {ref}"))
    if not flag:
        if cluster["es_lab"]:
            out.append(
                Problem(
                    where,
                    "security-off",
                    "SECURITY IS OFF (es_security = False): no TLS, no authentication; anyone "
                    "on the network can read and delete every index. Lab inventories only.",
                    "warning",
                )
            )
        else:
            out.append(
                Problem(
                    where,
                    "security-off-outside-lab",
                    "es_security = False is allowed only in a lab inventory (es_lab = True); "
                    "remove it: TLS and authentication are required",
                )
            )
        return out
    user, key = config.superuser(cluster)
    if cluster.settings.get(key) is None:
        rule = "elastic-password-missing" if user == config.ELASTIC_USER else "admin-password-missing"
        out.append(
            Problem(
                where,
                rule,
                f"set {key} = {{'env': 'NAME'}} or {{'file': '/path'}} in group_data: "
                f"the {user} user's password, read on the deploying machine",
            )
        )
    if cluster.engine.name == "opensearch" and replicates(cluster.settings.get("es_estate")):
        if cluster.settings.get("es_replication_password") is None:
            out.append(
                Problem(
                    where,
                    "replication-password-missing",
                    "the estate replicates indices: set es_replication_password = {'env': ...} "
                    f"or {{'file': ...}}; esdr creates the user {config.REPLICATION_USER} with it "
                    "on every cluster of the estate",
                )
            )
    out.extend(_check_ca(cluster, where))
    out.extend(_check_validity(cluster, where))
    out.extend(_check_sans(cluster, where))
    return out


def replicates(raw_estate: object) -> bool:
    """Whether a (raw) estate asks any cluster to follow indices of another."""
    if not isinstance(raw_estate, dict):
        return False
    return any(raw_estate.get(k) for k in ("followers", "auto_follow", "bidirectional"))


def _check_ca(cluster: Cluster, where: str) -> list[Problem]:
    byo = cluster.settings.get("es_ca")
    if byo is None:
        return []
    ok = (
        isinstance(byo, dict)
        and set(byo) == {"cert", "key"}
        and all(isinstance(v, str) and PurePosixPath(v).is_absolute() for v in byo.values())
    )
    if ok:
        return []
    return [
        Problem(
            where,
            "ca-invalid",
            "es_ca must be {'cert': '/abs/ca.crt', 'key': '/abs/ca.key'} (PEM, key unencrypted, "
            "both on the deploying machine)",
        )
    ]


def _check_validity(cluster: Cluster, where: str) -> list[Problem]:
    days, renew = cluster.settings.get("es_cert_days"), cluster.settings.get("es_cert_renew_days")
    values = (days, renew, cluster.settings.get("es_ca_days"))
    if not all(isinstance(v, int) and v > 0 for v in values):
        return [
            Problem(
                where,
                "cert-days-invalid",
                "es_cert_days, es_ca_days and es_cert_renew_days must be positive integers",
            )
        ]
    if renew >= days:
        return [
            Problem(
                where,
                "cert-renew-window",
                f"es_cert_renew_days {renew} >= es_cert_days {days}: every deploy would reissue "
                "every certificate and restart the cluster",
            )
        ]
    return []


def _check_sans(cluster: Cluster, where: str) -> list[Problem]:
    """Transport TLS with verification_mode full checks the address a peer connected to: the
    node's publish address, which is an IP even when network.host is a name (Elasticsearch
    resolves it; elastic/elasticsearch#32729). A certificate without that IP is refused."""
    out: list[Problem] = []
    for node in cluster.nodes:
        for extra in node.cert_sans:
            if not str(extra).strip():
                out.append(
                    Problem(f"host {node.name}", "cert-san-invalid", "es_cert_sans: an empty entry")
                )
        for problem in san_problems(node):  # what would stop esdr certs renew half-way
            out.append(Problem(f"host {node.name}", "cert-san-invalid",
                               f"certificate name {problem}"))
    named = [n for n in cluster.nodes if not wanted_sans(n).ips]
    if named:
        names = ", ".join(n.name for n in named[:3]) + (" ..." if len(named) > 3 else "")
        out.append(
            Problem(
                where,
                "cert-missing-publish-ip",
                f"{len(named)} node(s) ({names}) bind a host name and no IP is in their "
                "certificate; Elasticsearch publishes the IP the name resolves to and transport "
                "TLS (verification_mode full) checks it: list each host's IP in es_cert_sans "
                "(host data), or use IPs as network.host",
                "warning",
            )
        )
    raw = cluster["es_settings"]
    settings = dict(flat_settings(raw)) if isinstance(raw, dict) else {}
    for key in ("network.publish_host", "transport.publish_host", "http.publish_host"):
        value = settings.get(key)
        if value is None:
            continue
        for node in cluster.nodes:
            if not wanted_sans(node).covers(str(value)):
                out.append(
                    Problem(
                        f"host {node.name}",
                        "cert-missing-publish-address",
                        f"es_settings {key} {value} is not in the node's certificate "
                        f"({wanted_sans(node)}): peers would refuse it; add it to es_cert_sans",
                    )
                )
    return out

