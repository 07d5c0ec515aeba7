"""Facts about an Elasticsearch (or OpenSearch) node, read on the host itself.

Cluster reads are facts too (``EsApiFact``): curl on the node against the node's own HTTP
address, over the SSH connection pyinfra holds, so ``pyinfra --dry`` shows what the deploy sees
(see "How the deploy reaches a cluster's API" in the README).
"""

from __future__ import annotations

import json
import shlex

from pyinfra.api import FactBase

# The deploy records the cluster UUID here once it has seen the cluster form. Its presence on
# any node means: never bootstrap this cluster again (cluster.initial_master_nodes stays out).
FORMED_MARKER = "esdr-cluster-uuid"
# A node whose configuration changed while it ran and that the rolling restart has not restarted
# yet (a roll that stopped leaves it here): the next deploy restarts it even if nothing changes.
RESTART_MARKER = "esdr-restart-pending"


class EsdrMarker(FactBase):
    """
    The content of a marker file esdr left on the host (a cluster UUID, an HMAC), ``None``
    when absent.

    .. code:: python

        "5f2c...e1"
    """

    def command(self, path: str) -> str:
        return f"cat {shlex.quote(path)} 2>/dev/null || true"

    def process(self, output):
        text = "".join(output).strip()
        return text or None


class EsdrMarkers(FactBase):
    """
    The first line of each marker file present among ``paths``, by path (absent: not listed);
    one round trip for all of them.

    .. code:: python

        {"/etc/esdr/keystore-bootstrap.password.hmac": "5f2c...e1"}
    """

    default = dict

    def command(self, paths: list[str]) -> str:
        quoted = " ".join(shlex.quote(p) for p in paths)
        return (f'for p in {quoted}; do [ -f "$p" ] || continue; '
                'printf \'%s\\t%s\\n\' "$p" "$(head -n 1 "$p")"; done')

    def process(self, output):
        found = {}
        for line in output:
            path, tab, text = line.partition("\t")
            if tab and text.strip():
                found[path] = text.strip()
        return found


class ServiceAccount(FactBase):
    """
    A service's local account as pyinfra's ``server.group`` and ``server.user`` compare it:
    whether /etc/group lists the group, and the user's home and shell from /etc/passwd and its
    primary group (``id -gn``); ``user`` is ``None`` when /etc/passwd has no such user.

    .. code:: python

        {"group_listed": True,
         "user": {"home": "/var/lib/elasticsearch", "shell": "/usr/sbin/nologin",
                  "group": "elasticsearch"}}
    """

    def command(self, user: str) -> str:
        q = shlex.quote(user)
        return (f"awk -F: -v u={q} '$1 == u {{ found = 1 }} END {{ print (found ? \"group=yes\" "
                f": \"group=no\") }}' /etc/group; "
                f"awk -F: -v u={q} '$1 == u {{ print \"passwd=\" $6 \":\" $7; exit }}' "
                f"/etc/passwd; echo \"primary=$(id -gn {q} 2>/dev/null)\"")

    def process(self, output):
        values = dict(line.strip().partition("=")[::2] for line in output if "=" in line)
        home, _, shell = values.get("passwd", "").partition(":")
        user = {"home": home, "shell": shell, "group": values.get("primary", "")}
        return {"group_listed": values.get("group") == "yes",
                "user": user if "passwd" in values else None}


class EsClusterFormedMarker(EsdrMarker):
    """
    The cluster UUID the deploy recorded in the data path when the cluster first formed,
    or ``None`` when this node has never been part of a formed cluster.

    .. code:: python

        "nR2k4X0ZTZ2pDvoYqkZ0Wg"
    """

    def command(self, data_dir: str) -> str:  # type: ignore[override]
        return super().command(f"{data_dir}/{FORMED_MARKER}")


class MaxMapCount(FactBase):
    """
    ``vm.max_map_count`` and whether this host may change it (inside a container it may not).

    .. code:: python

        {"value": 262144, "writable": False}
    """

    def command(self) -> str:
        return (
            "cat /proc/sys/vm/max_map_count; "
            "if [ -w /proc/sys/vm/max_map_count ]; then echo rw; else echo ro; fi"
        )

    def process(self, output):
        lines = [line.strip() for line in output if line.strip()]
        return {"value": int(lines[0]), "writable": lines[1] == "rw"}


def curl_command(
    method: str,
    url: str,
    curl_config: str | None = None,
    body: str | None = None,
) -> str:
    """curl for one API call on the node: the credentials and CA come from the root-only
    ``curl_config`` (``-K``), never from argv; prints the body, then the HTTP status."""
    parts = ["curl", "-s", "-m", "20", "-X", method, "-w", r"\n%{http_code}"]
    if curl_config:
        parts[1:1] = ["-K", curl_config]
    if body is not None:
        parts += ["-H", "Content-Type: application/json", "-d", body]
    parts.append(url)
    return " ".join(shlex.quote(p) for p in parts) + " || true"


