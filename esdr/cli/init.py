"""``esdr init DIR``: a new estate (inventories, group data, estate file, deploy, .gitignore)
written from esdr's examples, ready for ``esdr validate`` and ``esdr render``."""

from __future__ import annotations

from pathlib import Path

import click

from esdr.cli.guard import OK, guarded
from esdr.cli.prints import Printer
from esdr.scaffold import ENGINES, Choice, estate_files, write_estate


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--engine", type=click.Choice(ENGINES), default="elasticsearch", show_default=True)
@click.option("--two-dc", is_flag=True, help="Two data centres: DC2 follows DC1 (the estate file).")
@click.option("--gateway", is_flag=True,
              help="An INFINI Gateway tier with a keepalived front door in DC1.")
@click.option("--name", default="search", show_default=True,
              help="The estate's name: clusters NAME-dc1 (NAME-dc2), estate file NAME.yml.")
@guarded
def init(printer: Printer, directory: str, engine: str, two_dc: bool, gateway: bool,
         name: str) -> int:
    """Write a new estate into DIRECTORY; refuses to overwrite any file that exists."""
    files = estate_files(Choice(engine=engine, two_dc=two_dc, gateway=gateway, name=name))
    written = write_estate(Path(directory), files)
    for path in written:
        printer.say(f"wrote {path}")
    inventories = sorted(p for p in files if p.startswith("inventories/"))
    printer.say(f"next, in {directory}: replace the example hosts, addresses and mirrors, then")
    for inventory in inventories:
        printer.say(f"  esdr validate {inventory} && esdr render {inventory} --out render/")
    printer.say(f"  pyinfra -y {inventories[0]} deploys/site.py")
    printer.record(written=[str(p) for p in written])
    return OK
