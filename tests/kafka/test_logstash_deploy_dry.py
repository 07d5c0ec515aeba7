"""The Logstash deploy (esdr.tasks.kafka_logstash) in a pyinfra run without a real host, as
tests/kafka/test_pipeline_deploy_dry.py does for esdr's own pipeline service: which hosts hold
it, the operations it adds, their owners and modes, and the commands they yield, first against
this machine (no Logstash here: every file "absent"), then against the facts of a host that ran
the first plan (the second plan changes nothing, restarts nothing, adds no keystore key).
Logstash is in no package registry this machine can reach, so this is as far as it is proven
here; nothing is executed, the secrets directory is a temporary one."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pyinfra.api import Config, Inventory, State
from pyinfra.api.command import FileUploadCommand, FunctionCommand, StringCommand
from pyinfra.api.connect import connect_all
from pyinfra.api.deploy import add_deploy
from pyinfra.api.host import Host
from pyinfra.connectors.local import LocalConnector
from pyinfra.context import ctx_host, ctx_state

from esdr.kafka import logstash_deploy as ld
from esdr.security import certs
from esdr.tasks import kafka_logstash as task
from esdr.tasks import kafka_pipeline
from tests.kafka.factory import estate, raw
from tests.unit.topo_factory import build, shape_a

PASSWORD = "logstash-Pa55word-for-the-test"
ARCHIVE = "https://mirror.example.internal/logstash/logstash-8.17.4-linux-x86_64.tar.gz"
SHA512 = "ef" * 64
IDENT = "esdr-orders-esdr-dc1"
SERVICES = [("orders", "esdr-dc1")]


def _estate(**changes: Any):
    data = raw(logstash_install={"archive_url": ARCHIVE, "sha512": SHA512, "heap": "2g"})
    data["search_clusters"]["esdr-dc1"]["pipeline_backend"] = "logstash"
    for key, value in changes.items():
        data["search_clusters"]["esdr-dc1"][key] = value
    return estate(data)


ESTATE = _estate()


def _plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_name: str = "kb-az1",
          facts: Any = None, model: Any = None) -> SimpleNamespace:
    hosts, base = shape_a()
    topology = build(hosts, {**base, "es_secrets_dir": str(tmp_path / "secrets")})
    for module in (task, kafka_pipeline):
        monkeypatch.setattr(module, "project", lambda: SimpleNamespace(topology=topology))
    monkeypatch.setenv("ESDR_DC1_LOGSTASH_PASSWORD", PASSWORD)
    # systemd's state cannot be read here: its operations are noted
    services: list[dict] = []
    monkeypatch.setattr(task, "systemd", SimpleNamespace(
        service=lambda **kw: services.append(kw),
        daemon_reload=lambda **kw: services.append({"daemon_reload": True, **kw})))
    accounts: list[tuple] = []
    monkeypatch.setattr(task, "service_account", lambda *a: accounts.append(a))
    if facts is not None:
        monkeypatch.setattr(Host, "get_fact", facts)
    inventory = Inventory(([host_name], {}))
    inventory.get_host(host_name).connector_cls = LocalConnector  # facts read here, read-only
    state = State(inventory, Config())
    connect_all(state)
    add_deploy(state, task.logstash_host, (model or ESTATE, "prod"))
    host = inventory.get_host(host_name)
    ops: dict[str, Any] = {}
    conditions: dict[str, Any] = {}
    with ctx_state.use(state), ctx_host.use(host):
        for op_hash in state.get_op_order():
            data = state.get_op_data_for_host(host, op_hash)
            commands = list(data.command_generator())
            data.operation_meta._success = True  # as if executed: what did_change() reads
            data.operation_meta._commands = commands
            name = ", ".join(state.op_meta[op_hash].names)
            ops[name] = commands
            conditions[name] = data.global_arguments.get("_if")
    return SimpleNamespace(topology=topology, ops=ops, services=services, accounts=accounts,
                           secrets=tmp_path / "secrets", conditions=conditions)


def _runs(plan: SimpleNamespace, name: str) -> bool:
    condition = plan.conditions[name]
    checks = condition if isinstance(condition, list) else [condition] if condition else []
    return all(check() for check in checks)


def _named(plan: SimpleNamespace, end: str) -> list:
    [name] = [n for n in plan.ops if n.endswith(end)]
    return plan.ops[name]


def _store(plan: SimpleNamespace) -> None:
    """The controller's secrets, as the executed run keeps them (secrets_stored)."""
    for name, commands in plan.ops.items():
        if "secrets directory" in name:
            for command in commands:
                assert isinstance(command, FunctionCommand)
                command.function(*command.args)


def _strings(plan: SimpleNamespace) -> str:
    return "\n".join(str(c) for commands in plan.ops.values() for c in commands
                     if isinstance(c, StringCommand))


