"""Pure parts of the lab: names, addresses, route parsing, /etc/hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from esdr.errors import EsdrError
from esdr_lab import spec
from esdr_lab.spec import HostSpec

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("address", "veth"),
    [("10.88.0.13", "esl-0-13"), ("10.88.0.2", "esl-0-2"), ("10.88.0.254", "esl-0-254")],
)
def test_veth_name_from_address_fits_ifnamsiz(address, veth):
    assert spec.veth_name(address) == veth
    assert len(veth) <= spec.IFNAMSIZ


def test_netns_name_has_the_lab_prefix():
    assert spec.netns_name("dc1-master-az1") == "esdrlab-dc1-master-az1"


@pytest.mark.parametrize("address", ["10.88.0.11", "10.88.0.2", "10.88.0.254"])
def test_addresses_inside_the_lab_subnet_are_accepted(address):
    assert spec.validate_address(address) == address


@pytest.mark.parametrize(
    ("address", "words"),
    [
        (None, "no ssh_hostname"),
        ("", "no ssh_hostname"),
        ("lab-host", "not an IPv4 address"),
        ("10.88.1.5", "outside the lab subnet"),
        ("192.0.2.2", "outside the lab subnet"),
        ("10.88.0.1", "machine's own address"),
        ("10.88.0.0", "network or broadcast"),
        ("10.88.0.255", "network or broadcast"),
    ],
)
def test_bad_addresses_are_refused_with_a_reason(address, words):
    with pytest.raises(EsdrError, match=words) as info:
        spec.validate_address(address, " (h1 in inv.py)")
    assert info.value.hint  # every refusal says how to fix it


@pytest.mark.parametrize("name", ["Upper", "under_score", "-lead", "trail-", "a" * 64, ""])
def test_bad_host_names_are_refused(name):
    with pytest.raises(EsdrError, match="not a valid hostname"):
        spec.validate_name(name)


def test_duplicate_names_and_addresses_are_refused():
    a = HostSpec("h1", "10.88.0.11", "a.py")
    with pytest.raises(EsdrError, match="h1 is defined twice"):
        spec.check_unique([a, HostSpec("h1", "10.88.0.12", "b.py")])
    with pytest.raises(EsdrError, match="both use 10.88.0.11"):
        spec.check_unique([a, HostSpec("h2", "10.88.0.11", "b.py")])


@pytest.mark.parametrize(
    ("output", "dev"),
    [
        ("10.88.0.13 dev esdrlab0 src 10.88.0.1 uid 0 \n    cache \n", "esdrlab0"),
        ("10.88.0.13 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \n    cache \n", "eth0"),
        ("local 10.88.0.1 dev lo table local src 10.88.0.1 uid 0 \n    cache <local> \n", "lo"),
        ("", None),
        ("RTNETLINK answers: Network is unreachable\n", None),
    ],
)
def test_route_get_parser_finds_the_device(output, dev):
    assert spec.parse_route_dev(output) == dev


def test_hosts_file_lists_every_lab_host_and_the_controller():
    text = spec.hosts_file([HostSpec("h1", "10.88.0.11"), HostSpec("h2", "10.88.0.12")])
    assert "10.88.0.11\th1\n" in text
    assert "10.88.0.12\th2\n" in text
    assert "10.88.0.1\tesdr-lab-controller\n" in text
    assert text.startswith("127.0.0.1\tlocalhost\n")


def test_specs_come_from_the_lab_inventory():
    specs = spec.specs_from_inventories([str(REPO / "inventories" / "lab.py")])
    assert [(s.name, s.address) for s in specs] == [
        ("dc1-master-az1", "10.88.0.11"),
        ("dc1-master-az2", "10.88.0.12"),
        ("dc1-tiebreaker-az3", "10.88.0.13"),
        ("dc1-data-az1", "10.88.0.14"),
        ("dc1-data-az2", "10.88.0.15"),
    ]


def test_the_same_inventory_twice_is_refused_as_duplicates():
    lab = str(REPO / "inventories" / "lab.py")
    with pytest.raises(EsdrError, match="defined twice"):
        spec.specs_from_inventories([lab, lab])


def test_an_inventory_host_outside_the_subnet_is_refused(tmp_path):
    inventories = tmp_path / "inventories"
    inventories.mkdir()
    inventory = inventories / "bad.py"
    inventory.write_text('hosts = [("h1", {"ssh_hostname": "192.0.2.7"})]\n')
    with pytest.raises(EsdrError, match=r"192.0.2.7 \(h1 in .*bad.py\) is outside"):
        spec.specs_from_inventories([str(inventory)])