def parse_response(text: str) -> tuple[int, object]:
    """(HTTP status, parsed JSON or None) from ``curl_command``'s output; status 0 when the
    node did not answer."""
    body, _, code = text.rpartition("\n")
    status = int(code) if code.strip().isdigit() else 0
    try:
        return status, json.loads(body) if body.strip() else None
    except ValueError:
        return status, None


class EsApiFact(FactBase):
    """
    Abstract: the JSON a GET of ``path`` on the node's HTTP API returns, ``None`` when the node
    does not answer or answers with an error. Concrete facts name ``path`` and ``shape``.
    """

    path = ""

    def command(
        self, address: str, port: int = 9200, scheme: str = "http", curl_config: str | None = None
    ) -> str:
        return curl_command("GET", f"{scheme}://{address}:{port}/{self.path}", curl_config)

    def requires_command(self, *args, **kwargs) -> str:
        return "curl"

    def process(self, output):
        status, body = parse_response("\n".join(output))
        return self.shape(body) if 200 <= status < 300 and body is not None else None

    def shape(self, body):
        return body


class EsClusterHealth(EsApiFact):
    """
    ``GET _cluster/health``.

    .. code:: python

        {"cluster_name": "esdr-lab", "status": "green", "number_of_nodes": 5, ...}
    """

    path = "_cluster/health"


class EsVersion(EsApiFact):
    """
    The version the node runs: ``version`` of the node's own entry in ``GET _nodes/_local``
    (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-nodes-info;
    OpenSearch answers the same shape), ``None`` when the node does not answer. Not ``GET /``:
    Elasticsearch 8 serves that from its ``rest-root`` module, which a minimal distribution
    (the integ-test-zip) lacks; it answered 405 there, and every node read as unknown.

    .. code:: python

        "8.19.21"
    """

    path = "_nodes/_local?filter_path=nodes.*.version"

    def shape(self, body):
        nodes = body.get("nodes") if isinstance(body, dict) else None
        entries = list(nodes.values()) if isinstance(nodes, dict) else []
        if len(entries) != 1 or not isinstance(entries[0], dict):
            return None
        number = entries[0].get("version")
        return number if isinstance(number, str) else None


class EsElectedMaster(EsApiFact):
    """
    The name of the elected master, as this node sees it (``GET _cat/master``).

    .. code:: python

        "dc1-master-az2"
    """

    path = "_cat/master?format=json&h=node"

    def shape(self, body):
        return body[0].get("node") if isinstance(body, list) and body else None


class EsNodeNames(EsApiFact):
    """
    The names of the nodes in the cluster, as this node sees it (``GET _cat/nodes``).

    .. code:: python

        ["dc1-data-az1", "dc1-master-az1"]
    """

    path = "_cat/nodes?format=json&h=name"

    def shape(self, body):
        return sorted(n["name"] for n in body) if isinstance(body, list) else None


class EsNodes(EsApiFact):
    """
    Every node's name, roles and attributes (``GET _nodes``), by node id.

    .. code:: python

        {"Xk2...": {"name": "dc1-data-az1", "roles": ["data"], "attributes": {"zone": "az1"}}}
    """

    path = "_nodes?filter_path=nodes.*.name,nodes.*.roles,nodes.*.attributes"

    def shape(self, body):
        return body.get("nodes", {}) if isinstance(body, dict) else None


class EsShards(EsApiFact):
    """
    Every shard copy and where it is (``GET _cat/shards``).

    .. code:: python

        [{"index": "orders", "shard": "0", "prirep": "p", "state": "STARTED", "node": "dc1-data-az1"}]
    """

    path = "_cat/shards?format=json&h=index,shard,prirep,state,node"

    def shape(self, body):
        return body if isinstance(body, list) else None


class EsClusterUUID(EsApiFact):
    """
    The cluster UUID once the cluster has formed and committed it, else ``None``
    (``GET _cluster/state/metadata``).

    .. code:: python

        "nR2k4X0ZTZ2pDvoYqkZ0Wg"
    """

    path = (
        "_cluster/state/metadata"
        "?filter_path=metadata.cluster_uuid,metadata.cluster_uuid_committed"
    )

    def shape(self, body):
        metadata = body.get("metadata", {}) if isinstance(body, dict) else {}
        return metadata.get("cluster_uuid") if metadata.get("cluster_uuid_committed") else None


class EsClusterSettings(EsApiFact):
    """
    The cluster's persistent and transient settings, flat (``GET _cluster/settings``).

    .. code:: python

        {"persistent": {"cluster.routing.allocation.enable": "primaries"}, "transient": {}}
    """

    path = "_cluster/settings?flat_settings=true"

    def shape(self, body):
        return body if isinstance(body, dict) else None