KEYS = "ESDR_DC1_LOGSTASH_PASSWORD, ESDR_KAFKA_KEYSTORE_PASSWORD, ESDR_KAFKA_TRUSTSTORE_PASSWORD"
KEYSTORE_OP = f"Logstash | Logstash keystore keys {KEYS}"


def test_only_a_host_of_a_logstash_cluster_holds_the_deploy(tmp_path, monkeypatch) -> None:
    assert len(_plan(tmp_path, monkeypatch, "kb-az1").ops) > 1
    assert _plan(tmp_path, monkeypatch, "kb-az3").ops == {}  # named by no search cluster
    # dc2's hosts run esdr's own pipeline service (the default backend), not Logstash
    assert _plan(tmp_path, monkeypatch, "dc2-pipe-az1").ops == {}
    # and esdr's pipeline step leaves kb-az1 alone now that its cluster is fed by Logstash
    assert ESTATE.pipeline_services("kb-az1") == []


def test_a_first_plan_installs_logstash_puts_its_files_and_starts_it(tmp_path,
                                                                      monkeypatch) -> None:
    plan = _plan(tmp_path, monkeypatch)
    names = list(plan.ops)
    wanted = [
        "Directory /var/lib/logstash", "Directory /var/log/logstash", "Directory /opt/logstash",
        "Directory /etc/logstash", "Directory /etc/logstash/conf.d",
        "Directory /etc/logstash/esdr-tls",
        "Install Logstash 8.17.4", "Link /opt/logstash/current",
        "Logstash keystore password /etc/default/logstash (0600 root)",
        "Render /etc/logstash/esdr-tls/ca.crt",
        "Logstash /etc/logstash/esdr-tls/kafka-truststore.p12 (0640 root)",
        f"Logstash /etc/logstash/esdr-tls/{IDENT}.p12 (0600 logstash)",
        "Render /etc/logstash/logstash.yml", "Render /etc/logstash/jvm.options",
        "Render /etc/logstash/log4j2.properties", "Render /etc/logstash/pipelines.yml",
        f"Render /etc/logstash/conf.d/{IDENT}.conf",
        f"Render /etc/logstash/conf.d/{IDENT}-dead-letters.conf",
        "Render /etc/systemd/system/logstash.service",
        KEYSTORE_OP,
    ]
    positions = [next(i for i, n in enumerate(names) if n.endswith(w)) for w in wanted]
    assert positions == sorted(positions), names
    assert plan.accounts == [("logstash", "/var/lib/logstash")]
    [install] = _named(plan, "Install Logstash 8.17.4")
    script = str(install)
    assert f"curl -fsSL -m 900 -o archive.tar.gz {ARCHIVE}" in script
    assert f"echo {SHA512}" in script and "sha512sum -c" in script
    assert "test -x /opt/logstash/logstash-8.17.4.partial/bin/logstash" in script
    assert script.endswith("mv /opt/logstash/logstash-8.17.4.partial "
                           "/opt/logstash/logstash-8.17.4")
    link = " ".join(str(c) for c in _named(plan, "Link /opt/logstash/current"))
    assert "ln -s /opt/logstash/logstash-8.17.4 /opt/logstash/current" in link
    reload, restart, running = plan.services
    assert reload["daemon_reload"] and reload["_if"]()  # the unit is new
    assert restart == {**restart, "service": "logstash.service", "restarted": True,
                       "_serial": True}
    assert restart["_if"]()  # first deploy: the restart is the start
    assert running == {"name": "Service logstash.service enabled and running",
                       "service": "logstash.service", "running": True, "enabled": True}


def _owner_mode(commands: list) -> str:
    return str(commands[-1])


def test_modes_and_owners_of_what_logstash_reads(tmp_path, monkeypatch) -> None:
    plan = _plan(tmp_path, monkeypatch)
    for path, (owner, mode) in {
            "/etc/logstash/logstash.yml": ("root:logstash", "640"),
            "/etc/logstash/pipelines.yml": ("root:logstash", "640"),
            f"/etc/logstash/conf.d/{IDENT}.conf": ("root:logstash", "640"),
            "/etc/systemd/system/logstash.service": ("root:root", "644"),
            "/etc/logstash/esdr-tls/ca.crt": ("root:root", "644")}.items():
        words = " ".join(str(c) for c in _named(plan, f"Render {path}"))
        assert owner.replace(":", " ") in words or owner in words, (path, words)
        assert mode in words, (path, words)
    for end, owner, mode in (
            ("/etc/default/logstash (0600 root)", "root:root", "600"),
            ("kafka-truststore.p12 (0640 root)", "root:logstash", "640"),
            (f"{IDENT}.p12 (0600 logstash)", "logstash:logstash", "600")):
        commands = _named(plan, end)
        [upload] = [c for c in commands if isinstance(c, FileUploadCommand)]
        assert upload.dest.startswith("/etc/esdr/.upload-")  # the root-only staging
        assert f"chown {owner}" in _owner_mode(commands)
        assert f"chmod {mode}" in _owner_mode(commands)
        assert "mv -f" in _owner_mode(commands)


