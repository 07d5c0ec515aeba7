"""The pipeline services' deploy (esdr.tasks.kafka_pipeline) in a pyinfra run without a real
host: which hosts hold it, the operations it adds and the commands they yield, first against
this machine (nothing of it here: every file "absent"), then against the facts of a host that
ran the first plan (the second plan of a converged host changes nothing, restarts nothing).
Nothing is executed on this machine; the secrets directory is a temporary one."""

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
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.host import Host
from pyinfra.connectors.local import LocalConnector
from pyinfra.context import ctx_host, ctx_state

from esdr.kafka import pipeline_runtime as runtime
from esdr.security import certs, store
from esdr.tasks import kafka_pipeline as task
from tests.kafka.factory import estate, raw
from tests.unit.topo_factory import build, shape_a

PASSWORD = "pipeline-Pa55word-for-the-test"
WHEELS = "http://mirror.example.internal/esdr-pipeline-wheels/"
ESTATE = estate(raw(pipeline_install={"wheelhouse_url": WHEELS}))
SERVICES = [("orders", "esdr-dc1")]
IDENT = "esdr-orders-esdr-dc1"


def _plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_name: str = "kb-az1",
          facts: Any = None, password: bool = True, model: Any = None) -> SimpleNamespace:
    hosts, base = shape_a()
    topology = build(hosts, {**base, "es_secrets_dir": str(tmp_path / "secrets")})
    monkeypatch.setattr(task, "project", lambda: SimpleNamespace(topology=topology))
    if password:
        monkeypatch.setenv("ESDR_DC1_LOGSTASH_PASSWORD", PASSWORD)
    else:
        monkeypatch.delenv("ESDR_DC1_LOGSTASH_PASSWORD", raising=False)
    # systemd's and apt's state cannot be read here: their operations are noted
    services: list[dict] = []
    monkeypatch.setattr(task, "systemd", SimpleNamespace(
        service=lambda **kw: services.append(kw),
        daemon_reload=lambda **kw: services.append({"daemon_reload": True, **kw})))
    packages: list[dict] = []
    monkeypatch.setattr(task, "apt", SimpleNamespace(packages=lambda **kw: packages.append(kw)))
    accounts: list[tuple] = []
    monkeypatch.setattr(task, "service_account", lambda *a: accounts.append(a))
    if facts is not None:
        monkeypatch.setattr(Host, "get_fact", facts)
    inventory = Inventory(([host_name], {}))
    inventory.get_host(host_name).connector_cls = LocalConnector  # facts read here, read-only
    state = State(inventory, Config())
    connect_all(state)
    add_deploy(state, task.pipeline_host, (model or ESTATE, "prod"))
    host = inventory.get_host(host_name)
    ops: dict[str, Any] = {}
    conditions: dict[str, Any] = {}
    with ctx_state.use(state), ctx_host.use(host):
        for op_hash in state.get_op_order():
            data = state.get_op_data_for_host(host, op_hash)
            commands = list(data.command_generator())
            # as if executed: what did_change() reads
            data.operation_meta._success = True
            data.operation_meta._commands = commands
            name = ", ".join(state.op_meta[op_hash].names)
            ops[name] = commands
            conditions[name] = data.global_arguments.get("_if")
    return SimpleNamespace(topology=topology, ops=ops, services=services, packages=packages,
                           accounts=accounts, secrets=tmp_path / "secrets",
                           conditions=conditions)


def _runs(plan: SimpleNamespace, name: str) -> bool:
    """Whether the operation would run: pyinfra evaluates ``_if`` when it gets there."""
    condition = plan.conditions[name]
    checks = condition if isinstance(condition, list) else [condition] if condition else []
    return all(check() for check in checks)


def _named(plan: SimpleNamespace, end: str) -> list:
    [name] = [n for n in plan.ops if n.endswith(end)]
    return plan.ops[name]


RETIRED = "Pipeline service instances the estate no longer runs here stopped and removed"


def _no_instances(_host: Host, cls: type, *args: Any, **kwargs: Any) -> Any:
    assert cls.__name__ == "PipelineInstances", cls
    return {"units": [], "configs": [], "template": False}


def test_only_a_host_in_pipeline_hosts_holds_the_deploy(tmp_path, monkeypatch) -> None:
    assert len(_plan(tmp_path, monkeypatch, "kb-az1").ops) > 1  # before facts are faked
    # a host not named runs only the check for instances left over, which finds none here
    assert _plan(tmp_path, monkeypatch, "kc-az1", facts=_no_instances).ops == {
        RETIRED: []}  # a controller, not named
    assert _plan(tmp_path, monkeypatch, "kb-az3", facts=_no_instances).ops == {
        RETIRED: []}  # a broker, not named


