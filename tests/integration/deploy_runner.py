"""Run the real deploy (`pyinfra -y --json INVENTORY deploys/site.py`) and read its results."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from esdr_lab import converge

REPO = Path(__file__).resolve().parents[2]
SITE = converge.SITE


@dataclass
class DeployRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def results(self) -> dict:
        return json.loads(self.stdout)

    def changed_operations(self) -> dict[str, list[str]]:
        """Host -> names of the operations that changed something on it (pyinfra's --json)."""
        return converge.changed_operations(self.results)  # as molecule's converge counts

    def esdr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "[esdr]" in line]


def run_deploy(inventory: str | Path, cwd: Path = REPO, timeout: int = 1500) -> DeployRun:
    start = time.monotonic()
    proc = subprocess.run(
        converge.deploy_command(inventory),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return DeployRun(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
