"""``esdr gateway lint``: each broken file of the corpus fails with its expected message; the
files rendered for inventories/prod.py and a hand-written primary/backup gateway.yml pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from esdr.cli.main import cli
from esdr.gateway.lint import lint_text
from esdr.gateway.render import gateway_yml
from esdr.project import load_project
from esdr.problems import errors

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = sorted((HERE / "corpus").glob("*.yml"))
EXPECT = re.compile(r"^# expect: ([a-z-]+): (.+)$")


def _expected(path: Path) -> tuple[str, str]:
    match = EXPECT.match(path.read_text().splitlines()[0])
    assert match, f"{path.name}: first line must be '# expect: <rule>: <message part>'"
    return match.group(1), match.group(2)


def test_the_corpus_has_at_least_ten_broken_files() -> None:
    assert len(CORPUS) >= 10


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_broken_file_fails_with_its_message(path: Path) -> None:
    rule, message = _expected(path)
    problems = lint_text(path.read_text(), path.name)
    matching = [p for p in errors(problems) if p.rule == rule and message in p.message]
    assert matching, f"expected [{rule}] '{message}', got:\n" + "\n".join(map(str, problems))


@pytest.mark.parametrize("path", CORPUS[:3], ids=lambda p: p.stem)
def test_cli_lint_exits_2_and_prints_the_message(path: Path) -> None:
    rule, message = _expected(path)
    result = CliRunner().invoke(cli, ["gateway", "lint", str(path)])
    assert result.exit_code == 2
    assert message in result.output and f"[{rule}]" in result.output


@pytest.fixture(scope="module")
def prod_tier():
    tier = load_project(ROOT / "inventories" / "prod.py").tier
    assert tier is not None
    return tier


def test_rendered_prod_gateway_yml_passes_lint(prod_tier) -> None:
    for host in prod_tier.gateways:
        problems = lint_text(gateway_yml(prod_tier, host), host.name, references=True)
        assert problems == []


def test_cli_lint_passes_on_the_rendered_prod_file(prod_tier, tmp_path: Path) -> None:
    target = tmp_path / "gateway.yml"
    target.write_text(gateway_yml(prod_tier, prod_tier.gateways[0]))
    result = CliRunner().invoke(cli, ["gateway", "lint", "--references", str(target)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(": ok")


def test_the_seeds_gateway_yml_passes_with_warnings() -> None:
    problems = lint_text((HERE / "seed_000_gateway.yml").read_text(), "seed")
    assert errors(problems) == []
    assert {p.rule for p in problems} == {"queue-consumer-deprecated", "plain-password"}


def test_plain_password_is_an_error_when_references_are_required() -> None:
    text = (HERE / "seed_000_gateway.yml").read_text()
    bad = errors(lint_text(text, "seed", references=True))
    assert {p.rule for p in bad} == {"plain-password"}
