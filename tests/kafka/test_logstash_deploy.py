"""The pure part of the Logstash deploy (esdr.kafka.logstash_deploy): the archive's version, the
files a Logstash host gets, which keystore keys the pipelines need, and the keystore plan that
makes a rerun change nothing; with the model's backend choice and the deploy's validation."""

from __future__ import annotations

import pytest
import yaml

from esdr.kafka import logstash_deploy as ld
from esdr.kafka.logstash import lint_pipeline
from esdr.kafka.model import parse_kafka_estate
from esdr.kafka.validate import check_section, validate_pipelines_deployable
from tests.kafka.factory import estate, raw

ARCHIVE = "https://mirror.example.internal/logstash/logstash-8.17.4-linux-x86_64.tar.gz"
SHA512 = "cd" * 64


def logstash_raw(**install) -> dict:
    data = raw(pipeline_install={"wheelhouse_url": "http://mirror.example.internal/wheels/"},
               logstash_install={"archive_url": ARCHIVE, "sha512": SHA512, **install})
    data["search_clusters"]["esdr-dc2"]["pipeline_backend"] = "logstash"
    return data


@pytest.mark.parametrize(("name", "version"), [
    ("logstash-8.17.4-linux-x86_64.tar.gz", "8.17.4"),
    ("logstash-oss-8.17.4-linux-aarch64.tar.gz", "8.17.4"),
    ("logstash-9.0.0-beta1-linux-x86_64.tar.gz", "9.0.0-beta1"),
    ("logstash-7.9.3.tar.gz", "7.9.3"),
    ("logstash-7.17.28-linux-x86_64.tgz", "7.17.28"),
])
def test_the_version_comes_from_elastic_s_archive_name(name: str, version: str) -> None:
    assert ld.archive_version(f"https://mirror/x/{name}") == version
    assert ld.install_dir(version) == f"/opt/logstash/logstash-{version}"


@pytest.mark.parametrize("name", ["logstash.tar.gz", "logstash-latest.tar.gz",
                                  "ls-8.17.4.tar.gz", "logstash-8.17.tar.gz",
                                  "logstash-8.17.4-windows-x86_64.tar.gz"])
def test_a_name_without_a_version_is_refused_saying_what_is_expected(name: str) -> None:
    with pytest.raises(ValueError) as raised:
        ld.archive_version(f"file:///srv/mirror/{name}")
    assert f"cannot read a Logstash version from the archive name {name!r}" in str(raised.value)
    assert "logstash-<version>-linux-<arch>.tar.gz" in str(raised.value)


def test_the_backend_defaults_to_esdr_and_picks_the_hosts_services() -> None:
    model = estate(logstash_raw())
    assert model.search_clusters["esdr-dc1"].pipeline_backend == "esdr"
    assert model.pipeline_services("kb-az1") == [("orders", "esdr-dc1")]
    # dc2's hosts run Logstash, not esdr-pipeline@ instances
    assert model.pipeline_services("dc2-pipe-az1") == []
    assert model.pipeline_services("dc2-pipe-az1", "logstash") == [("orders", "esdr-dc2")]
    assert model.logstash_clusters("dc2-pipe-az1") == ["esdr-dc2"]
    assert model.pipeline_host_names() == ["kb-az1", "kb-az2"]
    assert model.pipeline_host_names("logstash") == ["dc2-pipe-az1", "dc2-pipe-az2"]
    assert model.logstash_install.heap == "1g"


@pytest.mark.parametrize(("key", "value", "rule"), [
    ("sha512", "ab" * 63, "input-bad-format"),
    ("sha512", "zz" * 64, "input-bad-format"),
    ("heap", "1G", "input-bad-format"),
    ("archive_url", "https://mirror/logstash-8.17.4.zip", "input-bad-address"),
    ("archive", ARCHIVE, "input-unknown-key"),
])
def test_a_malformed_logstash_install_is_refused(key: str, value: str, rule: str) -> None:
    data = logstash_raw(**{key: value})
    model, problems = parse_kafka_estate(data)
    assert model is None and [p.rule for p in problems] == [rule], problems
    backend = raw()
    backend["search_clusters"]["esdr-dc1"]["pipeline_backend"] = "rsyslog"
    assert parse_kafka_estate(backend)[0] is None


