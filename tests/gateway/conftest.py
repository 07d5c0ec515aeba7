"""The real gateway binary for tests/gateway/test_binary_*.py (skipped, with the reason, where
the vendored archive is not beside the repository; CI has it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gateway import binary


@pytest.fixture(scope="session")
def gateway_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if binary.archive() is None:
        pytest.skip(
            f"no INFINI Gateway archive under {binary.vendor_dir() / binary.DIST}: check out "
            "shared/ beside the repository or set ESDR_VENDOR_DIR to its vendor/ directory"
        )
    return binary.unpack(tmp_path_factory.mktemp("infini-gateway"))
