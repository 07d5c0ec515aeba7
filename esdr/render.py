"""Every file the deploy uploads to a node, computed from the model. Pure: no I/O but templates.

``esdr render`` and the pyinfra deploy both call ``node_files``, so what a reviewer reads is
byte for byte what lands on the host.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from collections.abc import Mapping
from typing import Any

import jinja2

from esdr import fault_detection, host_tuning
from esdr.errors import BadInput
from esdr.model import Cluster, Node, Topology, flat_settings, yml_value_problem
from esdr.security import config as security

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


# --- one escaping filter per format ------------------------------------------------------------
# Every value a template writes goes through the filter of its file's format. A value the format
# can carry is quoted so that the format's own parser reads back exactly that value; one it
# cannot (a line break in a line-based format, a word that must stay one word) is refused with
# UnsafeValue, which render_template turns into a BadInput naming the host, the file and the key.


class UnsafeValue(ValueError):
    """A value that the format being rendered cannot carry; ``what`` names the key."""

    def __init__(self, what: str, reason: str):
        self.what = what
        self.reason = reason
        super().__init__(f"{what}: {reason}")


def show(text: Any) -> str:
    """A name as the user would recognise it, on one line (repr when it holds anything odd)."""
    text = str(text)
    return text if _PLAIN.match(text) else repr(text)


def _first_unsafe_char(text: str) -> str | None:
    """The first character that ends a line, or cannot be written literally, in any format here.

    Control characters (C0, DEL, C1: YAML 1.1 reads U+0085 as a line break), the Unicode line and
    paragraph separators, surrogates and the non-characters U+FFFE/U+FFFF, which YAML refuses in
    a stream (https://yaml.org/spec/1.1/#id868524).
    """
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in "\ufffe\uffff":
            return char
    return None


def _no_unsafe_chars(text: str, what: str, fmt: str) -> str:
    char = _first_unsafe_char(text)
    if char is not None:
        raise UnsafeValue(
            what, f"holds the character U+{ord(char):04X}, which cannot be written in {fmt}"
        )
    return text


def comment(value: Any, what: str) -> str:
    """Text inside a ``#`` comment (YAML, systemd units, JVM options, keepalived, Nginx).

    A comment ends at the line break, so one in the text would start a live line.
    """
    return _no_unsafe_chars(str(value), what, "a comment")


_YAML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t",
                 "\b": "\\b", "\f": "\\f"}


def yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar holding exactly ``text``.

    Printable ASCII stays as it is; everything else is a YAML escape (\\n, \\uXXXX,
    \\UXXXXXXXX: https://yaml.org/spec/1.2.2/#57-escaped-characters), so no character can end
    the scalar or the line. For printable ASCII this is what ``json.dumps`` writes.
    """
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[char])
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def yaml_value(value: Any) -> str:
    """elasticsearch.yml's filter, for keys and values in Elastic's flat style.

    ``[ a, b ]`` for lists, quotes only where needed. A key goes through it too: a quoted key
    stays one key, so no ``es_settings`` key can add a line (and a setting) of its own.
    """
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
    return yaml_quoted(text)