def test_logstash_without_an_archive_is_refused_at_deploy_naming_the_cluster() -> None:
    data = logstash_raw()
    del data["logstash_install"]
    [problem] = validate_pipelines_deployable(estate(data))
    assert (problem.rule, problem.where, problem.severity) == (
        "kafka-logstash-archive-missing", "search cluster esdr-dc2", "error")
    assert "logstash_install.archive_url is not set" in problem.message
    # the preflight's whole check refuses it too
    model, problems = check_section({"kafka": data, "_source": "prod.yml"})
    assert "kafka-logstash-archive-missing" in [p.rule for p in problems]
    # the esdr backend needs no Logstash archive
    assert validate_pipelines_deployable(estate(raw(
        pipeline_install={"wheelhouse_url": "http://mirror.example.internal/wheels/"}))) == []
    assert validate_pipelines_deployable(estate(logstash_raw())) == []


def test_an_unchecked_or_unnamed_archive_is_refused() -> None:
    data = logstash_raw()
    del data["logstash_install"]["sha512"]
    assert [p.rule for p in validate_pipelines_deployable(estate(data))] == [
        "kafka-logstash-archive-unchecked"]
    data = logstash_raw(archive_url="https://mirror.example.internal/ls/current.tar.gz")
    [problem] = validate_pipelines_deployable(estate(data))
    assert problem.rule == "kafka-logstash-archive-name"
    assert "'current.tar.gz'" in problem.message


def test_only_esdr_backend_hosts_need_the_wheelhouse() -> None:
    data = logstash_raw()
    del data["pipeline_install"]
    data["search_clusters"]["esdr-dc1"]["pipeline_backend"] = "logstash"
    assert validate_pipelines_deployable(estate(data)) == []  # no esdr-pipeline anywhere


def _files(data: dict | None = None) -> dict[str, ld.HostFile]:
    model = estate(data or logstash_raw())
    return {f.path: f for f in ld.host_files(model, model.logstash_clusters("dc2-pipe-az1"))}


def test_a_logstash_host_gets_settings_pipelines_and_the_unit() -> None:
    files = _files()
    assert list(files) == [
        "/etc/logstash/logstash.yml", "/etc/logstash/jvm.options",
        "/etc/logstash/log4j2.properties", "/etc/logstash/pipelines.yml",
        "/etc/logstash/conf.d/esdr-orders-esdr-dc2.conf",
        "/etc/logstash/conf.d/esdr-orders-esdr-dc2-dead-letters.conf",
        "/etc/systemd/system/logstash.service"]
    for path, item in files.items():
        expected = ("644", "root", "root") if path.endswith(".service") else (
            "640", "root", "logstash")
        assert (item.mode, item.user, item.group) == expected, path
    settings = yaml.safe_load(files["/etc/logstash/logstash.yml"].content)
    assert settings == {"path.data": "/var/lib/logstash", "path.logs": "/var/log/logstash",
                        "queue.type": "persisted", "dead_letter_queue.enable": True,
                        "config.reload.automatic": False}
    entries = yaml.safe_load(files["/etc/logstash/pipelines.yml"].content)
    assert entries == [
        {"pipeline.id": "esdr-orders-esdr-dc2",
         "path.config": "/etc/logstash/conf.d/esdr-orders-esdr-dc2.conf",
         "queue.type": "persisted", "dead_letter_queue.enable": True},
        {"pipeline.id": "esdr-orders-esdr-dc2-dead-letters",
         "path.config": "/etc/logstash/conf.d/esdr-orders-esdr-dc2-dead-letters.conf"}]
    for path, item in files.items():
        if path.endswith(".conf"):
            assert lint_pipeline(item.content, path) == []
            assert "/etc/logstash/esdr-tls/esdr-orders-esdr-dc2.p12" in item.content
    # the forwarder reads the dead letter queue where path.data puts it
    assert 'path => "/var/lib/logstash/dead_letter_queue"' in files[
        "/etc/logstash/conf.d/esdr-orders-esdr-dc2-dead-letters.conf"].content


def test_the_heap_goes_into_jvm_options() -> None:
    jvm = _files(logstash_raw(heap="3g"))["/etc/logstash/jvm.options"].content.splitlines()
    assert "-Xms3g" in jvm and "-Xmx3g" in jvm
    assert "-XX:HeapDumpPath=/var/lib/logstash" in jvm
    assert "-Xms1g" in _files()["/etc/logstash/jvm.options"].content


