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
"""

from __future__ import annotations

import secrets as _random
from pathlib import Path

import click
from elasticsearch import ApiError, AuthenticationException, Elasticsearch

from esdr.cli.args import INVENTORY
from esdr.cli.guard import OK, guarded
from esdr.cli.prints import Printer
from esdr.cli.site_deploy import run_site
from esdr.errors import BadInput, EsdrError
from esdr.es.client import describe
from esdr.es.connect import node_urls
from esdr.model import Topology
from esdr.project import load_project, valid_topology
from esdr.security import config, store
from esdr.security.certs import ca_pem_path
from esdr.security.refs import SecretRef, parse_ref



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
    new = _read(pending) if pending.exists() else None
    if new is None:
        new = _random.token_urlsafe(24)
        store.write_private(pending, (new + "\n").encode(), own_dir=False)
    if _accepted(topology, new) and not _accepted(topology, old):
        printer.say("the cluster already takes the new password (an earlier run stopped after "
                    "changing it): storing it")
    else:
        if not _accepted(topology, old):
            raise EsdrError(
                f"cluster {topology.cluster.name} refuses the elastic password in "
                f"{password_file} and the pending one in {pending}",
                hint="find the password that works, write it into the referenced file, remove "
                f"{pending.name} and rerun",
            )
        try:
            _client(topology, old).security.change_password(username=config.ELASTIC_USER,
                                                            password=new, refresh="wait_for")
        except ApiError as error:
            _refused(topology, old, new, pending, describe(error))
        if not _accepted(topology, new):
            raise EsdrError(f"cluster {topology.cluster.name}: the new password was set but is "
                            f"not accepted; it is kept in {pending}", hint="rerun")
        printer.say(f"cluster {topology.cluster.name}: the elastic password is changed")
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
    return Elasticsearch(node_urls(topology), ca_certs=str(ca_pem_path(topology)),
                         verify_certs=True, basic_auth=(config.ELASTIC_USER, password),
                         request_timeout=30, max_retries=3, retry_on_timeout=True)


def _accepted(topology: Topology, password: str) -> bool:
    try:
        _client(topology, password).security.authenticate()
    except AuthenticationException:
        return False
    return True
