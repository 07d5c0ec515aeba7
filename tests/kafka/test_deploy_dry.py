"""The Kafka task added to a pyinfra run without any host: the operations it adds for a broker,
and the commands they would run, generated against this machine (which has no Kafka: every
read says "absent"), nothing executed. What a real host does with them is the lab's to show."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from pyinfra.api import Config, Inventory, State
from pyinfra.api.command import FileUploadCommand, StringCommand
from pyinfra.api.connect import connect_all
from pyinfra.api.deploy import add_deploy
from pyinfra.connectors.local import LocalConnector
from pyinfra.context import ctx_host, ctx_state

from esdr.tasks import kafka as task
from tests.kafka.factory import raw, estate
from tests.unit.topo_factory import build, shape_a

SHA512 = "ab" * 64


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _deploy(tmp_path_factory.mktemp("kafka-dry"), monkeypatch)


def _deploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    data = raw()
    data["kafka_clusters"]["kafka-dc1"]["install"] = {
        "archive_url": "https://mirror.example.internal/kafka/kafka_2.13-4.4.0.tgz",
        "sha512": SHA512}
    cluster = estate(data).kafka_clusters["kafka-dc1"]
    hosts, base = shape_a()
    topology = build(hosts, {**base, "es_secrets_dir": str(tmp_path / "secrets")})
    monkeypatch.setattr(task, "project", lambda: SimpleNamespace(topology=topology))
    # systemd's state cannot be read on a machine without systemd: its operations are noted
    services: list[dict] = []
    fake = SimpleNamespace(
        service=lambda **kw: services.append(kw),
        daemon_reload=lambda **kw: services.append({"daemon_reload": True, **kw}))
    monkeypatch.setattr(task, "systemd", fake)
    inventory = Inventory((["kb-az1"], {}))
    inventory.get_host("kb-az1").connector_cls = LocalConnector  # facts read here, read-only
    state = State(inventory, Config())
    connect_all(state)
    add_deploy(state, task.kafka_node, "kafka-dc1", cluster, "prod")
    host = inventory.get_host("kb-az1")
    ops = {}
    with ctx_state.use(state), ctx_host.use(host):
        for op_hash in state.get_op_order():
            name = ", ".join(state.op_meta[op_hash].names)
            data = state.get_op_data_for_host(host, op_hash)
            ops[name] = data
    return SimpleNamespace(state=state, host=host, ops=ops, secrets=tmp_path / "secrets",
                           services=services)


def _commands(deployed, name_start: str) -> list:
    name = next(n for n in deployed.ops if n.startswith(name_start.replace("/", " | ")))
    with ctx_state.use(deployed.state), ctx_host.use(deployed.host):
        return list(deployed.ops[name].command_generator())


def test_a_broker_gets_user_dirs_archive_stores_config_format_and_unit(deployed) -> None:
    names = list(deployed.ops)
    for wanted in ("Directory /var/lib/kafka", "Directory /etc/kafka/tls",
                   "Install Kafka 4.4.0", "Link /opt/kafka/current",
                   "Kafka keystore /etc/kafka/tls/kb-az1.p12 (0600 kafka)",
                   "Kafka trust store /etc/kafka/tls/truststore.p12",
                   "Kafka store passwords /etc/kafka/tls/passwords.properties (0600 kafka)",
                   "Render /etc/kafka/server.properties", "Render /etc/kafka/log4j2.properties",
                   "Render /etc/systemd/system/kafka.service",
                   "Kafka storage of kb-az1 formatted (once)"):
        assert any(n.endswith(wanted) for n in names), (wanted, names)
    order = [next(i for i, n in enumerate(names) if n.endswith(w)) for w in (
        "Install Kafka 4.4.0", "Kafka keystore /etc/kafka/tls/kb-az1.p12 (0600 kafka)",
        "Render /etc/kafka/server.properties", "Kafka storage of kb-az1 formatted (once)")]
    assert order == sorted(order)
    reload, running = deployed.services
    assert reload["daemon_reload"]
    assert running == {"name": "Service kafka enabled and running", "service": "kafka.service",
                       "running": True, "enabled": True}
    restart = next(i for i, n in enumerate(names) if "Restart kafka" in n)
    listens = next(i for i, n in enumerate(names) if n.endswith("kafka listens on kb-az1.dc1.example.internal:9092"))
    # the restart (one host at a time, decided when it runs) before the wait on every host
    assert order[-1] < restart < listens
    assert deployed.state.op_meta[deployed.state.get_op_order()[restart]] \
        .global_arguments["_serial"] is True


def test_the_archive_is_checked_against_its_sha512(deployed) -> None:
    script = str(_commands(deployed, "Kafka/Install Kafka")[0])
    assert f"echo {SHA512}" in script and "sha512sum -c" in script
    assert "/opt/kafka/kafka-4.4.0.partial/libs" in script  # the layout holds libs/


def test_stores_go_through_the_root_only_staging_and_secrets_never_show(deployed) -> None:
    commands = _commands(deployed, "Kafka/Kafka keystore")
    uploads = [c for c in commands if isinstance(c, FileUploadCommand)]
    assert len(uploads) == 1 and uploads[0].dest.startswith("/etc/esdr/.upload-")
    assert "chown kafka:kafka" in str(commands[-1]) and "chmod 600" in str(commands[-1])
    assert "mv -f" in str(commands[-1]) and "/etc/kafka/tls/kb-az1.p12" in str(commands[-1])
    passwords = (deployed.secrets / "kafka" / "kafka-dc1" / "keystore-password")
    # nothing is written on the controller until the run executes (secrets_stored)
    assert not passwords.exists()
    words = " ".join(str(c) for op in ("Kafka/Kafka keystore", "Kafka/Kafka store passwords")
                     for c in _commands(deployed, op) if isinstance(c, StringCommand))
    assert "password=" not in words


def test_the_format_runs_once_as_kafka_with_no_initial_controllers(deployed) -> None:
    command = str(_commands(deployed, "Kafka/Kafka storage")[0])
    assert command.startswith("test -e /var/lib/kafka/data/meta.properties || runuser -u kafka")
    assert command.endswith("--no-initial-controllers")  # a broker joins the quorum's voters