def test_the_unit_runs_logstash_as_logstash_with_the_keystore_password_from_a_file() -> None:
    unit = _files()["/etc/systemd/system/logstash.service"].content.splitlines()
    assert "ExecStart=/opt/logstash/current/bin/logstash --path.settings /etc/logstash" in unit
    assert "User=logstash" in unit and "Group=logstash" in unit
    assert "EnvironmentFile=/etc/default/logstash" in unit
    assert not any("LOGSTASH_KEYSTORE_PASS" in line for line in unit)
    assert ld.env_file("A" * 32) == f"LOGSTASH_KEYSTORE_PASS={'A' * 32}\n"
    with pytest.raises(ValueError):
        ld.env_file("short; rm -rf /")


def test_a_host_feeding_two_clusters_holds_both_clusters_pipelines() -> None:
    data = logstash_raw()
    data["search_clusters"]["esdr-dc1"].update(pipeline_backend="logstash",
                                                pipeline_hosts=["dc2-pipe-az1"])
    model = estate(data)
    assert model.logstash_clusters("dc2-pipe-az1") == ["esdr-dc1", "esdr-dc2"]
    files = {f.path: f for f in ld.host_files(model, model.logstash_clusters("dc2-pipe-az1"))}
    ids = [e["pipeline.id"] for e in yaml.safe_load(files["/etc/logstash/pipelines.yml"].content)]
    assert ids == ["esdr-orders-esdr-dc1", "esdr-orders-esdr-dc1-dead-letters",
                   "esdr-orders-esdr-dc2", "esdr-orders-esdr-dc2-dead-letters"]


def test_the_keystore_holds_every_variable_the_pipelines_name() -> None:
    assert ld.keystore_variables(_files().values()) == [
        "ESDR_DC2_LOGSTASH_PASSWORD", "ESDR_KAFKA_KEYSTORE_PASSWORD",
        "ESDR_KAFKA_TRUSTSTORE_PASSWORD"]
    # the pipeline's own user: its variable is named after the pipeline id
    data = logstash_raw()
    del data["search_clusters"]["esdr-dc2"]["password_variable"]
    assert "ESDR_ORDERS_ESDR_DC2_PASSWORD" in ld.keystore_variables(_files(data).values())
    # log4j2's ${sys:...} lookup is not a keystore key
    assert "${sys:" in _files()["/etc/logstash/log4j2.properties"].content


WANTED = {"A_PASSWORD": "hmac-a", "B_PASSWORD": "hmac-b"}


def test_a_first_keystore_is_created_with_every_key() -> None:
    plan = ld.keystore_plan(WANTED, "pw", {}, keystore_exists=False)
    assert plan == ld.KeystorePlan(True, ("A_PASSWORD", "B_PASSWORD"), ())


def test_a_recorded_keystore_changes_nothing_and_a_changed_value_is_written_alone() -> None:
    recorded = ld.parse_state(ld.state_text(WANTED, "pw").splitlines())
    assert recorded == {"LOGSTASH_KEYSTORE_PASS": "pw", **WANTED}
    assert not ld.keystore_plan(WANTED, "pw", recorded, keystore_exists=True).changes
    changed = {**WANTED, "B_PASSWORD": "hmac-b2", "C_PASSWORD": "hmac-c"}
    assert ld.keystore_plan(changed, "pw", recorded, True) == ld.KeystorePlan(
        False, ("B_PASSWORD", "C_PASSWORD"), ())
    # a key esdr wrote and no pipeline names any more goes; one it never wrote stays
    assert ld.keystore_plan({"A_PASSWORD": "hmac-a"}, "pw", recorded, True) == ld.KeystorePlan(
        False, (), ("B_PASSWORD",))


def test_a_new_password_or_a_lost_record_makes_the_keystore_anew() -> None:
    recorded = ld.parse_state(ld.state_text(WANTED, "pw").splitlines())
    assert ld.keystore_plan(WANTED, "pw2", recorded, True).create
    assert ld.keystore_plan(WANTED, "pw", {}, True) == ld.KeystorePlan(
        True, ("A_PASSWORD", "B_PASSWORD"), ())


def test_a_key_that_could_break_the_command_line_is_refused() -> None:
    for name in ("A B", "A;rm", "", "LOGSTASH_KEYSTORE_PASS", "$(x)"):
        with pytest.raises(ValueError):
            ld.keystore_plan({name: "h"}, "pw", {}, False)
