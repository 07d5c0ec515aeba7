"""``esdr secrets rotate-elastic INVENTORY``: a new elastic password, through the cluster's API.

The order makes every interruption recoverable and never loses the password that works:

1. a new random password is kept first in ``.<file>.next`` beside the referenced file (0600);
2. ``POST _security/user/elastic/_password`` (authenticated with the old one) sets it
   (https://www.elastic.co/guide/en/elasticsearch/reference/current/security-api-change-password.html);
3. the referenced file gets it (atomic rename, 0600), the ``.next`` file goes;
4. the ordinary deploy puts it into each node's root-only curl config (``/etc/esdr``, ``curl -K``)
   and keystore (``bootstrap.password``, which a running cluster no longer reads: no restart).

A rerun finds a leftover ``.next`` and continues with it: the cluster says which password it
takes. The password is never printed, never in argv, never in a log line.

The cluster is asked through ``esdr.es.connect.client_for``, as every other command asks it: the
SSH forward through each node (or ``es_api_transport: direct``), the estate CA, the same timeouts;
only the password the client authenticates with is the one being tried. When no node answers,
one error names each node tried and why; the ``.next`` file is written only just before the
change is sent, so a cluster unreachable before then leaves nothing stored, and from then on it
is kept for the rerun.
"""

from __future__ import annotations

import secrets as _random
from pathlib import Path

import click
import elasticsearch
from elasticsearch import ApiError, AuthenticationException, Elasticsearch
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError

from esdr.cli.args import INVENTORY
from esdr.cli.guard import OK, guarded
from esdr.cli.prints import Printer
from esdr.cli.site_deploy import run_site
from esdr.errors import BadInput, EsdrError
from esdr.es.client import describe
from esdr.es.connect import client_for, transport
from esdr.es.tunnel import refusal_in
from esdr.model import Topology
from esdr.project import load_project, valid_topology
from esdr.security import config, store
from esdr.security.certs import ca_pem_path
from esdr.security.refs import SecretRef, parse_ref

# No answer from any node: refused or timed out connections, SSH failures, a TLS handshake that
# failed (``elasticsearch.SSLError`` is one of these); an HTTP answer is an ``ApiError``.
NO_ANSWER = (elasticsearch.ConnectionError, elasticsearch.ConnectionTimeout)


@click.group()
def secrets() -> None:
    """Secrets the inventory references (rotated through the cluster, stored where referenced)."""


@secrets.command("rotate-elastic")
@INVENTORY
@click.option("--no-deploy", is_flag=True,
              help="Leave the nodes' curl config to the next deploy (run it yourself).")
@guarded
def rotate_elastic(printer: Printer, inventory: str, no_deploy: bool) -> int:
    """Give the elastic user a new random password: set through the API, written to the file
    es_elastic_password references, then into each node's curl config by the deploy."""
    project = load_project(inventory)
    topology, _ = valid_topology(project)
    password_file = _referenced_file(topology, inventory)
    pending = password_file.with_name(f".{password_file.name}.next")
    old = _read(password_file)
    try:
        new = _change(printer, topology, old, password_file, pending)
    except NO_ANSWER as error:
        raise _unreachable(topology, error, password_file, pending) from None
    store.write_private(password_file, (new + "\n").encode(), own_dir=False)
    store.remove(pending)
    printer.say(f"stored in {password_file} (0600)")
    if no_deploy:
        printer.say(f"next: pyinfra -y {inventory} deploys/site.py (the nodes' curl config "
                    "still holds the old password until then)")
        printer.record(deployed=False)
        return OK
    seconds = run_site(inventory, project.root, "rotate-elastic",
                       "fix it and rerun the deploy: the password itself is already rotated "
                       "and stored")
    printer.say(f"nodes' curl config updated by the deploy in {seconds:.0f} s")
    printer.record(deployed=True, deploy_seconds=round(seconds, 1))
    return OK


def _change(printer: Printer, topology: Topology, old: str, password_file: Path,
            pending: Path) -> str:
    """The new password, once the cluster takes it (set now, or by an earlier run)."""
    new = _read(pending) if pending.exists() else None
    if new is not None and _accepted(topology, new) and not _accepted(topology, old):
        printer.say("the cluster already takes the new password (an earlier run stopped after "
                    "changing it): storing it")
        return new
    if not _accepted(topology, old):
        if new is None:
            raise EsdrError(
                f"cluster {topology.cluster.name} refuses the elastic password in "
                f"{password_file}",
                hint="find the password that works, write it into the referenced file and rerun")
        raise EsdrError(
            f"cluster {topology.cluster.name} refuses the elastic password in "
            f"{password_file} and the pending one in {pending}",
            hint="find the password that works, write it into the referenced file, remove "
            f"{pending.name} and rerun",
        )
    if new is None:  # kept before the cluster can take it: a stop from here on loses nothing
        new = _random.token_urlsafe(24)
        store.write_private(pending, (new + "\n").encode(), own_dir=False)
    try:
        _client(topology, old).security.change_password(username=config.ELASTIC_USER,
                                                        password=new, refresh="wait_for")
    except ApiError as error:
        _refused(topology, old, new, pending, describe(error))
    if not _accepted(topology, new):
        raise EsdrError(f"cluster {topology.cluster.name}: the new password was set but is "
                        f"not accepted; it is kept in {pending}", hint="rerun")
    printer.say(f"cluster {topology.cluster.name}: the elastic password is changed")
    return new