def test_no_secret_shows_and_the_keystore_is_fed_through_stdin(tmp_path, monkeypatch) -> None:
    plan = _plan(tmp_path, monkeypatch)
    commands = plan.ops[KEYSTORE_OP]
    strings = [str(c) for c in commands if isinstance(c, StringCommand)]
    uploads = [c for c in commands if isinstance(c, FileUploadCommand)]
    env = "set -a && . /etc/default/logstash && set +a"
    tool = "/opt/logstash/current/bin/logstash-keystore --path.settings /etc/logstash"
    assert strings[0] == f"rm -f /etc/logstash/logstash.keystore && {env} && {tool} create"
    adds = [s for s in strings if " add " in s]
    assert [s.split(" add ")[1].split(" ")[0] for s in adds] == KEYS.split(", ")
    for add in adds:
        # the value on stdin from the root-only staging, removed whatever the tool says
        assert "--stdin < /etc/esdr/.upload-" in add and "rm -f /etc/esdr/.upload-" in add
    values = {u.src.getvalue() for u in uploads}
    assert PASSWORD + "\n" in values
    assert "chown logstash:root /etc/logstash/logstash.keystore && chmod 600 " \
        "/etc/logstash/logstash.keystore" in strings
    assert strings[-1].startswith("chown root:root /etc/esdr/.upload-") and \
        strings[-1].endswith("mv -f " + strings[-1].split("mv -f ")[1])
    assert "/etc/esdr/logstash-keystore.state" in strings[-1] and "chmod 600" in strings[-1]
    [state] = [u.src.getvalue() for u in uploads if u.src.getvalue().startswith("# esdr")]
    assert PASSWORD not in state and len(state.splitlines()) == 5  # header, password, 3 keys
    _store(plan)
    generated = [p.read_text().strip() for p in (plan.secrets / "logstash").glob("*password")]
    assert len(generated) == 3 and all(len(g) >= 32 for g in generated)
    words = _strings(plan)
    for secret in (PASSWORD, *generated):
        assert secret not in words
    assert "LOGSTASH_KEYSTORE_PASS=" not in words and "PRIVATE KEY" not in words
    # nothing secret in the pipelines either: they name ${VAR}s
    conf = _named(plan, f"Render /etc/logstash/conf.d/{IDENT}.conf")
    [upload] = [c for c in conf if isinstance(c, FileUploadCommand)]
    text = upload.src.getvalue()
    assert "${ESDR_DC1_LOGSTASH_PASSWORD}" in text
    assert not any(secret in text for secret in (PASSWORD, *generated))


def _converged_facts(first: SimpleNamespace, stale: str | None = None,
                     changed_key: bool = False) -> Any:
    """The facts of a host that ran ``first``: its files, directories, link, the installed
    version, the keystore and the state file the first plan wrote."""
    secrets = first.secrets / "logstash"
    ca = certs.load_estate_ca(first.topology, create=False)
    assert ca is not None
    ca_pem = certs.trusted_ca_pem(first.topology, ca).decode()
    files: dict[str, tuple[bytes, str, str, str]] = {
        item.path: (item.content.encode(), item.user, item.group, item.mode)
        for item in ld.host_files(ESTATE, ["esdr-dc1"])}
    files["/etc/logstash/esdr-tls/ca.crt"] = (ca_pem.encode(), "root", "root", "644")
    files["/etc/logstash/esdr-tls/kafka-truststore.p12"] = (
        (secrets / "kafka-truststore.p12").read_bytes(), "root", "logstash", "640")
    files[f"/etc/logstash/esdr-tls/{IDENT}.p12"] = (
        (secrets / f"{IDENT}.p12").read_bytes(), "logstash", "logstash", "600")
    password = (secrets / "keystore-password").read_text().strip()
    files["/etc/default/logstash"] = (ld.env_file(password).encode(), "root", "root", "600")
    files["/etc/logstash/logstash.keystore"] = (b"keystore", "logstash", "root", "600")
    if stale:
        files[stale] = (b"changed by hand\n", *files[stale][1:])
    [state] = [u.src.getvalue() for u in first.ops[KEYSTORE_OP]
               if isinstance(u, FileUploadCommand) and u.src.getvalue().startswith("# esdr")]
    if changed_key:  # the value of one key was set to another by an earlier run
        state = "\n".join(line if not line.startswith("ESDR_DC1_") else
                          "ESDR_DC1_LOGSTASH_PASSWORD 0000" for line in state.splitlines())
    directories = {path: (owner, group, mode) for path, owner, group, mode in (
        ("/var/lib/logstash", "logstash", "logstash", "750"),
        ("/var/log/logstash", "logstash", "logstash", "750"),
        ("/opt/logstash", "root", "root", "755"),
        ("/opt/logstash/logstash-8.17.4", "root", "root", "755"),
        ("/etc/logstash", "root", "logstash", "750"),
        ("/etc/logstash/conf.d", "root", "logstash", "750"),
        ("/etc/logstash/esdr-tls", "root", "logstash", "750"),
        ("/etc/default", "root", "root", "755"),
        ("/etc/systemd/system", "root", "root", "755"))}
    hashers = {"Sha1File": hashlib.sha1, "Sha256File": hashlib.sha256, "Md5File": hashlib.md5}

    def get_fact(_host: Host, cls: type, *args: Any, **kwargs: Any) -> Any:
        name, path = cls.__name__, kwargs.get("path")
        if name == "File":
            if path not in files:
                return None
            _, user, group, mode = files[path]
            return {"user": user, "group": group, "mode": int(mode)}
        if name in hashers:
            return hashers[name](files[path][0]).hexdigest() if path in files else None
        if name == "Directory":
            if path not in directories:
                return None
            user, group, mode = directories[path]
            return {"user": user, "group": group, "mode": int(mode)}
        if name == "Link" and path == "/opt/logstash/current":
            return {"link_target": "/opt/logstash/logstash-8.17.4", "user": "root",
                    "group": "root"}
        if name == "FileContents" and path == "/etc/esdr/logstash-keystore.state":
            return state.splitlines()
        raise AssertionError(f"the deploy read a fact this test does not know: {name} {kwargs}")

    return get_fact


