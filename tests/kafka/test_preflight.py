"""The deploy's Kafka preflight: the estate's ``kafka:`` section is parsed and validated once per
run before any host is touched; a refusal names the host (or cluster) and the rule."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest
from pyinfra.api.exceptions import PyinfraError

from esdr.tasks import preflight
from esdr.tasks.context import RunContext
from tests.kafka.factory import raw
from tests.unit.topo_factory import topology

SHA512 = "ab" * 64
INSTALL = {"archive_url": "https://mirror.example.internal/kafka/kafka_2.13-4.4.0.tgz",
           "sha512": SHA512}


def kafka_section(**cluster_changes: Any) -> dict[str, Any]:
    data = raw()
    data["kafka_clusters"]["kafka-dc1"].update({"install": dict(INSTALL), **cluster_changes})
    data["pipeline_install"] = {"wheelhouse_url": "http://mirror.example.internal/wheels/"}
    return data


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch):
    """Preflight over an estate holding ``kafka`` (or none)."""
    context = RunContext()
    monkeypatch.setattr(preflight, "run_context", lambda: context)

    def _with(kafka: Any = None) -> None:
        topo = topology()
        estate = {"_source": "/x/group_data/estates/prod.yml", "clusters": {}}
        if kafka is not None:
            estate["kafka"] = kafka
        settings = {**topo.cluster.settings, "es_estate": estate}
        topo = dataclasses.replace(topo, cluster=dataclasses.replace(topo.cluster,
                                                                     settings=settings))
        monkeypatch.setattr(preflight, "project", lambda: SimpleNamespace(topology=topo))

    return _with


def test_no_kafka_section_is_no_kafka(run) -> None:
    run()
    assert preflight.kafka_estate() is None


def test_a_sound_design_passes_once_with_the_estate_as_seed(run) -> None:
    run(kafka_section())
    model, seed = preflight.kafka_estate()
    assert seed == "prod" and sorted(model.kafka_clusters) == ["kafka-dc1"]
    assert preflight.kafka_estate()[0] is model  # checked once per run


def test_a_duplicate_node_id_is_refused_naming_the_host_and_the_rule(run) -> None:
    data = kafka_section()
    data["kafka_clusters"]["kafka-dc1"]["brokers"]["kb-az2"]["node_id"] = 11
    run(data)
    with pytest.raises(PyinfraError, match=r"nothing was changed:\n  error: host kb-az2: node_id "
                       r"11 is also kb-az1's.*\[kafka-node-id-duplicate\]"):
        preflight.kafka_estate()


def test_two_controllers_in_one_zone_are_refused_naming_the_zone_and_the_rule(run) -> None:
    data = kafka_section()
    data["kafka_clusters"]["kafka-dc1"]["controllers"]["kc-tb"]["zone"] = "az1"
    run(data)
    with pytest.raises(PyinfraError) as refused:
        preflight.kafka_estate()
    assert "[kafka-controllers-not-in-three-zones]" in str(refused.value)
    assert "zone az1: 2 of 3 controllers" in str(refused.value)


def test_an_archive_without_a_digest_is_refused(run) -> None:
    data = kafka_section()
    del data["kafka_clusters"]["kafka-dc1"]["install"]["sha512"]
    run(data)
    with pytest.raises(PyinfraError, match=r"kafka cluster kafka-dc1: .*\[kafka-archive-unchecked\]"):
        preflight.kafka_estate()


def test_no_archive_is_refused(run) -> None:
    data = raw()  # no install section at all
    run(data)
    with pytest.raises(PyinfraError, match=r"\[kafka-archive-missing\]"):
        preflight.kafka_estate()


def test_a_wrong_shape_is_refused_with_the_key(run) -> None:
    data = kafka_section()
    data["kafka_clusters"]["kafka-dc1"]["brokers"]["kb-az1"]["rack"] = "az1"
    run(data)
    with pytest.raises(PyinfraError,
                       match=r"kafka_clusters\.kafka-dc1\.brokers\.kb-az1\.rack: .*"
                       r"\[input-unknown-key\]"):
        preflight.kafka_estate()
    run("not a mapping")
    with pytest.raises(PyinfraError, match=r"\[input-wrong-type\]"):
        preflight.kafka_estate()


def test_pipeline_hosts_without_a_wheelhouse_are_refused_naming_a_host(run) -> None:
    data = kafka_section()
    del data["pipeline_install"]
    run(data)
    with pytest.raises(PyinfraError) as raised:
        preflight.kafka_estate()
    assert "host dc2-pipe-az1: runs pipeline services but pipeline_install.wheelhouse_url is " \
           "not set" in str(raised.value)
    assert "[kafka-pipeline-wheelhouse-missing]" in str(raised.value)
