"""The lab's file-descriptor floor: an LD_PRELOAD library for Elasticsearch in lab hosts.

Why: Elasticsearch refuses to start on a non-loopback address unless getrlimit(RLIMIT_NOFILE)
says >= 65535. A machine without CAP_SYS_RESOURCE (this sandbox caps every process at 20000)
cannot raise the limit, so a unit's LimitNOFILE=65535 silently becomes 20000. The library makes
getrlimit/prlimit report at least 65535; the real limit stays, which a lab's handful of indices
never approaches. Built once with the machine's gcc (glibc of Debian 12 = the image's), cached,
and copied into every host at constants.NOFILE_SHIM. Production hosts never get it.
"""

from __future__ import annotations

import hashlib
import resource
import shutil
import tempfile
from pathlib import Path

from esdr_lab import constants
from esdr_lab.system import run

FLOOR = 65535

SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#define FLOOR 65535

static void lift(int resource, struct rlimit *limit) {
    if (resource == RLIMIT_NOFILE && limit != NULL) {
        if (limit->rlim_cur < FLOOR) limit->rlim_cur = FLOOR;
        if (limit->rlim_max < FLOOR) limit->rlim_max = FLOOR;
    }
}

int getrlimit(__rlimit_resource_t resource, struct rlimit *limit) {
    static int (*real)(__rlimit_resource_t, struct rlimit *);
    if (real == NULL) real = dlsym(RTLD_NEXT, "getrlimit");
    int rc = real(resource, limit);
    if (rc == 0) lift(resource, limit);
    return rc;
}

int getrlimit64(__rlimit_resource_t resource, struct rlimit64 *limit) {
    static int (*real)(__rlimit_resource_t, struct rlimit64 *);
    if (real == NULL) real = dlsym(RTLD_NEXT, "getrlimit64");
    int rc = real(resource, limit);
    if (rc == 0) lift(resource, (struct rlimit *)limit);
    return rc;
}

int prlimit(pid_t pid, __rlimit_resource_t resource, const struct rlimit *new_limit,
            struct rlimit *old_limit) {
    static int (*real)(pid_t, __rlimit_resource_t, const struct rlimit *, struct rlimit *);
    if (real == NULL) real = dlsym(RTLD_NEXT, "prlimit");
    int rc = real(pid, resource, new_limit, old_limit);
    if (rc == 0) lift(resource, old_limit);
    return rc;
}

int prlimit64(pid_t pid, __rlimit_resource_t resource, const struct rlimit64 *new_limit,
              struct rlimit64 *old_limit) {
    static int (*real)(pid_t, __rlimit_resource_t, const struct rlimit64 *, struct rlimit64 *);
    if (real == NULL) real = dlsym(RTLD_NEXT, "prlimit64");
    int rc = real(pid, resource, new_limit, old_limit);
    if (rc == 0) lift(resource, (struct rlimit *)old_limit);
    return rc;
}
"""


def machine_nofile() -> int:
    """The hard RLIMIT_NOFILE this machine gives processes (what lab hosts inherit)."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def needed() -> bool:
    return machine_nofile() < FLOOR


def ensure_built() -> Path | None:
    """Build (or reuse) the library; None when no C compiler is installed."""
    key = hashlib.sha256(SOURCE.encode()).hexdigest()[:12]
    built = constants.CACHE_DIR / "nofile-floor" / f"nofile_floor-{key}.so"
    if built.is_file():
        return built
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        return None
    built.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=built.parent) as tmp:
        source = Path(tmp) / "nofile_floor.c"
        source.write_text(SOURCE)
        out = Path(tmp) / built.name
        run([compiler, "-O2", "-Wall", "-shared", "-fPIC", "-o", str(out), str(source), "-ldl"])
        out.rename(built)
    return built


def seed(upper: Path, library: Path) -> None:
    target = upper / constants.NOFILE_SHIM.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(library, target)
    target.chmod(0o644)