def test_the_second_plan_of_a_converged_host_changes_nothing(tmp_path, monkeypatch) -> None:
    first = _plan(tmp_path, monkeypatch)
    _store(first)
    second = _plan(tmp_path, monkeypatch, facts=_converged_facts(first))
    changing = {name: commands for name, commands in second.ops.items()
                if commands and _runs(second, name)}
    assert changing == {}
    assert second.ops[KEYSTORE_OP] == []  # no key added, removed or rewritten
    reload, restart, _running = second.services
    assert not reload["_if"]() and not restart["_if"]()  # no reload, no restart


def test_a_changed_password_rewrites_that_key_alone_and_restarts(tmp_path, monkeypatch) -> None:
    first = _plan(tmp_path, monkeypatch)
    _store(first)
    second = _plan(tmp_path, monkeypatch, facts=_converged_facts(first, changed_key=True))
    changing = [name for name, commands in second.ops.items()
                if commands and _runs(second, name)]
    assert changing == [KEYSTORE_OP]
    strings = [str(c) for c in second.ops[KEYSTORE_OP] if isinstance(c, StringCommand)]
    assert not any(s.endswith(" create") for s in strings)
    [add] = [s for s in strings if " add " in s]
    # the old value goes first (add would ask before it overwrites), then the new on stdin
    assert "remove ESDR_DC1_LOGSTASH_PASSWORD >/dev/null 2>&1; " in add
    assert "add ESDR_DC1_LOGSTASH_PASSWORD --stdin < /etc/esdr/.upload-" in add
    assert PASSWORD not in "\n".join(strings)
    _reload, restart, _running = second.services
    assert restart["_if"]()


def test_a_pipeline_changed_by_hand_is_put_back_and_restarts(tmp_path, monkeypatch) -> None:
    first = _plan(tmp_path, monkeypatch)
    _store(first)
    path = f"/etc/logstash/conf.d/{IDENT}.conf"
    second = _plan(tmp_path, monkeypatch, facts=_converged_facts(first, stale=path))
    changing = [name for name, commands in second.ops.items()
                if commands and _runs(second, name)]
    assert changing == [f"Logstash | Render {path}"]
    reload, restart, _running = second.services
    assert restart["_if"]() and not reload["_if"]()


def test_a_kafka_cluster_without_tls_gets_no_stores_and_no_store_passwords(
        tmp_path, monkeypatch) -> None:
    data = raw(logstash_install={"archive_url": ARCHIVE, "sha512": SHA512})
    data["search_clusters"]["esdr-dc1"]["pipeline_backend"] = "logstash"
    data["kafka_clusters"]["kafka-dc1"].update({"lab": True, "tls": {"enabled": False}})
    plan = _plan(tmp_path, monkeypatch, model=estate(data))
    names = list(plan.ops)
    assert not any(".p12" in n for n in names)
    assert "Logstash | Logstash keystore keys ESDR_DC1_LOGSTASH_PASSWORD" in names
