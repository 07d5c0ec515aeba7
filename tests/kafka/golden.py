"""Golden files under tests/kafka/golden/: the rendered text, checked in and read line by line
once. After an intended rendering change run the tests with ESDR_UPDATE_GOLDEN=1, then read the
diff before committing it."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ESDR_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    expected = path.read_text() if path.exists() else ""
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                            f"golden/{name}", "rendered"))
        raise AssertionError(f"{name} differs from its golden file "
                             f"(ESDR_UPDATE_GOLDEN=1 to rewrite it):\n{diff}")