def _holding(units: list[str], configs: list[str], template: bool = True) -> Any:
    def get_fact(_host: Host, cls: type, *args: Any, **kwargs: Any) -> Any:
        assert cls.__name__ == "PipelineInstances", cls
        assert kwargs == {"conf_dir": "/etc/esdr-pipeline", "unit_dir": "/etc/systemd/system",
                          "template": "esdr-pipeline@.service"}
        return {"units": units, "configs": configs, "template": template}
    return get_fact


def test_a_host_taken_out_of_pipeline_hosts_stops_disables_and_removes_its_instance(
        tmp_path, monkeypatch) -> None:
    old = "esdr-orders-esdr-dc2"
    plan = _plan(tmp_path, monkeypatch, "kb-az3",
                 facts=_holding([f"esdr-pipeline@{old}.service"], [old]))
    commands = [str(c) for c in plan.ops[RETIRED]]
    assert commands[0] == (f"systemctl disable --now esdr-pipeline@{old}.service 2>/dev/null "
                           f"|| systemctl stop esdr-pipeline@{old}.service 2>/dev/null || true")
    assert f"rm -f /etc/esdr-pipeline/{old}.json /etc/esdr-pipeline/{old}.password " \
        f"/etc/esdr-pipeline/tls/{old}.crt /etc/esdr-pipeline/tls/{old}.key" in commands
    # no service runs here any more: the template unit goes, and systemd forgets it
    assert commands[-2:] == ["rm -f /etc/systemd/system/esdr-pipeline@.service",
                             "systemctl daemon-reload"]
    # the rerun, on the host as that left it: nothing
    rerun = _plan(tmp_path, monkeypatch, "kb-az3", facts=_holding([], [], template=False))
    assert rerun.ops == {RETIRED: []}


def test_a_pipeline_dropped_from_the_estate_goes_and_the_running_ones_stay() -> None:
    from esdr.kafka.pipeline_service import leftover_instances

    units = [f"esdr-pipeline@{IDENT}.service", "esdr-pipeline@esdr-old-esdr-dc1.service",
             "ssh.service", "esdr-pipeline@.service"]
    # a config left without its unit (an earlier removal cut short) is retired too
    assert leftover_instances(units, [IDENT, "esdr-gone-esdr-dc1"], [IDENT]) == [
        "esdr-gone-esdr-dc1", "esdr-old-esdr-dc1"]
    assert leftover_instances([f"esdr-pipeline@{IDENT}.service"], [IDENT], [IDENT]) == []


def test_a_first_plan_installs_the_runtime_the_files_and_starts_the_service(
        tmp_path, monkeypatch) -> None:
    plan = _plan(tmp_path, monkeypatch)
    names = list(plan.ops)
    venv = runtime.venv_dir(ESTATE.pipeline_install, runtime.requirements_text())
    wanted = [
        "Directory /var/lib/esdr-pipeline", "Directory /opt/esdr-pipeline",
        "Directory /etc/esdr-pipeline", "Directory /etc/esdr-pipeline/tls",
        "Pipeline runtime lock /opt/esdr-pipeline/requirements.txt",
        f"Pipeline runtime {venv} (from {WHEELS})", "Link /opt/esdr-pipeline/venv",
        "esdr's pipeline modules /opt/esdr-pipeline/esdr.zip",
        "Render /etc/esdr-pipeline/tls/kafka-ca.crt", "Render /etc/esdr-pipeline/tls/ca.crt",
        "Render /etc/systemd/system/esdr-pipeline@.service",
        f"Render /etc/esdr-pipeline/{IDENT}.json",
        f"Pipeline {IDENT}: /etc/esdr-pipeline/{IDENT}.password (0600 esdr-pipeline)",
        f"Render /etc/esdr-pipeline/tls/{IDENT}.crt",
        f"Pipeline {IDENT}: /etc/esdr-pipeline/tls/{IDENT}.key (0600 esdr-pipeline)",
        "Earlier pipeline runtimes removed",
    ]
    positions = [next(i for i, n in enumerate(names) if n.endswith(w)) for w in wanted]
    assert positions == sorted(positions), names
    assert plan.accounts == [("esdr-pipeline", "/var/lib/esdr-pipeline")]
    assert [p["packages"] for p in plan.packages] == [["python3-venv"]]
    [install] = _named(plan, f"Pipeline runtime {venv} (from {WHEELS})")
    assert "--no-index --find-links " + WHEELS in str(install)
    assert "--require-hashes" in str(install)
    reload, restart, running = plan.services
    assert reload["daemon_reload"] and reload["_if"]()  # the unit is new
    assert restart["service"] == f"esdr-pipeline@{IDENT}.service" and restart["restarted"]
    assert restart["_serial"] and restart["_if"]()  # first deploy: the restart is the start
    assert running == {"name": f"Service esdr-pipeline@{IDENT}.service enabled and running",
                       "service": f"esdr-pipeline@{IDENT}.service", "running": True,
                       "enabled": True}


