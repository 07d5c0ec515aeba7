"""The docs stay true to the code: the generated reference pages are current, every `esdr ...`
command and every setting the hand-written pages name exists, every command is documented
somewhere a reader looks, and the MkDocs site builds with --strict (broken links fail)."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from esdr import docs_gen, schema
from esdr.gateway.model import GATEWAY_GROUP, LB_GROUP, TIER_DEFAULTS
from esdr.model import CLUSTER_DEFAULTS, HOST_DEFAULTS, HOST_KEYS, ROLE_GROUPS

REPO = docs_gen.REPO
GENERATED = {REPO / page for page in docs_gen.PAGES}
HAND_WRITTEN = sorted(
    p for p in [REPO / "README.md", *(REPO / "docs").rglob("*.md")] if p not in GENERATED
)


def test_generated_pages_are_current():
    assert docs_gen.stale() == [], "run: .venv/bin/python -m esdr.docs_gen"


# ---- commands --------------------------------------------------------------------------------

_INLINE = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_CALL = re.compile(r"(?:^|(?<=[\s;&|(]))(?:\.venv/bin/|python3? -m )?esdr((?: [^\s#;&|)`]+)+)")
# In a block, a call starts its line or follows a shell operator; elsewhere "esdr" is output
# ("... esdr last saw the follower in sync then").
_BLOCK_CALL = re.compile(r"(?:^\s*(?:\$ )?|(?:&&|;|\|\|?)\s*)"
                         r"(?:\.venv/bin/|python3? -m )?esdr((?: [^\s#;&|)`]+)+)")


def _looks_like_a_call(words: list[str]) -> bool:
    """An inline span is a command line, not a quoted sentence ("esdr last saw the follower in
    sync"), when it is short or carries what only command lines carry: an option, a path, a
    placeholder."""
    return len(words) <= 2 or any(
        w.startswith("-") or "/" in w or w.endswith((".py", ".yml")) or w.isupper()
        for w in words)


def _command_lines(text: str) -> list[str]:
    """Every `esdr ...` invocation inside code (inline spans and fenced blocks), one per call.
    A first word ending in ':' is a label in a listing (``esdr init: a new estate``), not a
    call; in a block, a shell comment is not part of the line."""
    calls = [m.group(1).strip() for span in _INLINE.findall(_FENCE.sub("", text))
             for m in _CALL.finditer(span)]
    calls = [c for c in calls if _looks_like_a_call(c.split())]
    for block in _FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0]
            calls += [m.group(1).strip() for m in _BLOCK_CALL.finditer(line)]
    return [c for c in calls if not c.split()[0].endswith((":", ","))]


def _check(words: list[str]) -> str | None:
    """None when ``esdr WORDS`` names a command and options it has, else what is wrong."""
    from esdr.cli.main import cli

    command: click.Command = cli
    ctx = click.Context(cli, info_name="esdr")
    for word in words:
        word = word.strip("[]()")
        if not word or word in ("...", "…") or word.startswith(("<", "$", '"', "'")):
            continue
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            opts = {o for p in command.get_params(ctx) for o in (*p.opts, *p.secondary_opts)}
            if name not in opts and not name.lstrip("-").isupper():
                if command.context_settings.get("ignore_unknown_options"):
                    return None  # `esdr verify`: the rest goes to pytest as it is
                return f"{ctx.command_path}: no option {name}"
            continue
        if isinstance(command, click.Group):
            if word.isupper() or "|" in word:  # COMMAND, a placeholder
                return None
            if "/" in word:  # `esdr plan/promote/failback`: several commands at once
                missing = [w for w in word.split("/") if command.get_command(ctx, w) is None]
                return f"{ctx.command_path}: no command {missing}" if missing else None
            sub = command.get_command(ctx, word)
            if sub is None:
                return f"{ctx.command_path}: no command {word!r}"
            command, ctx = sub, click.Context(sub, info_name=word, parent=ctx)
            continue
        # an argument; the options after it are still the command's
    return None


def _documented() -> list[tuple[str, str]]:
    out = []
    for page in HAND_WRITTEN:
        for line in _command_lines(page.read_text()):
            try:
                words = shlex.split(line, comments=True)
            except ValueError:
                words = line.split()
            out.append((str(page.relative_to(REPO)), " ".join(["esdr", *words])))
    return out


def test_every_documented_command_exists():
    wrong = []
    for page, line in _documented():
        problem = _check(line.split()[1:])
        if problem:
            wrong.append(f"{page}: `{line}`: {problem}")
    assert not wrong, "\n".join(wrong)


def test_every_command_is_documented_by_hand():
    """The other way: each command appears in the README or a hand-written page, not only in
    the generated reference (a reader must meet it where the task is)."""
    named = {" ".join(w for w in line.split() if not w.startswith("-"))
             for _, line in _documented()}
    missing = [path for path in docs_gen.command_tree()
               if not any(n == path or n.startswith(path + " ") for n in named)]
    assert not missing, f"commands no hand-written page shows: {missing}"


def test_the_checker_refuses_what_does_not_exist():
    assert _check(["plan", "inventories/lab.py"]) is None
    assert _check(["certs", "rotate-ca", "--dry", "a.py"]) is None
    assert _check(["--json", "status", "x.py"]) is None
    assert _check(["plna", "x.py"]) is not None
    assert _check(["plan", "--no-such-option", "x.py"]) is not None
    assert _check(["certs", "rotate"]) is not None
    assert _command_lines("`esdr last saw the follower in sync then`, `esdr init: a new one`") == []
    assert _command_lines("run `esdr plan inventories/lab.py` then\n```bash\n"
                          ".venv/bin/esdr validate x.py && esdr render x.py --out r/\n```\n") == [
        "plan inventories/lab.py", "validate x.py", "render x.py --out r/"]


# ---- settings --------------------------------------------------------------------------------

_SETTING = re.compile(r"`((?:es|gateway|status)_[a-z0-9_]+|tcp_retries2)(?:[ =:`.\[])")


def _known_settings() -> set[str]:
    return (set(schema.NodeData.model_fields) | set(schema.GatewayData.model_fields)
            | set(CLUSTER_DEFAULTS) | set(HOST_DEFAULTS) | set(HOST_KEYS) | set(TIER_DEFAULTS)
            | set(ROLE_GROUPS) | {GATEWAY_GROUP, LB_GROUP})


# Named on purpose as what esdr refuses (a typo of es_ingest: `unknown-group`).
TYPO_EXAMPLES = {"es_ingset"}


def test_every_documented_setting_exists():
    known = _known_settings() | TYPO_EXAMPLES
    wrong = []
    for page in HAND_WRITTEN:
        for name in set(_SETTING.findall(page.read_text() + " ")):
            if name not in known:
                wrong.append(f"{page.relative_to(REPO)}: `{name}`")
    assert not wrong, "settings the schema does not know:\n" + "\n".join(sorted(wrong))


def test_every_setting_is_in_the_reference():
    page = (REPO / "docs/reference/settings.md").read_text()
    missing = [k for k in _known_settings() if f"`{k}`" not in page]
    assert not missing, missing


# ---- the site --------------------------------------------------------------------------------

def test_mkdocs_builds_strict(tmp_path):
    """`mkdocs build --strict`: a broken link or a page missing from the nav fails. CI installs
    the docs extra (scripts/setup), so there a missing MkDocs is a failure, not a skip."""
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("CI"):
            pytest.fail("mkdocs is not installed: pip install -e '.[docs]' (scripts/setup does)")
        pytest.skip("mkdocs is not installed: pip install -e '.[docs]'")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_stays_short_and_keeps_its_two_commands():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 150
    head = "\n".join(lines[:12])
    assert "bash scripts/demo" in head and "bash scripts/test" in head


def test_diagram_of_the_lab(tmp_path):
    from esdr.cli.diagram import sites_of
    from esdr.diagram import diagram

    text = diagram(*sites_of(str(REPO / "inventories/prod.py")))
    assert text.startswith("flowchart LR\n")
    assert "zone az3 (hidden tie-breaker)" in text
    assert "master, voting_only" in text
    # followers drawn leader -> follower; the gateway tier writes to DC1, queues for DC2
    assert 'dc_dc1 == "CCR orders to orders (alias orders-write)" ==> dc_dc2' in text
    assert 'VIP 10.20.1.100/24' in text
    assert 'dc_dc1_tier -- "writes" --> dc_dc1' in text
    assert 'dc_dc1_tier -. "queued replay" .-> dc_dc2' in text
