"""Settings for the whole test session.

gevent's monkey-patching comes first, as in pyinfra's own CLI: pyinfra-testing imports
``pyinfra_cli``, which patches the standard library at import, and a patch applied after
``ssl`` is in use makes urllib3 recurse in ``SSLContext`` for opensearch-py's clients
(https://github.com/gevent/gevent/issues/1016). Patched from the start, every module sees the
same ``ssl``.
"""

from gevent import monkey

monkey.patch_all()

# One DC1 lab for the lab modules that can share it (tests/lab_fixtures.py): its fixture and
# the hooks that keep those modules together and take the lab down after the last of them.
from tests.lab_fixtures import (  # noqa: E402,F401
    dc1_deployed,
    pytest_collection_modifyitems,
    pytest_runtest_makereport,
    pytest_runtest_teardown,
    pytest_sessionfinish,
)
