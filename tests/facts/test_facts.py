"""Fixture tests for esdr's pyinfra facts: command, raw output and the parsed fact."""

from __future__ import annotations

from pathlib import Path

from pyinfra_testing.facts import make_fact_tests

HERE = Path(__file__).parent

for folder in sorted(p for p in HERE.iterdir() if p.is_dir() and "." in p.name):
    test_class = make_fact_tests("esdr.facts", folder.name, folder)
    globals()[f"Test_{folder.name.replace('.', '_')}"] = test_class
