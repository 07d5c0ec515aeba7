"""The state file: round trip, permissions, unreadable files."""

from __future__ import annotations

import stat

from esdr_lab import state
from esdr_lab.state import HostRecord, LabState, MirrorRecord, ProcRecord


def _sample() -> LabState:
    return LabState(
        hosts={
            "h2": HostRecord(
                "h2", "10.88.0.12", "esdrlab-h2", "esl-0-12", "/x/h2",
                proc=ProcRecord(42, 1234), cgroups=["/sys/fs/cgroup/systemd/esdrlab-h2"],
            ),
            "h1": HostRecord("h1", "10.88.0.11", "esdrlab-h1", "esl-0-11", "/x/h1"),
        },
        mirror=MirrorRecord("http://10.88.0.1:8099", "/cache", ProcRecord(7, 99)),
        image="/cache/images/bookworm-abc",
    )


def test_round_trip_keeps_everything_and_host_order(tmp_path):
    path = tmp_path / "lab" / "state.json"
    state.save(_sample(), path)
    loaded = state.load(path)
    assert loaded == _sample()
    assert list(loaded.hosts) == ["h2", "h1"]  # inventory order, not sorted


def test_state_file_and_dir_are_root_only(tmp_path):
    path = tmp_path / "lab" / "state.json"
    state.save(_sample(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_missing_or_broken_state_reads_as_none(tmp_path):
    assert state.load(tmp_path / "none.json") is None
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert state.load(broken) is None
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"hosts": {"h1": {"unknown": 1}}}')
    assert state.load(wrong) is None


def test_host_lookup_by_name_or_address():
    lab = _sample()
    assert lab.host("h1").address == "10.88.0.11"
    assert lab.host("10.88.0.12").name == "h2"
    assert lab.host("nope") is None
