"""The cross-DC design ("the estate"): clusters, links, repositories, SLM, CCR and aliases.

One YAML file per estate (``group_data/estates/<name>.yml``) is the single source of truth;
every inventory of the estate loads it into the cluster key ``es_estate`` from its group data::

    # group_data/lab.py and group_data/lab_dc2.py
    from esdr.crossdc.estate import load_estate_file
    es_estate = load_estate_file(__file__, "estates/lab.yml")

``estate.py`` parses it (pure, part of the model: ``Topology.estate``); ``esdr.checks.estate``
refuses bad designs and ``esdr.desired`` derives the objects one cluster must hold.
"""
