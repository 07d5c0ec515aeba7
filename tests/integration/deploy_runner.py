"""Run the real deploy (`pyinfra -y --json INVENTORY deploys/site.py`) and read its results."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "deploys" / "site.py"


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
        changed: dict[str, list[str]] = {}
        for op in self.results["results"]["operations"]:
            for host in op["success"] + op["no_change"] + op["error"]:
                changed.setdefault(host, [])
            for host in op["success"]:
                changed[host].append(op["name"])
        return changed

    def esdr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if "[esdr]" in line]


def run_deploy(inventory: str | Path, cwd: Path = REPO, timeout: int = 1500) -> DeployRun:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pyinfra", "-y", "--json", str(inventory), str(SITE)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return DeployRun(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
