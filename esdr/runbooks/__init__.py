"""Disaster-recovery runbooks as commands: ``promote`` and ``failback`` (Elastic's CCR
disaster-recovery tutorials, https://www.elastic.co/guide/en/elasticsearch/reference/current/ccr-disaster-recovery-uni-directional-tutorial.html).

Both first compute an ordered list of ``Step`` values (pure, printed by ``--dry``), then run
them one by one, saying each step as it goes.
"""
