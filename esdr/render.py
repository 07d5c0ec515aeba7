"""Every file the deploy uploads to a node, computed from the model. Pure: no I/O but templates.

``esdr render`` and the pyinfra deploy both call ``node_files``, so what a reviewer reads is
byte for byte what lands on the host.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from esdr.model import Cluster, Node, Topology, flat_settings
from esdr.security import config as security

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
SYSTEMD_DIR = "/etc/systemd/system"
HEAP_OPTIONS = "jvm.options.d/esdr-heap.options"

_PLAIN = re.compile(r"^[A-Za-z0-9_./:@-]+$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"}


@dataclass(frozen=True)
class RenderedFile:
    path: str  # absolute path on the host
    content: str
    mode: str  # octal string, as pyinfra's files.put takes it
    user: str
    group: str


def yaml_value(value: Any) -> str:
    """One value in Elastic's flat style: ``[ a, b ]`` for lists, quotes only where needed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[ " + ", ".join(yaml_value(v) for v in value) + " ]" if value else "[]"
    text = str(value)
    # Plain only where YAML reads back the same string: "-1", ".5" would be numbers, "@x" and
    # "a:" would not parse.
    plain_ends = (text[:1].isalpha() or text[:1] in "_/") and not text.endswith(":")
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS and plain_ends:
        return text
    return json.dumps(text)


def quoted_scalar(value: Any) -> str:
    """A YAML scalar that reads back exactly, always quoted when a string (JSON is YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["yaml_value"] = yaml_value
    env.filters["q"] = quoted_scalar
    return env


def render_template(name: str, **context: Any) -> str:
    return _environment().get_template(name).render(**context)


def install_link(cluster: Cluster) -> str:
    """The stable path of the installed version (a link to the versioned directory)."""
    return f"{cluster['es_install_root']}/current"


def install_dir(cluster: Cluster) -> str:
    return f"{cluster['es_install_root']}/{cluster.engine.archive_prefix}-{cluster.version}"


def node_settings(
    topology: Topology, node: Node, *, bootstrap: bool
) -> list[tuple[str, list[tuple[str, Any]]]]:
    """The node's configuration as ordered sections of (key, value).

    ``bootstrap`` is true only before the cluster has ever formed: then master-eligible nodes
    carry the initial master list, which must never be set again afterwards.
    """
    cluster = topology.cluster
    engine = cluster.engine
    attribute = cluster["es_awareness_attribute"]
    transport = cluster["es_transport_port"]
    masters = cluster.master_eligible
    sections: list[tuple[str, list[tuple[str, Any]]]] = [
        (
            "identity",
            [
                ("cluster.name", cluster.name),
                ("node.name", node.name),
                ("node.roles", [engine.render_role(r) for r in node.roles]),
                (f"node.attr.{attribute}", node.zone),
            ],
        ),
        (
            "paths",
            [("path.data", cluster["es_data_dir"]), ("path.logs", cluster["es_log_dir"])]
            + ([("path.repo", list(cluster["es_path_repo"]))] if cluster["es_path_repo"] else []),
        ),
        (
            "network",
            [
                ("network.host", node.address),
                ("http.port", cluster["es_http_port"]),
                ("transport.port", transport),
            ],
        ),
        (
            "discovery",
            [("discovery.seed_hosts", [f"{m.address}:{transport}" for m in masters])]
            + (
                [(engine.initial_masters_key, [m.name for m in masters])]
                if bootstrap and node.is_master_eligible
                else []
            ),
        ),
        ("zone awareness", _awareness_settings(cluster)),
    ]
    # TLS on transport and HTTP, authentication; off only in a lab that says so (validated).
    title = "security" if security.enabled(cluster) else "security OFF (lab only: es_security)"
    sections.append((title, security.yml_settings(cluster)))
    extra = flat_settings(cluster["es_settings"] or {})
    if extra:
        sections.append(("es_settings from the inventory", extra))
    return sections


def _awareness_settings(cluster: Cluster) -> list[tuple[str, Any]]:
    """YAML lists the forced zones."""
    return [(key, list(value) if isinstance(value, tuple) else value)
            for key, value in cluster.awareness.items()]


def distribution_rewrites(cluster: Cluster) -> list[tuple[str, str]]:
    """Edits to the distribution's jvm.options when esdr copies it into the config dir.

    OpenSearch's launcher runs from the (root-owned) install directory, so the relative gc log,
    error file and heap dump paths of its jvm.options cannot be written and the JVM refuses to
    start; they are pointed at the node's log and data directories. Elasticsearch 8 starts its
    server in the logs directory and needs none.
    """
    if cluster.engine.name != "opensearch":
        return []
    logs, data = cluster["es_log_dir"], cluster["es_data_dir"]
    return [("file=logs/", f"file={logs}/"), ("-XX:ErrorFile=logs/", f"-XX:ErrorFile={logs}/"),
            ("-XX:HeapDumpPath=data", f"-XX:HeapDumpPath={data}")]


def elasticsearch_yml(topology: Topology, node: Node, *, bootstrap: bool) -> str:
    return render_template(
        "elasticsearch.yml.j2",
        engine=topology.cluster.engine,
        cluster=topology.cluster,
        node=node,
        datacentre=topology.datacentre,
        sections=node_settings(topology, node, bootstrap=bootstrap),
    )


def node_files(topology: Topology, node: Node, *, bootstrap: bool) -> list[RenderedFile]:
    """Every file esdr uploads to ``node``, in upload order."""
    cluster = topology.cluster
    engine = cluster.engine
    user = cluster["es_user"]
    conf = cluster["es_conf_dir"]
    return [
        RenderedFile(
            f"{conf}/{engine.config_file}",
            elasticsearch_yml(topology, node, bootstrap=bootstrap),
            "660",
            "root",
            user,
        ),
        RenderedFile(
            f"{conf}/{HEAP_OPTIONS}",
            render_template("heap.options.j2", node=node),
            "660",
            "root",
            user,
        ),
        RenderedFile(
            f"{SYSTEMD_DIR}/{engine.service}.service",
            render_template(
                "elasticsearch.service.j2",
                engine=engine,
                cluster=cluster,
                node=node,
                user=user,
                conf_dir=conf,
                java_home=cluster["es_java_home"],
                environment=cluster["es_service_environment"] or {},
                install_link=install_link(cluster),
            ),
            "644",
            "root",
            "root",
        ),
    ]
