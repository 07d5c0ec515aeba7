"""The markers root writes into the data directory (``esdr-restart-pending``,
``esdr-cluster-uuid``) never go through a link planted there: the service user owns that
directory and could otherwise make root overwrite any file. The commands the operations render
are run here, in a real shell, against a real planted symlink."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

from esdr.operations import elasticsearch as es_ops
from esdr.operations.rolling_restart import restart_needed

HERE = Path(__file__).parent
DATA = "/var/lib/elasticsearch"


def _planted(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """(a file root must not touch, the marker's path: a symlink to that file)."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    data = tmp_path / "data"
    data.mkdir()
    marker = data / name
    marker.symlink_to(victim)
    return victim, marker


def _run(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30)


def _raw(command: object) -> str:
    return command.get_raw_value() if hasattr(command, "get_raw_value") else str(command)


def _assert_written_beside_not_through(victim: Path, marker: Path, value: str) -> None:
    assert victim.read_text() == "precious\n"  # the link's target is untouched
    assert not marker.is_symlink() and marker.read_text() == f"{value}\n"


def test_the_restart_marker_is_not_written_through_a_planted_symlink(tmp_path) -> None:
    victim, marker = _planted(tmp_path, "esdr-restart-pending")
    command = next(iter(restart_needed._inner(node_name="dc1-data-az1", marker=str(marker))))
    done = _run(_raw(command))
    assert done.returncode == 0, done.stderr
    _assert_written_beside_not_through(victim, marker, "dc1-data-az1")


def test_the_cluster_uuid_marker_is_not_written_through_a_planted_symlink(tmp_path) -> None:
    """The command of the operation's own fixture (a formed cluster, no marker yet)."""
    victim, marker = _planted(tmp_path, "esdr-cluster-uuid")
    case = json.loads((HERE / "elasticsearch.cluster_formed" / "formed_not_recorded.json")
                      .read_text())
    (command,) = case["commands"]
    done = _run(command.replace(DATA, str(marker.parent)))
    assert done.returncode == 0, done.stderr
    _assert_written_beside_not_through(victim, marker, "Ke73jBdbQGSf1R6iw-ks_w")


def test_the_cluster_uuid_recorded_after_the_wait_is_not_written_through_a_link(
    tmp_path, monkeypatch
) -> None:
    """The other way the marker is written: after waiting for the node to join."""
    victim, marker = _planted(tmp_path, "esdr-cluster-uuid")

    class Node:
        def __init__(self, *args, **kwargs):
            pass

        def read(self, fact):
            return "uuid-after-the-wait"

        def health(self):
            return "green"

        def run(self, command: str, timeout: int = 30):
            done = _run(command)
            return done.returncode == 0, done.stdout + done.stderr

    monkeypatch.setattr(es_ops, "NodeApi", Node)
    ok = es_ops._wait_and_record(None, SimpleNamespace(name="h1"), "127.0.0.1", 9200,
                                 str(marker), 5, "elasticsearch")
    assert ok
    _assert_written_beside_not_through(victim, marker, "uuid-after-the-wait")


def test_a_directory_planted_as_the_marker_fails_the_write_and_moves_nothing(tmp_path) -> None:
    data = tmp_path / "data"
    (data / "esdr-restart-pending").mkdir(parents=True)
    done = _run(es_ops.marker_write(str(data / "esdr-restart-pending"), "n1"))
    assert done.returncode != 0
    assert (data / "esdr-restart-pending").is_dir() and not list(data.rglob("*/*"))


def test_a_link_in_place_when_dd_opens_the_marker_is_refused(tmp_path) -> None:
    """What ``conv=excl oflag=nofollow`` adds after ``rm -f``: a link planted in between
    (simulated here by skipping the rm) makes the write fail, not follow it."""
    victim, marker = _planted(tmp_path, "esdr-cluster-uuid")
    command = es_ops.marker_write(str(marker), "u1")
    done = _run(command.split(" && ", 1)[1])
    assert done.returncode != 0
    assert victim.read_text() == "precious\n" and marker.is_symlink()
