"""Fixture tests for esdr's pyinfra operations, as pyinfra tests its own (pyinfra-testing).

Each folder ``<module>.<operation>/`` holds cases: the facts the operation sees, the commands it
must yield, or its noop message, or the exception it must raise.
"""

from __future__ import annotations

from pathlib import Path

from pyinfra_testing.operations import make_operation_tests

HERE = Path(__file__).parent

for folder in sorted(p for p in HERE.iterdir() if p.is_dir() and "." in p.name):
    test_class = make_operation_tests("esdr.operations", folder.name, folder)
    globals()[f"Test_{folder.name.replace('.', '_')}"] = test_class
