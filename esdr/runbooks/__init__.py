"""Seed 000's disaster-recovery runbooks as commands: ``promote`` and ``failback``.

Both first compute an ordered list of ``Step`` values (pure, printed by ``--dry``), then run
them one by one, saying each step as it goes.
"""
