"""The count molecule's converge step reports as ``changed`` (esdr_lab/converge.py), read from
pyinfra's JSON results: one changed operation on one host is a change; none is none."""

from __future__ import annotations

import json

import pytest

from esdr_lab import converge
from tests.molecule.results import HOSTS, document


def test_one_changed_operation_is_reported_as_a_change() -> None:
    results = document(changed=("dc1-data-az2",))
    assert converge.changed_count(results) == 1
    assert converge.changed_operations(results) == {
        "dc1-data-az1": [], "dc1-data-az2": ["Render elasticsearch.yml"]}


def test_a_rerun_that_changes_nothing_counts_zero_with_every_host_present() -> None:
    results = document()
    assert converge.changed_count(results) == 0
    assert converge.changed_operations(results) == {host: [] for host in HOSTS}


def test_a_dry_run_document_is_refused_not_read_as_no_change() -> None:
    with pytest.raises(ValueError, match="dry run"):
        converge.changed_count({"plan": [], "results": None})


def test_the_command_prints_the_count_from_saved_results(tmp_path, capsys) -> None:
    saved = tmp_path / "deploy.json"
    saved.write_text(json.dumps(document(changed=HOSTS)))
    assert converge.main(["inventories/lab.py", "--results", str(saved)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["changed"] == 2
    assert report["changed_operations"] == {h: ["Render elasticsearch.yml"] for h in HOSTS}


def test_output_that_is_not_pyinfra_json_fails_the_step(tmp_path, capsys) -> None:
    saved = tmp_path / "deploy.json"
    saved.write_text("--> Loading config...\n")  # pyinfra's text, not its --json
    assert converge.main(["inventories/lab.py", "--results", str(saved)]) == 1
    assert "cannot read pyinfra's JSON results" in capsys.readouterr().err


def test_the_deploy_is_pyinfra_json_on_the_repository_site() -> None:
    words = converge.deploy_command("inventories/lab.py")
    assert words[1:5] == ["-m", "pyinfra", "-y", "--json"]
    assert words[-2:] == ["inventories/lab.py", str(converge.REPO / "deploys" / "site.py")]


IDEMPOTENT = """import os
from pyinfra.operations import files
files.file(name="Marker file", path=os.environ["ESDR_TEST_MARKER"], mode="600")
"""
# a command pyinfra cannot know the outcome of: it reports a change on every run
NOT_IDEMPOTENT = """import os
from pyinfra.operations import server
server.shell(name="Stamp the marker", commands=["date +%s%N > " + os.environ["ESDR_TEST_MARKER"]])
"""


@pytest.mark.parametrize("deploy,second", [(IDEMPOTENT, 0), (NOT_IDEMPOTENT, 1)])
def test_real_pyinfra_json_on_this_machine_counts_the_rerun(tmp_path, monkeypatch, capsys,
                                                          deploy, second) -> None:
    """pyinfra's own --json (the @local connector: no SSH, no root), run twice."""
    site = tmp_path / "deploy.py"
    site.write_text(deploy)
    monkeypatch.setenv("ESDR_TEST_MARKER", str(tmp_path / "marker"))
    counts = []
    for _ in range(2):
        assert converge.main(["@local", "--site", str(site)]) == 0
        counts.append(json.loads(capsys.readouterr().out)["changed"])
    assert counts == [1, second]
