"""esdr_lab ships in the wheel, but building the lab's INFINI Gateway needs an esdr checkout:
installed from a wheel, it says so in one line instead of a bare "exit 127"."""

from __future__ import annotations

from pathlib import Path

import pytest

from esdr.errors import EsdrError
from esdr_lab import artifacts, constants


def test_a_missing_build_script_is_named_with_the_fix(tmp_path: Path, monkeypatch) -> None:
    vendor = tmp_path / "vendor"
    (vendor / constants.GATEWAY_SOURCE).parent.mkdir(parents=True)
    (vendor / constants.GATEWAY_SOURCE).write_bytes(b"")
    monkeypatch.setenv("ESDR_VENDOR_DIR", str(vendor))
    missing = tmp_path / "site-packages" / "scripts" / "build-gateway"
    monkeypatch.setattr(constants, "GATEWAY_BUILD_SCRIPT", missing)
    with pytest.raises(EsdrError, match="build-gateway not found") as excinfo:
        artifacts.gateway_build(build=True)
    assert "clone of the esdr repository" in str(excinfo.value)
