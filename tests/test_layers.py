"""The import contracts in pyproject.toml hold: layers, no cycles, the product never imports the
lab. A new import that breaks one fails here with import-linter's own explanation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    # The one installed beside the interpreter running the tests (.venv/bin), then PATH's.
    beside = Path(sys.executable).parent / "lint-imports"
    lint_imports = str(beside) if beside.exists() else shutil.which("lint-imports")
    assert lint_imports, "import-linter is missing: bash scripts/setup"
    result = subprocess.run(
        [lint_imports, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