def quoted_scalar(value: Any) -> str:
    """A YAML scalar that reads back exactly, always quoted when a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return yaml_quoted(str(value))


# systemd: systemd.service(5) "Command lines" (quoting, "$$" for a literal "$"), systemd.exec(5)
# Environment= (quoted assignments, specifiers expanded, "$" literal) and systemd.unit(5)
# "Specifiers" ("%%" for a literal "%"); https://www.freedesktop.org/software/systemd/man/latest/
_UNIT_WORD = re.compile(r"^[A-Za-z0-9_./:@+,=-]+$")
_UNIT_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNIT_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,30}$")
_UNIT_SYNTAX = {
    "Description": "text",
    "User": "user",
    "Group": "user",
    "WorkingDirectory": "path",
    "EnvironmentFile": "path",
    "ConditionPathExists": "path",
    "Environment": "assignment",
    "ExecStart": "command",
}


def _unit_quoted(text: str, *, exec_line: bool) -> str:
    """One word of a unit's command line (``exec_line``: an argument) or Environment=, quoted
    only when it must be."""
    text = text.replace("%", "%%")
    if exec_line:
        text = text.replace("$", "$$")
    if _UNIT_WORD.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unit_path(text: str, what: str) -> str:
    if not text.startswith("/") or text != text.strip():
        raise UnsafeValue(what, "must be an absolute path without surrounding spaces")
    return text


def systemd_value(value: Any, directive: str, what: str) -> str:
    """A systemd unit's filter: ``value`` as the right-hand side of ``directive=``.

    The directive decides the syntax: a path or text is taken as written (with ``%`` doubled),
    a command line and ``Environment=`` split into words (quoted here where needed, ``$``
    doubled in a command's arguments), ``User=`` takes a name. A line break is never written: a
    unit has no continuation that keeps it inside the value.
    """
    syntax = _UNIT_SYNTAX[directive]
    fmt = f"a systemd unit's {directive}="
    if syntax == "assignment":
        name, text = value
        what = f"{what} ({show(name)})"
        if not _UNIT_ENV_NAME.match(str(name)):
            raise UnsafeValue(what, "is not an environment variable name "
                                    "(letters, digits and _, not starting with a digit)")
        text = _no_unsafe_chars(str(text), what, fmt)
        return _unit_quoted(f"{name}={text}", exec_line=False)
    if syntax == "command":
        words = [_no_unsafe_chars(str(w), what, fmt) for w in value]
        _unit_path(words[0], what)
        if any(c in words[0] for c in "\"'\\"):
            # systemd refuses such an executable ("Executable name contains special
            # characters"; string_is_safe in its config_parse_exec)
            raise UnsafeValue(what, "holds a quote or backslash, which systemd refuses in the "
                                    "path of the program it starts")
        if ";" in words:
            raise UnsafeValue(what, "holds a lone ';', which would end the command line")
        # the executable's path is taken as written; only its arguments expand "$"
        return " ".join(_unit_quoted(w, exec_line=i > 0) for i, w in enumerate(words))
    text = _no_unsafe_chars(str(value), what, fmt)
    if text.endswith("\\"):
        # systemd.syntax(7): a line ending in a backslash continues on the next line, so the
        # next directive would become part of this value (or the unit is refused)
        raise UnsafeValue(what, "ends with a backslash, which systemd reads as a line "
                                "continuation: remove it")
    if syntax == "user":
        if not _UNIT_USER.match(text):
            raise UnsafeValue(what, f"{show(text)} is not a user or group name")
        return text
    if syntax == "path":
        _unit_path(text, what)
    return text.replace("%", "%%")


def jvm_option(value: Any, what: str) -> str:
    """A JVM options file's filter: one option, one line.

    Elastic's launcher reads each line as a single JVM option, with no quoting at all: lines
    starting with ``#`` are comments, an option starts with ``-`` (Elasticsearch reference,
    "Set JVM options": https://www.elastic.co/guide/en/elasticsearch/reference/current/
    advanced-configuration.html). So a line break would start an option of its own.
    """
    text = _no_unsafe_chars(str(value), what, "a JVM options file")
    if not text.startswith("-") or text != text.strip():
        raise UnsafeValue(what, f"{show(text)} is not one JVM option (it starts with '-')")
    return text


def template_environment(**filters: Any) -> jinja2.Environment:
    """A template environment with the shared filters and the given format filters."""
    env = jinja2.Environment(
        # esdr/templates/, read through importlib.resources, so an installed wheel (or a zip)
        # finds them as a checkout does (https://jinja.palletsprojects.com/en/3.1.x/api/#jinja2.PackageLoader)
        loader=jinja2.PackageLoader("esdr", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(
        comment=comment, yaml_value=yaml_value, systemd=systemd_value, jvm=jvm_option, **filters
    )
    return env


@cache
def _environment() -> jinja2.Environment:
    return template_environment()


def render_template(
    name: str, *, where: str, jinja_env: jinja2.Environment | None = None, **context: Any
) -> str:
    """``name`` rendered; a value its format cannot carry is a BadInput naming ``where``."""
    try:
        return (jinja_env or _environment()).get_template(name).render(**context)
    except UnsafeValue as exc:
        target = name.rsplit("/", 1)[-1].removesuffix(".j2")
        raise BadInput(
            f"{where}: {target}: {exc.what} {exc.reason}",
            hint=f"change {exc.what} in the inventory",
        ) from None


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
    detection = fault_detection.profile_settings(cluster)
    if detection:
        profile = fault_detection.profile_name(cluster)
        sections.append((f"fault detection (es_fault_detection: {profile})", detection))
    extra = flat_settings(cluster["es_settings"] or {})
    if DESTRUCTIVE_REQUIRES_NAME not in {key for key, _ in extra}:
        # A delete or close must name its indices: no wildcard, no _all (Elasticsearch 8's
        # default, not OpenSearch's): https://www.elastic.co/guide/en/elasticsearch/reference/current/index-management-settings.html#action-destructive-requires-name
        sections.append(("deletes name their indices", [(DESTRUCTIVE_REQUIRES_NAME, True)]))
    if extra:
        sections.append(("es_settings from the inventory", extra))
    return sections


DESTRUCTIVE_REQUIRES_NAME = "action.destructive_requires_name"


def _check_yml(sections: list[tuple[str, list[tuple[str, Any]]]], where: str, file: str) -> None:
    """What elasticsearch.yml cannot carry as written, whatever built the model: a key written
    twice (the engine refuses the file), None, NaN or infinity (written as words), and ``${``,
    which the engine replaces with an environment variable of its own when it starts
    (https://www.elastic.co/guide/en/elasticsearch/reference/current/settings.html,
    "Environment variable substitution")."""
    seen: set[str] = set()
    for _, settings in sections:
        for key, value in settings:
            if key in seen:
                raise BadInput(f"{where}: {file}: {show(key)} is written twice",
                               hint=f"set {show(key)} once in es_settings")
            seen.add(key)
            for one in value if isinstance(value, (list, tuple)) else [value]:
                problem = yml_value_problem(one)
                if problem:
                    raise BadInput(f"{where}: {file}: {show(key)} {problem}",
                                   hint="change it in the inventory")


def _awareness_settings(cluster: Cluster) -> list[tuple[str, Any]]:
    """YAML lists the forced zones."""
    return [(key, list(value) if isinstance(value, tuple) else value)
            for key, value in cluster.awareness.items()]


def distribution_rewrites(cluster: Cluster) -> list[tuple[str, str]]:
    """Edits to the distribution's jvm.options when esdr copies it into the config dir.

    OpenSearch's launcher, and Elasticsearch's before 8.19, run the JVM in the (root-owned)
    install directory, so the gc log, error file and heap dump paths their jvm.options give
    relative to it (``file=logs/gc.log``) cannot be written and the JVM refuses to start (seen
    with 8.18.6: ``Error opening log file 'logs/gc.log': Permission denied``); they are
    pointed at the node's log and data directories. Elasticsearch 8.19's jvm.options names
    ``file=gc.log`` in the logs directory it starts in and has no such lines: nothing matches,
    nothing changes. The copy is made once, so a node upgraded from 8.18 keeps absolute paths,
    which stay right.
    """
    logs, data = cluster["es_log_dir"], cluster["es_data_dir"]
    for key, value in (("es_log_dir", logs), ("es_data_dir", data)):
        try:  # each lands inside a line of jvm.options
            jvm_option(f"-{value}", key)
        except UnsafeValue as exc:
            raise BadInput(f"cluster {show(cluster.name)}: jvm.options: {key} {exc.reason}",
                           hint=f"change {key} in the inventory") from None
    return [("file=logs/", f"file={logs}/"), ("-XX:ErrorFile=logs/", f"-XX:ErrorFile={logs}/"),
            ("-XX:HeapDumpPath=data", f"-XX:HeapDumpPath={data}")]


def _where(node: Node) -> str:
    return f"host {show(node.host)}"


def elasticsearch_yml(topology: Topology, node: Node, *, bootstrap: bool) -> str:
    sections = node_settings(topology, node, bootstrap=bootstrap)
    _check_yml(sections, _where(node), topology.cluster.engine.config_file)
    return render_template(
        "elasticsearch.yml.j2",
        where=_where(node),
        engine=topology.cluster.engine,
        cluster=topology.cluster,
        node=node,
        datacentre=topology.datacentre,
        sections=sections,
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
            render_template("heap.options.j2", where=_where(node), node=node),
            "660",
            "root",
            user,
        ),
        RenderedFile(
            f"{SYSTEMD_DIR}/{engine.service}.service",
            render_template(
                "elasticsearch.service.j2",
                where=_where(node),
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


def kernel_files(data: Mapping[str, Any]) -> list[RenderedFile]:
    """Files of the host itself, whatever runs on it (engine, gateway, front door): the kernel
    settings ``esdr.host_tuning`` keeps. Never part of ``node_files``: a change here is applied
    live and restarts nothing."""
    content = host_tuning.sysctl_conf(data)
    if content is None:
        return []
    return [RenderedFile(host_tuning.SYSCTL_FILE, content, "644", "root", "root")]
