"""``esdr init``: which files each choice writes, that it never overwrites, and that what it
writes passes ``esdr validate`` and ``esdr render`` at once, for every combination."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from click.testing import CliRunner

from esdr.cli.main import cli
from esdr.errors import BadInput
from esdr.scaffold import Choice, estate_files, write_estate

ROOT = Path(__file__).resolve().parents[2]
CHOICES = [Choice(engine=e, two_dc=t, gateway=g) for e, t, g in
           itertools.product(("elasticsearch", "opensearch"), (False, True), (False, True))]


def _id(choice: Choice) -> str:
    dcs, gateway = ("two" if choice.two_dc else "one"), ("gw" if choice.gateway else "nogw")
    return f"{choice.engine}-{dcs}dc-{gateway}"


def _init(directory: Path, choice: Choice):
    args = ["init", str(directory), "--engine", choice.engine]
    args += ["--two-dc"] if choice.two_dc else []
    args += ["--gateway"] if choice.gateway else []
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("choice", CHOICES, ids=_id)
def test_each_choice_writes_its_files(choice: Choice) -> None:
    files = estate_files(choice)
    expected = {"inventories/dc1.py", "group_data/dc1.py", "deploys/site.py", ".gitignore"}
    if choice.two_dc:
        expected |= {"inventories/dc2.py", "group_data/dc2.py", "group_data/estates/search.yml"}
    assert set(files) == expected
    dc1 = files["inventories/dc1.py"] + files["group_data/dc1.py"]
    assert ("gateways = [" in dc1 and "gateway_clusters" in dc1) == choice.gateway
    assert ('es_engine = "opensearch"' in dc1) == (choice.engine == "opensearch")
    assert ("es_tiebreaker" in files["inventories/dc1.py"]) == (choice.engine == "elasticsearch")
    if choice.two_dc:  # the gateway tier lives in DC1 only
        assert "gateway" not in files["inventories/dc2.py"] + files["group_data/dc2.py"]


@pytest.mark.parametrize("choice", CHOICES, ids=_id)
def test_what_init_writes_validates_and_renders_at_once(tmp_path: Path, choice: Choice) -> None:
    project = tmp_path / "estate"
    done = _init(project, choice)
    assert done.exit_code == 0, done.output
    inventories = sorted((project / "inventories").glob("*.py"))
    assert len(inventories) == (2 if choice.two_dc else 1)
    for inventory in inventories:
        valid = CliRunner().invoke(cli, ["validate", str(inventory)])
        assert valid.exit_code == 0 and "valid: cluster" in valid.output, valid.output
        assert "warning" not in valid.output
        out = tmp_path / "render" / inventory.stem
        rendered = CliRunner().invoke(cli, ["render", str(inventory), "--out", str(out)])
        assert rendered.exit_code == 0, rendered.output
        hosts = {p.name for p in out.iterdir()}
        assert len(hosts) == 7 + (2 if choice.gateway and inventory.stem == "dc1" else 0)
        config = "opensearch.yml" if choice.engine == "opensearch" else "elasticsearch.yml"
        assert (out / f"es-{inventory.stem}-data-a1.example.internal" / "etc" / choice.engine
                / config).is_file()


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "group_data").mkdir()
    mine = tmp_path / "group_data" / "dc1.py"
    mine.write_text("my settings\n")
    done = _init(tmp_path, Choice())
    assert done.exit_code == 2
    assert str(mine) in done.output and "nothing was written" in done.output
    assert "fix:" in done.output and "Traceback" not in done.output
    assert mine.read_text() == "my settings\n"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "group_data", "group_data/dc1.py"]


def test_a_file_where_a_directory_belongs_is_refused_before_any_write(tmp_path: Path) -> None:
    (tmp_path / "deploys").write_text("not a directory\n")
    with pytest.raises(BadInput, match="deploys exists and is not a directory"):
        write_estate(tmp_path, estate_files(Choice()))
    assert [p.name for p in tmp_path.iterdir()] == ["deploys"]


def test_a_second_init_into_the_same_directory_is_refused(tmp_path: Path) -> None:
    assert _init(tmp_path, Choice(two_dc=True)).exit_code == 0
    again = _init(tmp_path, Choice(two_dc=True))
    assert again.exit_code == 2 and "7 file(s) exist already" in again.output


@pytest.mark.parametrize("name", ["Search", "-x", "a/b", "../up", "x" * 41, ""])
def test_an_unusable_estate_name_is_refused(name: str) -> None:
    with pytest.raises(BadInput, match="not a usable estate name"):
        estate_files(Choice(name=name))


def test_the_repository_deploy_is_the_one_init_writes() -> None:
    """deploys/site.py here and in every user's estate: two lines calling esdr.deploy.site."""
    written = estate_files(Choice())["deploys/site.py"]
    assert (ROOT / "deploys" / "site.py").read_text() == written
    assert "from esdr.deploy import site" in written


def test_the_gitignore_keeps_secrets_out() -> None:
    patterns = estate_files(Choice())[".gitignore"].splitlines()
    assert {"/secrets/", "*.key", "*.pem", "*-password", ".env"} <= set(patterns)
