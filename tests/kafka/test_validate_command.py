"""`esdr validate` checks the estate's Kafka section as the deploy's preflight does, so a design
the deploy would refuse is not called valid: the lab's Kafka estate passes with a line per
Kafka cluster, and the same estate without its archive digest exits 2 naming the cluster and
the rule."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from esdr.cli.main import cli

REPO = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, edit=lambda text: text) -> Path:
    (tmp_path / "inventories").mkdir()
    shutil.copy(REPO / "inventories/lab_kafka.py", tmp_path / "inventories")
    shutil.copytree(REPO / "group_data", tmp_path / "group_data")
    estate = tmp_path / "group_data/estates/lab_kafka.yml"
    estate.write_text(edit(estate.read_text()))
    return tmp_path


def _validate(project: Path, monkeypatch):
    monkeypatch.chdir(project)
    return CliRunner().invoke(cli, ["validate", "inventories/lab_kafka.py"])


def test_the_lab_kafka_estate_is_valid_with_its_kafka_cluster_named(tmp_path, monkeypatch):
    result = _validate(_project(tmp_path), monkeypatch)
    assert result.exit_code == 0, result.output
    assert ("valid: kafka cluster kafka-lab, 3 brokers, 3 controllers, zones az1, az2, az3, "
            "topics orders, orders.dead-letters") in result.output


def test_a_kafka_archive_without_its_digest_is_refused_naming_cluster_and_rule(
        tmp_path, monkeypatch):
    def drop_digest(text: str) -> str:
        kept = [line for line in text.splitlines() if "sha512:" not in line]
        assert len(kept) == len(text.splitlines()) - 1
        return "\n".join(kept) + "\n"

    result = _validate(_project(tmp_path, drop_digest), monkeypatch)
    assert result.exit_code == 2, result.output
    assert "kafka cluster kafka-lab" in result.output
    assert "[kafka-archive-unchecked]" in result.output
    assert "valid:" not in result.output