def _unreachable(topology: Topology, error: BaseException, password_file: Path,
                 pending: Path) -> EsdrError:
    """One error for a cluster that did not answer: each node tried and why, what was kept, and
    what to check for the transport the cluster is reached by."""
    cluster = topology.cluster
    if pending.exists():
        kept = (f"{password_file} still holds the old password and the new one is kept in "
                f"{pending}: a rerun finishes the rotation")
    else:
        kept = "nothing was changed or stored"
    why = "; ".join(sorted(_reasons(error))) or describe(error)
    refused = refusal_in(error)
    if isinstance(error, elasticsearch.SSLError):
        hint = (f"check the CA in {ca_pem_path(topology)} and the nodes' certificates "
                "(esdr certs status), then rerun")
    elif refused is not None:
        hint = ("check the SSH user, key and known_hosts esdr uses for these hosts (their host "
                "data, as for pyinfra) and sshd's AllowTcpForwarding, then rerun")
    elif transport(topology) == "direct":
        hint = (f"check that the nodes are up and this machine reaches their HTTP port "
                f"{cluster['es_http_port']} (es_api_transport: direct), then rerun")
    else:
        hint = ("check that the nodes are up and this machine reaches them over SSH as the "
                f"deploy does (es_api_transport: ssh, to port {cluster['es_http_port']} through "
                "each node), then rerun")
    return EsdrError(f"cluster {cluster.name}: no node answered ({why}); {kept}", hint=hint)


def _reasons(error: BaseException) -> list[str]:
    """Why each connection failed, as urllib3 reports it under the client library's error: an
    SSH forward's reason names the node (``ssh 10.0.0.1:22: timed out``), a failed request its
    pool (``HTTPSConnectionPool(host='10.0.0.1', port=9200): Read timed out``)."""
    found: list[str] = []
    seen: set[int] = set()
    todo: list[object] = [error]
    while todo:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (NewConnectionError, ConnectTimeoutError)) and \
                len(current.args) > 1 and isinstance(current.args[1], str):
            text = current.args[1]  # the first argument is the connection object
        elif isinstance(current, HTTPError):
            text = str(current)
        else:
            text = None
        if text and text not in found:
            found.append(text)
        todo += [current.__cause__, *getattr(current, "errors", ()), *current.args]
    return found


def _referenced_file(topology: Topology, inventory: str) -> Path:
    cluster = topology.cluster
    if not config.enabled(cluster):
        raise BadInput(f"{inventory}: security is off (es_security = False): no password")
    if cluster.engine.name != "elasticsearch":
        raise BadInput(
            f"{inventory}: rotate-elastic is for Elasticsearch's elastic user",
            hint="OpenSearch's admin password lives in the security plugin's internal users: "
            "write the new one into the file es_admin_password references and run the deploy "
            "(securityadmin loads it)",
        )
    ref = parse_ref(cluster["es_elastic_password"])
    if not isinstance(ref, SecretRef) or ref.kind != "file":
        raise BadInput(
            f"{inventory}: es_elastic_password is not a file reference, so esdr cannot store "
            "a new password where the inventory reads it",
            hint="use es_elastic_password = {'file': '/path/0600-file'}",
        )
    return Path(ref.value).expanduser()


def _refused(topology: Topology, old: str, new: str, pending: Path, why: str) -> None:
    """The cluster answered the change with an error: when the old password still works and
    the new one does not, nothing changed, and the pending password goes."""
    if _accepted(topology, old) and not _accepted(topology, new):
        store.remove(pending)
        raise EsdrError(
            f"cluster {topology.cluster.name} refused the password change ({why}); the old "
            "password still works and nothing was stored",
            hint="fix what the cluster reports (its .security index must be writable) and rerun",
        )
    raise EsdrError(f"cluster {topology.cluster.name} answered the password change with "
                    f"{why}; the new password is kept in {pending}", hint="rerun")


def _read(path: Path) -> str:
    try:
        raw = store.read_private(path, secret=True)  # refused when others may read it
    except OSError as exc:
        raise EsdrError(f"cannot read the secret file {path}: {exc.strerror}") from None
    if raw is None:
        raise EsdrError(f"cannot read the secret file {path}: it does not exist")
    try:
        value = raw.decode().rstrip("\n")
    except UnicodeDecodeError:
        raise EsdrError(f"secret file {path} is not UTF-8 text") from None
    if not value:
        raise EsdrError(f"secret file {path} is empty")
    return value


def _client(topology: Topology, password: str) -> Elasticsearch:
    """The shared factory's client (SSH forward, estate CA, timeouts and retries of every
    esdr command), authenticated as elastic with ``password`` instead of the referenced one:
    ``options`` keeps the client's transport and changes only the credentials it sends."""
    return client_for(topology).options(basic_auth=(config.ELASTIC_USER, password))


def _accepted(topology: Topology, password: str) -> bool:
    try:
        _client(topology, password).security.authenticate()
    except AuthenticationException:
        return False
    return True
