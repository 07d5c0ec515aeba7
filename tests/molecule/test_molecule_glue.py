"""molecule's own idempotence step, run without the lab on the real converge playbook
(molecule/default/converge.yml) and the real pyinfra: with a deliberately non-idempotent deploy
(a shell command, which pyinfra reports as a change on every run) the second converge is
``changed`` and ``molecule test`` fails naming the task; with an idempotent one it passes. Only
the deploy file and its inventory differ from the lab's (``esdr_lab.converge --site``, pyinfra's
``@local`` connector: no SSH, no root); create and destroy do nothing here. Needs the
``molecule`` extra.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.test_molecule_lab import executed
from tests.molecule.test_converge import IDEMPOTENT, NOT_IDEMPOTENT

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


def _scenario(project: Path, deploy: str) -> None:
    """A project whose one scenario converges with ``deploy`` on this machine."""
    scenario = project / "molecule" / "default"
    scenario.mkdir(parents=True)
    site = project / "deploy.py"
    site.write_text(deploy)
    for step in ("create", "destroy"):
        (scenario / f"{step}.yml").write_text(NOTHING.format(name=step))
    extra = {"esdr_inventories": ["@local"],
             "esdr_converge_command": [sys.executable, "-m", "esdr_lab.converge",
                                       "--site", str(site)]}
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


def _molecule_test(tmp_path: Path, deploy: str) -> subprocess.CompletedProcess[str]:
    molecule = _molecule()
    project = tmp_path / "project"
    _scenario(project, deploy)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(REPO),  # this checkout's esdr_lab, run from the project
           "ESDR_TEST_MARKER": str(tmp_path / "marker"),
           # molecule keeps its state (created, converged) per project directory *name*
           # under ~/.ansible/tmp unless told: each run its own, left nothing behind
           "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "molecule-state"),
           "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
           "ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1"}
    return subprocess.run([molecule, "test"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_molecule_idempotence_fails_when_the_rerun_deploy_changes_something(tmp_path) -> None:
    run = _molecule_test(tmp_path, NOT_IDEMPOTENT)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-4000:]
    assert "Idempotence test failed because of the following tasks" in out, out[-4000:]
    assert "pyinfra -y --json INVENTORY deploys/site.py" in out, out[-4000:]
    # the task after the deploy said what pyinfra changed on the rerun
    assert "Stamp the marker" in out, out[-4000:]


def test_molecule_idempotence_passes_when_the_rerun_deploy_changes_nothing(tmp_path) -> None:
    run = _molecule_test(tmp_path, IDEMPOTENT)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    assert "Idempotence test failed" not in out
    for step in ("create", "converge", "idempotence", "destroy"):  # as the lab test reads them
        assert executed(out, "default", step), (step, out[-4000:])
