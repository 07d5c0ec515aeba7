"""``molecule test -s default`` from the repository's root on the lab: create (``esdr lab up``),
converge (the pyinfra deploy), idempotence (the rerun reports no changed operation in pyinfra's
JSON results), verify (``esdr verify inventories/lab.py``); destroy (``esdr lab down``) is left
to the shared DC1 lab's keeper here (``--destroy never``).

It runs on the shared DC1 lab (tests/lab_fixtures.py) rather than a lab of its own, to keep CI
inside its budget: ``esdr lab up`` reuses a healthy lab of the same inventory, so create
reuses it and the first converge finds it deployed (0 changes); the fresh-lab path (create
from nothing, a converge that changes, destroy) is what a contributor's ``molecule test``
runs and what scripts/check-wheel --lab and the DC1 modules exercise. Needs the ``molecule``
extra (in ``test``); without it the test fails under CI, as the lab itself does. That the
idempotence step fails on a deploy that changes something is shown on the real molecule and
pyinfra without the lab in tests/molecule/test_molecule_glue.py.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.deploy_runner import REPO

pytestmark = pytest.mark.lab

BIN = Path(sys.executable).parent
# bring-up (~1 min fresh), two deploys (~2 min the first), verify (~1-2 min), down: bounded
TIMEOUT = 1800


def test_molecule_test_passes_on_the_lab(dc1_deployed, tmp_path) -> None:
    molecule = shutil.which("molecule", path=str(BIN))
    if molecule is None:
        message = "molecule is not installed: pip install -e '.[molecule]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           # a fresh molecule state each run: a stale "created" left by an interrupted run
           # would make molecule skip create (~/.ansible/tmp/molecule.*/state.yml otherwise)
           "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "molecule-state"),
           "ANSIBLE_NOCOLOR": "1", "NO_COLOR": "1"}
    start = time.monotonic()
    # its own process group, so a run over the bound is stopped with its ansible-playbook and
    # pyinfra children, not only molecule itself
    proc = subprocess.Popen([molecule, "test", "-s", "default", "--destroy", "never"], cwd=REPO,
                            env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        pytest.fail(f"molecule test ran over {TIMEOUT}s:\n{out[-8000:]}")
    print(f"\n[molecule] test -s default: {time.monotonic() - start:.0f}s\n{out[-3000:]}")
    assert proc.returncode == 0, out[-8000:]
    for step in ("create", "converge", "idempotence", "verify"):
        assert executed(out, "default", step), step


def executed(out: str, scenario: str, step: str) -> bool:
    """molecule's closing DETAILS line for a step that ran and passed (``>`` without colour,
    ``➜`` with it); tests/molecule/test_molecule_glue.py reads it the same way."""
    return re.search(rf"^{scenario} (?:>|➜) {step}: Executed: Successful$", out,
                     re.MULTILINE) is not None
