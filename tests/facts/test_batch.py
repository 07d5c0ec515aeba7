"""``Batch`` runs several facts' commands in one shell: each value must be exactly what that
fact's own read gives, run here in a real shell on real files (nothing leaves this machine)."""

from __future__ import annotations

import subprocess

from pyinfra.api import FactBase, StringCommand
from pyinfra.facts.files import Directory, File, Link, Sha256File

from esdr.facts.batch import Batch, read
from esdr.facts.elasticsearch import EsdrMarker, EsdrMarkers


def _sh(command) -> tuple[int, list[str]]:
    text = command.get_raw_value() if isinstance(command, StringCommand) else command
    done = subprocess.run(["sh", "-c", text], capture_output=True, text=True, timeout=30)
    return done.returncode, done.stdout.splitlines()


def _alone(fact_cls: type[FactBase], kwargs: dict):
    """The fact read on its own, as pyinfra does: processed on success with output, else its
    default."""
    fact = fact_cls()
    status, lines = _sh(fact.command(**kwargs))
    return fact.process(lines) if status == 0 and lines else fact.default()


class NeedsAMissingBinary(FactBase):
    def command(self) -> str:
        return "echo never"

    def requires_command(self) -> str:
        return "esdr-no-such-binary"


def _without_atime(values: list) -> list:
    return [{k: v for k, v in value.items() if k != "atime"} if isinstance(value, dict) else value
            for value in values]


def test_each_value_is_what_the_facts_own_read_gives(tmp_path) -> None:
    marker = tmp_path / "esdr-marker"
    marker.write_text("5f2c01e1\n")
    config = tmp_path / "elasticsearch.yml"
    config.write_text("cluster.name: x\n")
    config.chmod(0o640)
    (tmp_path / "jvm.options.d").mkdir(mode=0o750)
    (tmp_path / "current").symlink_to(tmp_path / "jvm.options.d")
    absent = str(tmp_path / "absent")
    reads = (
        read(EsdrMarker, path=str(marker)),
        read(EsdrMarker, path=absent),
        read(File, path=str(config)),
        read(Sha256File, path=str(config)),
        read(File, path=absent),
        read(Directory, path=str(tmp_path / "jvm.options.d")),
        read(Directory, path=str(config)),  # a file: False, as pyinfra says
        read(Link, path=str(tmp_path / "current")),
        read(EsdrMarkers, paths=[str(marker), absent]),
    )
    status, lines = _sh(Batch().command(reads))
    assert status == 0
    values = Batch.values(reads, Batch().process(lines))
    alone = [_alone(cls, dict(kwargs)) for cls, kwargs in reads]
    # Reading a file's content (the batch's sha256, cat) may move its access time on before the
    # facts' own reads stat it (relatime): a second apart, the two would differ in atime alone.
    assert _without_atime(values) == _without_atime(alone)
    assert values[0] == "5f2c01e1" and values[1] is None and values[4] is None
    assert values[2]["mode"] == 640 and values[6] is False
    assert values[8] == {str(marker): "5f2c01e1"}


def test_a_fact_whose_binary_is_missing_or_did_not_run_gets_its_default(tmp_path) -> None:
    reads = (read(NeedsAMissingBinary), read(EsdrMarkers, paths=[str(tmp_path / "x")]))
    status, lines = _sh(Batch().command(reads))
    assert status == 0
    assert Batch.values(reads, Batch().process(lines)) == [None, {}]
    assert Batch.values(reads, None) == [None, {}]  # the whole read failed
