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


def _layered_names() -> set[str]:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    layers = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    return {name.strip() for layer in layers["layers"] for name in layer.split(":")}


def test_every_product_module_sits_in_a_layer() -> None:
    """A module in no layer is checked by no layer rule: it could import upwards unnoticed."""
    layered = _layered_names()
    unplaced = []
    for path in sorted((ROOT / "esdr").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            continue  # a package is placed by its modules
        module = ".".join(parts)
        if not any(module == name or module.startswith(name + ".") for name in layered):
            unplaced.append(module)
    assert not unplaced, f"add these to a layer in pyproject.toml: {unplaced}"
