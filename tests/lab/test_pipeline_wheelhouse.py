"""The pipeline hosts' Python, for real on this machine: the lab mirror's wheelhouse built from
esdr's lock (pip download, from pip's cache or the registry), a venv made with Debian's python3
and filled from it exactly as the deploy's command does (--no-index, --require-hashes), and the
service module run from esdr's zip in that venv. Without /usr/bin/python3's ensurepip or the
registry it skips (fails under CI=true)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from esdr.errors import EsdrError
from esdr.kafka.model import PipelineInstall
from esdr.kafka.pipeline_runtime import (
    VENV_COMPLETE,
    code_zip,
    install_command,
    module_closure,
    requirements_text,
    venv_dir,
)
from esdr_lab import artifacts, constants, wheelhouse

REPO = Path(__file__).resolve().parents[2]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the pipeline runtime cannot be built here under CI: {reason}")
    pytest.skip(reason)


def test_the_estate_wheelhouse_url_is_a_mirror_file_the_lab_provides() -> None:
    url = f"{constants.MIRROR_URL}/{wheelhouse.DIRECTORY}/"
    data = {"es_estate": {"kafka": {"pipeline_install": {"wheelhouse_url": url}}}}
    files = artifacts.mirror_files(artifacts.urls_of(data))
    assert files == (wheelhouse.DIRECTORY,)
    [artifact] = artifacts.needed_for(files)
    assert artifact.wheelhouse


def test_the_lock_text_lists_each_wheel_hash_under_its_pinned_project(tmp_path) -> None:
    (tmp_path / "Foo_Bar-1.0-py3-none-any.whl").write_bytes(b"one")
    (tmp_path / "foo_bar-1.0-cp311-cp311-manylinux2014_x86_64.whl").write_bytes(b"two")
    (tmp_path / "six-1.17.0-py2.py3-none-any.whl").write_bytes(b"three")
    text = wheelhouse.lock_text(tmp_path)
    body = text.split("\n\n", 1)[1]
    assert body.startswith("foo-bar==1.0 \\\n    --hash=sha256:")
    assert body.count("--hash=sha256:") == 3 and "six==1.17.0 \\\n" in body
    (tmp_path / "six-1.16.0-py2.py3-none-any.whl").write_bytes(b"four")
    with pytest.raises(EsdrError, match="two versions of six"):
        wheelhouse.lock_text(tmp_path)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("mirror") / wheelhouse.DIRECTORY
    try:
        assert wheelhouse.build_wheelhouse(target) == "built"
    except EsdrError as error:
        _unavailable(str(error))
    return target


def test_the_wheelhouse_holds_exactly_the_lock_and_a_rebuild_is_cached(wheels) -> None:
    assert wheelhouse.build_wheelhouse(wheels) == "cached"
    names = sorted(p.name for p in wheels.iterdir())
    assert any(n.startswith("confluent_kafka-") and "cp311" in n for n in names)
    assert all(n.endswith(".whl") for n in names)


def test_a_venv_filled_from_it_runs_the_service_from_the_code_zip(wheels, tmp_path) -> None:
    python = "/usr/bin/python3"
    probe = subprocess.run([python, "-c", "import ensurepip, sys; print(sys.version_info[:2])"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0 or probe.stdout.strip() != "(3, 11)":
        _unavailable(f"{python} is not a CPython 3.11 with ensurepip (python3-venv)")
    install = PipelineInstall(wheelhouse_url=wheels.as_uri() + "/", python=python,
                              root=str(tmp_path / "root"))
    text = requirements_text()
    Path(install.root).mkdir()
    requirements = Path(install.root) / "requirements.txt"
    requirements.write_text(text)
    venv = venv_dir(install, text)
    command = install_command(install.python, venv, install.wheelhouse_url or "",
                              str(requirements))
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=600,
                          check=False, env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    assert done.returncode == 0, done.stderr[-2000:]
    assert (Path(venv) / VENV_COMPLETE).is_file()

    def read(path: str) -> str | None:
        file = REPO / path
        return file.read_text() if file.is_file() else None

    code = tmp_path / "esdr.zip"
    code.write_bytes(code_zip(module_closure(read)))
    (tmp_path / "bad.json").write_text("{}")
    # the unit's command, with the unit's PYTHONPATH: a config it cannot run is exit 2 (the unit
    # does not restart it), which proves the module and every import it needs are there
    run = subprocess.run([f"{venv}/bin/python", "-m", "esdr.kafka_io.pipeline", "--config",
                          str(tmp_path / "bad.json")], capture_output=True, text=True,
                         timeout=120, check=False, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(code)})
    assert run.returncode == 2, run.stderr[-2000:]
    assert "is not a pipeline service config" in run.stderr
    imports = subprocess.run([f"{venv}/bin/python", "-c",
                              "import opensearchpy, elasticsearch, confluent_kafka, esdr; "
                              "print(esdr.__file__)"], capture_output=True, text=True,
                             timeout=120, check=False, cwd=tmp_path,
                             env={"PYTHONPATH": str(code)})
    assert imports.returncode == 0, imports.stderr[-2000:]
    assert imports.stdout.strip().startswith(str(code))  # esdr from the zip, not this checkout
    # a wheel that is not the lock's is refused by the hash check
    bad = Path(install.root) / "other.txt"
    bad.write_text(text.replace(text.split("--hash=sha256:")[1][:64], "0" * 64, 1))
    refused = subprocess.run([f"{venv}/bin/python", "-m", "pip", "install", "--no-index",
                              "--find-links", str(wheels), "--require-hashes",
                              "--force-reinstall", "--no-deps", "-r", str(bad)],
                             capture_output=True, text=True, timeout=300, check=False,
                             env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    assert refused.returncode != 0 and "HASHES" in refused.stderr.upper()