def test_secrets_go_through_the_root_only_staging_and_never_show(tmp_path,
                                                                 monkeypatch) -> None:
    plan = _plan(tmp_path, monkeypatch)
    for end in (f"{IDENT}.password (0600 esdr-pipeline)", f"{IDENT}.key (0600 esdr-pipeline)"):
        commands = _named(plan, end)
        [upload] = [c for c in commands if isinstance(c, FileUploadCommand)]
        assert upload.dest.startswith("/etc/esdr/.upload-")
        assert "chown esdr-pipeline:esdr-pipeline" in str(commands[-1])
        assert "chmod 600" in str(commands[-1])
    words = " ".join(str(c) for commands in plan.ops.values() for c in commands
                     if isinstance(c, StringCommand))
    assert PASSWORD not in words and "PRIVATE KEY" not in words
    config = _named(plan, f"Render /etc/esdr-pipeline/{IDENT}.json")
    [upload] = [c for c in config if isinstance(c, FileUploadCommand)]
    text = upload.src.getvalue()
    assert PASSWORD not in text and f'"group_instance_id": "{IDENT}-kb-az1"' in text
    # nothing on the controller until the run executes (secrets_stored)
    assert not (plan.secrets / "kafka").exists()


def test_a_missing_password_stops_the_run_in_one_line(tmp_path, monkeypatch) -> None:
    with pytest.raises(PyinfraError) as raised:
        _plan(tmp_path, monkeypatch, password=False)
    assert str(raised.value).startswith(
        "esdr: search cluster esdr-dc1: the pipeline's password: environment variable "
        "ESDR_DC1_LOGSTASH_PASSWORD is not set on this machine")
    assert "\n" not in str(raised.value)


def _converged_facts(plan: SimpleNamespace, stale: str | None = None) -> Any:
    """The facts of a host that ran ``plan``: its files, directories, link and venv."""
    topology = plan.topology
    ca = certs.load_estate_ca(topology, create=False)
    assert ca is not None
    clients = plan.secrets / "kafka" / "kafka-dc1" / "clients"
    made = task.Material(
        certs.trusted_ca_pem(topology, ca),
        {SERVICES[0]: ((clients / f"{IDENT}.crt").read_bytes(),
                       (clients / f"{IDENT}.key").read_bytes())},
        store.marker_key(plan.secrets),
        {SERVICES[0]: task.Secret(PASSWORD)})
    install = ESTATE.pipeline_install
    paths = runtime.service_paths(install)
    requirements = runtime.requirements_text()
    venv = runtime.venv_dir(install, requirements)
    files: dict[str, tuple[bytes, str, str, str]] = {
        runtime.requirements_path(install): (requirements.encode(), "root", "root", "644"),
        runtime.code_path(install): (task.esdr_code(), "root", "root", "644"),
        f"{venv}/{runtime.VENV_COMPLETE}": (b"", "root", "root", "644"),
    }
    for item in task.shared_files(paths, made.ca_pem):
        files[item.path] = (item.content.encode(), item.user, item.group, item.mode)
    for item, _secret in task.service_files(ESTATE, *SERVICES[0], paths, "kb-az1", made):
        files[item.path] = (item.content.encode(), item.user, item.group, item.mode)
    if stale:  # a file that differs on the host from what the deploy renders
        files[stale] = (b"changed by hand\n", *files[stale][1:])
    directories = {paths.home: ("esdr-pipeline", "esdr-pipeline", "750"),
                   install.root: ("root", "root", "755"),
                   paths.conf_dir: ("root", "esdr-pipeline", "750"),
                   paths.tls_dir: ("root", "esdr-pipeline", "750"),
                   paths.unit_dir: ("root", "root", "755")}
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
        if name == "Link" and path == runtime.venv_link(install):
            return {"link_target": venv, "user": "root", "group": "root"}
        if name == "PipelineInstances":
            return {"units": [f"esdr-pipeline@{IDENT}.service"], "configs": [IDENT],
                    "template": True}
        raise AssertionError(f"the deploy read a fact this test does not know: {name} {kwargs}")

    return get_fact


def test_the_second_plan_of_a_converged_host_changes_nothing(tmp_path, monkeypatch) -> None:
    first = _plan(tmp_path, monkeypatch)
    [stored] = [c for n, cs in first.ops.items() if "Issued pipeline client" in n for c in cs]
    assert isinstance(stored, FunctionCommand)
    stored.function(*stored.args)  # the controller's secrets, as the executed run keeps them
    second = _plan(tmp_path, monkeypatch, facts=_converged_facts(first))
    changing = {name: commands for name, commands in second.ops.items()
                if commands and _runs(second, name)}
    assert changing == {}
    assert not _runs(second, "Kafka pipeline services | Earlier pipeline runtimes removed")
    assert _runs(first, "Kafka pipeline services | Earlier pipeline runtimes removed")
    reload, restart, _running = second.services
    assert not reload["_if"]() and not restart["_if"]()  # no reload, no restart


