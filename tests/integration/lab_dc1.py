"""The DC1 lab as `inventories/lab.py` lays it out: every lab test of DC1 names its hosts here."""

INVENTORY = "inventories/lab.py"
ADDRESS_OF = {
    "dc1-master-az1": "10.88.0.11",
    "dc1-master-az2": "10.88.0.12",
    "dc1-tiebreaker-az3": "10.88.0.13",
    "dc1-data-az1": "10.88.0.14",
    "dc1-data-az2": "10.88.0.15",
}
