"""molecule's own idempotence step, run without the lab on the real converge playbook
(molecule/default/converge.yml): fed pyinfra results with one changed operation, the second
converge is reported ``changed`` and ``molecule test`` fails naming the task; fed results with
none, it passes. Only the deploy is replaced (by ``python -m esdr_lab.converge --results``, the
same parsing path the real converge takes); create and destroy do nothing here. Needs the
``molecule`` extra, not root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.molecule.results import document

REPO = Path(__file__).resolve().parents[2]
CONVERGE = REPO / "molecule" / "default" / "converge.yml"
BIN = Path(sys.executable).parent

NOTHING = """---
- name: {name}
  hosts: localhost
  connection: local
  gather_facts: false
  tasks: []
"""


def _molecule() -> str:
    found = shutil.which("molecule", path=str(BIN)) or shutil.which("molecule")
    if found is None or shutil.which("ansible-playbook", path=str(BIN)) is None:
        pytest.skip("molecule is not installed (pip install -e '.[molecule]')")
    return found


def _scenario(project: Path, results: dict) -> None:
    """A project whose one scenario converges with saved pyinfra results."""
    scenario = project / "molecule" / "default"
    scenario.mkdir(parents=True)
    saved = project / "deploy.json"
    saved.write_text(json.dumps(results))
    for step in ("create", "destroy"):
        (scenario / f"{step}.yml").write_text(NOTHING.format(name=step))
    extra = {"esdr_inventories": ["inventories/lab.py"],
             "esdr_converge_command": [sys.executable, "-m", "esdr_lab.converge",
                                       "--results", str(saved)]}
    (scenario / "molecule.yml").write_text(json.dumps({
        "driver": {"name": "default", "options": {"managed": True}},
        "platforms": [{"name": "esdr-lab"}],
        "ansible": {
            "executor": {"backend": "ansible-playbook",
                         "args": {"ansible_playbook": [f"--extra-vars={json.dumps(extra)}"]}},
            "playbooks": {"create": "create.yml", "converge": str(CONVERGE),
                          "destroy": "destroy.yml"},
        },
        "scenario": {"test_sequence": ["create", "converge", "idempotence", "destroy"]},
    }))  # JSON is YAML


def _molecule_test(tmp_path: Path, results: dict) -> subprocess.CompletedProcess[str]:
    molecule = _molecule()
    project = tmp_path / "project"
    _scenario(project, results)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(REPO),  # this checkout's esdr_lab, run from the project
           # molecule keeps its state (created, converged) per project directory *name*
           # under ~/.ansible/tmp unless told: each run its own, left nothing behind
           "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "molecule-state"),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
           "ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1"}
    return subprocess.run([molecule, "test"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_molecule_idempotence_fails_when_the_rerun_deploy_changes_something(tmp_path) -> None:
    one_changed = document(changed=("dc1-data-az2",))
    run = _molecule_test(tmp_path, one_changed)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-4000:]
    assert "Idempotence test failed because of the following tasks" in out, out[-4000:]
    assert "pyinfra -y --json INVENTORY deploys/site.py" in out, out[-4000:]


def test_molecule_idempotence_passes_when_the_rerun_deploy_changes_nothing(tmp_path) -> None:
    run = _molecule_test(tmp_path, document())
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    assert "Idempotence test failed" not in out