def test_a_changed_config_restarts_the_service_and_reloads_nothing(tmp_path,
                                                                    monkeypatch) -> None:
    first = _plan(tmp_path, monkeypatch)
    [stored] = [c for n, cs in first.ops.items() if "Issued pipeline client" in n for c in cs]
    stored.function(*stored.args)
    path = f"/etc/esdr-pipeline/{IDENT}.json"
    second = _plan(tmp_path, monkeypatch, facts=_converged_facts(first, stale=path))
    changing = [name for name, commands in second.ops.items()
                if commands and _runs(second, name)]
    assert changing == [f"Kafka pipeline services | Render {path}"]
    reload, restart, _running = second.services
    assert restart["_if"]() and not reload["_if"]()


def test_a_kafka_cluster_without_tls_gets_no_client_certificate() -> None:
    data = raw(pipeline_install={"wheelhouse_url": WHEELS})
    data["kafka_clusters"]["kafka-dc1"].update({"lab": True, "tls": {"enabled": False}})
    plain = estate(data)
    made = task.Material(b"CA\n", {}, b"k" * 32, {SERVICES[0]: task.Secret(PASSWORD)})
    paths = runtime.service_paths(plain.pipeline_install)
    files = [item.path for item, _ in task.service_files(plain, *SERVICES[0], paths, "kb-az1",
                                                          made)]
    assert files == [f"/etc/esdr-pipeline/{IDENT}.json", f"/etc/esdr-pipeline/{IDENT}.password"]


def test_the_instances_fact_reads_links_configs_and_the_template(tmp_path) -> None:
    import subprocess

    from esdr.facts.kafka import PipelineInstances

    conf, units = tmp_path / "conf", tmp_path / "units"
    (units / "multi-user.target.wants").mkdir(parents=True)
    conf.mkdir()
    (units / "esdr-pipeline@.service").write_text("[Unit]\n")
    # an enabled instance is a link to the template, which systemd resolves
    (units / "multi-user.target.wants" / "esdr-pipeline@esdr-a-dc1.service").symlink_to(
        units / "esdr-pipeline@.service")
    (conf / "esdr-b-dc1.json").write_text("{}")
    (conf / "esdr-b-dc1.password").write_text("x\n")
    fact = PipelineInstances()
    command = fact.command(str(conf), str(units), "esdr-pipeline@.service")
    out = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    found = fact.process(out.stdout.splitlines())
    # this machine's own systemd (if any) runs no esdr pipeline: only the files here show
    assert found == {"units": ["esdr-pipeline@esdr-a-dc1.service"], "configs": ["esdr-b-dc1"],
                     "template": True}
    (units / "esdr-pipeline@.service").unlink()
    out = subprocess.run(["sh", "-c", fact.command(str(tmp_path / "none"), str(tmp_path / "no"),
                                                   "esdr-pipeline@.service")],
                         capture_output=True, text=True, check=True)
    assert fact.process(out.stdout.splitlines()) == {"units": [], "configs": [],
                                                     "template": False}


def test_a_cluster_without_credentials_gets_the_pipeline_s_own_user(tmp_path,
                                                                    monkeypatch) -> None:
    from esdr.kafka.pipeline_service import render_config

    data = raw(pipeline_install={"wheelhouse_url": WHEELS})
    for cluster in data["search_clusters"].values():
        del cluster["password_variable"]
    own = estate(data)
    # no password variable in the environment: none is needed
    plan = _plan(tmp_path, monkeypatch, password=False, model=own)
    [stored] = [c for n, cs in plan.ops.items() if "Issued pipeline client" in n for c in cs]
    path = plan.secrets / f"pipeline-user-{IDENT}-password"
    assert not path.exists()  # generated while preparing, kept back until the run executes
    stored.function(*stored.args)
    password = path.read_text().rstrip("\n")
    assert len(password) >= 32 and oct(path.stat().st_mode & 0o777) == "0o600"
    paths = runtime.service_paths(own.pipeline_install)
    assert render_config(own, *SERVICES[0], paths, host="kb-az1").target.user == IDENT
    # the host's password file holds that password, and the next run reads the same one
    made = task.material(own, SERVICES)
    assert made.passwords[SERVICES[0]].reveal() == password
    [secret] = [item for item, is_secret in task.service_files(own, *SERVICES[0], paths,
                                                                "kb-az1", made)
                if is_secret and item.path.endswith(".password")]
    assert secret.content.startswith(password + "\n")
    assert not any(password in str(c) for commands in plan.ops.values() for c in commands)
