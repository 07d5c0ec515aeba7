"""Kernel settings of every host: the values, the file, and what the input check refuses."""

from __future__ import annotations

from esdr.host_tuning import SYSCTL_FILE, TCP_RETRIES2, kernel_parameters, sysctl_conf
from esdr.model import HostSpec
from esdr.render import kernel_files
from esdr.schema import check_hosts


def test_elastics_value_by_default():
    assert kernel_parameters({}) == {TCP_RETRIES2: 5}
    assert sysctl_conf({}).endswith("\nnet.ipv4.tcp_retries2 = 5\n")
    [rendered] = kernel_files({})
    assert (rendered.path, rendered.mode, rendered.user) == (SYSCTL_FILE, "644", "root")


def test_a_chosen_value_and_none_which_leaves_the_host_alone():
    assert kernel_parameters({"tcp_retries2": 8}) == {TCP_RETRIES2: 8}
    assert kernel_parameters({"tcp_retries2": None}) == {}
    assert kernel_files({"tcp_retries2": None}) == []


def _problems(data):
    spec = HostSpec("dc1-data-az1", ("es_data", "t1"), {"zone": "az1", **data})
    return [str(p) for p in check_hosts([spec], "inventories/t1.py")]


def test_out_of_range_or_wrong_type_is_refused_naming_the_host_and_the_reason():
    [too_low] = _problems({"tcp_retries2": 1})
    assert "dc1-data-az1" in too_low and "tcp_retries2" in too_low
    assert "use 3-15 (Elastic recommends 5" in too_low
    [text] = _problems({"tcp_retries2": "5"})
    assert "tcp_retries2" in text
    assert _problems({"tcp_retries2": 15}) == []
    assert _problems({"tcp_retries2": None}) == []
