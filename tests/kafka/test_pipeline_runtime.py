"""The pipeline hosts' Python runtime, the pure part (esdr.kafka.pipeline_runtime): the lock, the
venv's install command, esdr's own modules as one zip, and the per-host config."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from esdr.kafka.model import PipelineInstall
from esdr.kafka.pipeline_runtime import (
    code_zip,
    install_command,
    module_closure,
    requirements_text,
    service_paths,
    stale_venvs_command,
    venv_dir,
)
from esdr.kafka.pipeline_service import (
    instance_id,
    password_from_text,
    password_text,
    render_config,
    render_unit,
)
from tests.kafka.factory import estate

REPO = Path(__file__).resolve().parents[2]
INSTALL = PipelineInstall(wheelhouse_url="http://10.88.0.1:8099/esdr-pipeline-wheels/")


def _read(path: str) -> str | None:
    file = REPO / path
    return file.read_text() if file.is_file() else None


def test_the_lock_pins_every_package_with_a_hash() -> None:
    text = requirements_text()
    pins = re.findall(r"^([a-z0-9-]+)==(\S+) \\$", text, re.M)
    names = {name for name, _ in pins}
    assert {"confluent-kafka", "opensearch-py", "elasticsearch", "pydantic", "pydantic-core",
            "pyyaml"} <= names
    blocks = re.split(r"\n(?=[a-z])", text.split("\n\n", 1)[1].strip())
    assert len(blocks) == len(pins)
    assert all(re.search(r"--hash=sha256:[0-9a-f]{64}", block) for block in blocks)


def test_the_install_is_offline_hash_checked_and_marked_complete_last() -> None:
    text = requirements_text()
    venv = venv_dir(INSTALL, text)
    assert re.fullmatch(r"/opt/esdr-pipeline/venv-[0-9a-f]{16}", venv)
    assert INSTALL.wheelhouse_url
    command = install_command(INSTALL.python, venv, INSTALL.wheelhouse_url,
                              "/opt/esdr-pipeline/requirements.txt")
    assert command.startswith(f"rm -rf {venv} && /usr/bin/python3 -m venv {venv} && ")
    for flag in ("--no-index", "--find-links http://10.88.0.1:8099/esdr-pipeline-wheels/",
                 "--require-hashes", "--only-binary=:all:", "--no-cache-dir",
                 "-r /opt/esdr-pipeline/requirements.txt"):
        assert flag in command
    assert command.endswith(f"&& touch {venv}/.esdr-complete")
    # pip ignores a plain-http find-links host unless named trusted; the hashes still hold
    assert "--trusted-host 10.88.0.1:8099" in command
    over_https = install_command(INSTALL.python, venv, "https://wheels.example.internal/esdr/",
                                 "/opt/esdr-pipeline/requirements.txt")
    assert "--trusted-host" not in over_https and "--require-hashes" in over_https
    assert venv_dir(INSTALL, text + "# another lock\n") != venv  # a new lock, a new venv
    stale = stale_venvs_command(INSTALL, text)
    assert stale.startswith("find /opt/esdr-pipeline -mindepth 1 -maxdepth 1 -type d")
    assert f"! -name {venv.rsplit('/', 1)[1]}" in stale


def test_the_unit_runs_the_venv_through_its_link_with_the_code_zip() -> None:
    unit = render_unit(service_paths(INSTALL))
    assert "ExecStart=/opt/esdr-pipeline/venv/bin/python -m esdr.kafka_io.pipeline " \
           "--config /etc/esdr-pipeline/%i.json" in unit
    assert "Environment=PYTHONPATH=/opt/esdr-pipeline/esdr.zip" in unit.splitlines()


def test_the_code_zip_holds_the_modules_the_service_imports_and_nothing_else() -> None:
    files = module_closure(_read)
    for needed in ("esdr/__init__.py", "esdr/kafka_io/__init__.py", "esdr/kafka_io/pipeline.py",
                   "esdr/kafka/pipeline_service.py", "esdr/kafka/model.py", "esdr/schema.py"):
        assert needed in files
    for unneeded in ("esdr/kafka/pipeline_runtime.py", "esdr/tasks/kafka.py",
                     "esdr/kafka_io/admin.py", "esdr/cli/__init__.py"):
        assert unneeded not in files
    data = code_zip(files)
    assert data == code_zip(dict(reversed(list(files.items()))))  # same bytes every run
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == sorted(files)
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.read("esdr/kafka_io/pipeline.py").decode() == files[
            "esdr/kafka_io/pipeline.py"]


def test_a_relative_and_a_lazy_import_are_followed() -> None:
    tree = {
        "esdr/__init__.py": "",
        "esdr/a/__init__.py": "from . import b\n",
        "esdr/a/b.py": "def f():\n    from esdr.c import d\n",
        "esdr/c/__init__.py": "",
        "esdr/c/d.py": "import json\n",
        "esdr/c/unused.py": "",
    }
    assert sorted(module_closure(tree.get, "esdr.a")) == [
        "esdr/__init__.py", "esdr/a/__init__.py", "esdr/a/b.py", "esdr/c/__init__.py",
        "esdr/c/d.py"]


def test_each_host_is_its_own_static_member_of_the_shared_group() -> None:
    one = render_config(estate(), "orders", "esdr-dc1", host="kb-az1")
    two = render_config(estate(), "orders", "esdr-dc1", host="kb-az2")
    assert one.kafka.group_id == two.kafka.group_id == "esdr-orders-esdr-dc1"
    assert one.kafka.group_instance_id == "esdr-orders-esdr-dc1-kb-az1"
    assert two.kafka.client_id == instance_id("orders", "esdr-dc1", "kb-az2")
    assert render_config(estate(), "orders", "esdr-dc1").kafka.group_instance_id == \
        "esdr-orders-esdr-dc1"


def test_the_password_file_is_the_password_then_a_marker() -> None:
    text = password_text("s3cret", "ab" * 32)
    assert text == f"s3cret\n# esdr: {'ab' * 32}\n"
    assert password_from_text(text) == "s3cret"
    assert password_from_text("s3cret\n") == "s3cret"  # a file written by hand
    with pytest.raises(ValueError):
        password_text("two\nlines", "x")


def test_the_estate_names_the_services_of_a_host() -> None:
    model = estate()
    assert model.pipeline_services("kb-az1") == [("orders", "esdr-dc1")]
    assert model.pipeline_services("dc2-pipe-az2") == [("orders", "esdr-dc2")]
    assert model.pipeline_services("kc-az1") == []
    assert model.pipeline_host_names() == ["dc2-pipe-az1", "dc2-pipe-az2", "kb-az1", "kb-az2"]
