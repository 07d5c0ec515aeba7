"""The ordinary deploy (``pyinfra -y INVENTORY deploys/site.py``), run by commands that move an
estate through steps (``certs rotate-ca``, ``secrets rotate-elastic``), bounded in time."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from esdr.errors import EsdrError

DEPLOY_TIMEOUT = 3600


def run_site(inventory: str, root: Path, what: str, resume: str) -> float:
    """Seconds the deploy took; ``EsdrError`` naming ``what`` and how to ``resume`` when it
    fails. Its output goes to stderr: stdout is ``--json``'s."""
    start = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pyinfra", "-y", str(Path(inventory).resolve()),
             str(root / "deploys" / "site.py")],
            cwd=root, stdout=sys.stderr, stderr=sys.stderr, timeout=DEPLOY_TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired:
        raise EsdrError(f"{what}: the deploy of {inventory} ran over {DEPLOY_TIMEOUT} s",
                        hint=resume) from None
    if done.returncode != 0:
        raise EsdrError(f"{what}: the deploy of {inventory} failed (exit {done.returncode}, "
                        "its output is above)", hint=resume)
    return time.monotonic() - start
