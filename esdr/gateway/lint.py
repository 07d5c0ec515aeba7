"""``esdr gateway lint FILE``: is a gateway.yml a working primary/backup setup? Pure.

Checks that every referenced cluster, flow, queue and router exists; that every queue is named
for a cluster (``<cluster>-queue``) and has exactly one consumer pipeline writing to that
cluster, gated on its availability; that both directions are covered; that reads and writes
are routed; and that no password is plain text once references are in use.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from esdr.problems import Problem

# libyaml's safe loader when PyYAML has it: the same YAML, several times faster (validate lints
# every rendered gateway.yml)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ENV_REF = re.compile(r"^\$\[\[env\.[A-Za-z_][A-Za-z0-9_]*\]\]$")
QUEUE_SUFFIX = "-queue"
READ_HINTS = ("GET", "HEAD")

# What INFINI Gateway 1.0.0_SNAPSHOT (github.com/infinilabs/gateway 8ad4aab, framework bd9f1dad)
# builds: the names its own refusal lists ("the processor X does not exist. valid processors:
# ..."). A flow filter it does not know, or an `if` without a condition it knows, makes it exit
# at start; a pipeline processor it does not know leaves that pipeline not running.
KNOWN_FILTERS = frozenset("""
    auto_generate_doc_id basic_auth bulk_request_mutate bulk_request_resort bulk_request_throttle
    bulk_reshuffle bulk_response_process clone context_filter context_limiter context_parse
    context_regex_replace context_switch date_range_precision_tuning drop dump echo
    elasticsearch elasticsearch_health_check elasticsearch_lookup flow get_cache hash_mod http
    javascript kafka ldap_auth logging queue ratio record redirect redis_pubsub
    request_api_key_filter request_api_key_limiter request_body_json_del request_body_json_set
    request_body_regex_replace request_client_ip_filter request_client_ip_limiter
    request_header_filter request_host_filter request_host_limiter request_method_filter
    request_path_filter request_path_limiter request_reshuffle request_user_filter
    request_user_limiter response_body_regex_replace response_header_filter
    response_header_format response_status_filter retry_limiter rewrite_to_bulk sample
    set_basic_auth set_cache set_context set_hostname set_request_cookie set_request_header
    set_request_query_args set_response set_response_header sleep stats switch tag translog
    wildcard_domain
""".split())
KNOWN_PROCESSORS = frozenset("""
    bulk_indexing consumer dag dump_hash echo es_scroll fast_bulk_indexing fast_flow_runner
    flow_replay flow_runner http index_backup index_diff indexing_merge json_indexing
    merge_to_bulk queue_consumer replay replication_correlation smtp
""".split())
# The condition keys of framework/core/conditions/conditions.go (bd9f1dad)
KNOWN_CONDITIONS = frozenset("""
    and cluster_available consumer_has_lag contains equals exists in length network not or
    prefix queue_has_lag range regexp suffix
""".split())


@dataclass
class _Facts:
    """What the file declares and references, gathered in one walk."""

    clusters: list[str] = field(default_factory=list)
    flows: dict[str, Any] = field(default_factory=dict)
    routers: dict[str, Any] = field(default_factory=dict)
    flow_names: list[str] = field(default_factory=list)
    router_names: list[str] = field(default_factory=list)
    # (where, cluster) for every cluster named outside `elasticsearch:`
    cluster_refs: list[tuple[str, str]] = field(default_factory=list)
    # (where, flow)
    flow_refs: list[tuple[str, str]] = field(default_factory=list)
    # queue -> flows writing it
    queue_writers: dict[str, list[str]] = field(default_factory=dict)
    # queue -> [(pipeline, target cluster or None, gated clusters)]
    consumers: dict[str, list[tuple[str, str | None, list[str]]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _named(section: Any) -> list[dict[str, Any]]:
    return (
        [item for item in section or [] if isinstance(item, dict)]
        if isinstance(section, list)
        else []
    )


def _map(value: Any) -> dict[Any, Any]:
    """A mapping the file should have here; anything else reads as empty (the section checks
    report what is missing), so a wrong type is a finding, not a crash."""
    return value if isinstance(value, dict) else {}


def _seq(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _walk_filters(filters: Any) -> Iterator[tuple[str, Any]]:
    """(filter name, its config) depth first, through if/then/else."""
    for item in _seq(filters):
        if not isinstance(item, dict):
            continue
        for name, conf in item.items():
            yield name, conf
            if name == "if" and isinstance(conf, dict):
                yield from _walk_filters(conf.get("then"))
                yield from _walk_filters(conf.get("else"))
            if name in ("then", "else"):
                yield from _walk_filters(conf)


def _if_blocks(filters: Any) -> Iterator[dict[str, Any]]:
    """Every ``if`` block of a filter list; seed style puts then/else beside ``if``."""
    for item in _seq(filters):
        if isinstance(item, dict) and "if" in item:
            block = dict(item["if"]) if isinstance(item["if"], dict) else {}
            block.setdefault("then", item.get("then"))
            block.setdefault("else", item.get("else"))
            yield block
            yield from _if_blocks(block.get("then"))
            yield from _if_blocks(block.get("else"))


def _targets(filters: Any) -> list[str]:
    return [
        str(conf.get("elasticsearch"))
        for name, conf in _walk_filters(filters)
        if name == "elasticsearch" and isinstance(conf, dict)
    ]


def _gather(doc: dict[str, Any], where: str) -> _Facts:
    facts = _Facts()
    for c in _named(doc.get("elasticsearch")):
        facts.clusters.append(str(c.get("name")))
    for f in _named(doc.get("flow")):
        name = str(f.get("name"))
        facts.flow_names.append(name)
        facts.flows[name] = f
        here = f"{where} flow {name}"
        # seed style: `- if: {...}` with then/else beside it, or nested inside it
        filters = f.get("filter")
        for block in _if_blocks(filters):
            for cluster in _as_list(block.get("cluster_available")):
                facts.cluster_refs.append((here, str(cluster)))
        _check_filter_names(filters, here, facts)
        for block in _if_blocks(filters):
            _check_condition({k: v for k, v in block.items() if k not in ("then", "else")},
                             f"{here} if", facts)
        for fname, conf in _walk_filters(filters):
            if isinstance(conf, dict) and "when" in conf:
                _check_condition(conf["when"], f"{here} {fname} when", facts)
            if fname == "flow" and isinstance(conf, dict):
                for target in _as_list(conf.get("flow")) + _as_list(conf.get("flows")):
                    facts.flow_refs.append((here, str(target)))
            if fname == "elasticsearch" and isinstance(conf, dict):
                facts.cluster_refs.append((here, str(conf.get("elasticsearch"))))
            if fname == "queue" and isinstance(conf, dict):
                facts.queue_writers.setdefault(str(conf.get("queue_name")), []).append(name)
    for r in _named(doc.get("router")):
        name = str(r.get("name"))
        facts.router_names.append(name)
        facts.routers[name] = r
        if r.get("default_flow") is not None:
            facts.flow_refs.append((f"{where} router {name}", str(r["default_flow"])))
        for rule in _named(r.get("rules")):
            for flow in _as_list(rule.get("flow")):
                facts.flow_refs.append((f"{where} router {name}", str(flow)))
    for p in _named(doc.get("pipeline")):
        _gather_pipeline(p, where, facts)
    return facts


def _check_filter_names(filters: Any, here: str, facts: _Facts) -> None:
    """Every filter of a list (through if/then/else) is a mapping naming a filter INFINI has."""
    for item in _seq(filters):
        if not isinstance(item, dict):
            facts.problems.append(Problem(
                here, "filter-not-a-mapping",
                f"filter {item!r} is not a mapping (`- name: {{...}}`): the gateway exits at "
                "start"))
            continue
        if "if" in item:
            block = item["if"] if isinstance(item["if"], dict) else {}
            _check_filter_names(item.get("then", block.get("then")), here, facts)
            _check_filter_names(item.get("else", block.get("else")), here, facts)
            continue
        for name in item:
            if name not in KNOWN_FILTERS:
                facts.problems.append(Problem(
                    here, "filter-unknown",
                    f"filter {name!r} does not exist in INFINI Gateway (the gateway exits at "
                    "start); check its spelling against https://docs.infinilabs.com/gateway/"))


def _check_condition(condition: Any, here: str, facts: _Facts) -> None:
    """A `when`/`if` condition: a non-empty mapping of known condition keys, nested or/and/not."""
    if not isinstance(condition, dict) or not condition:
        facts.problems.append(Problem(
            here, "condition-invalid",
            "missing or invalid condition: give one of " + ", ".join(sorted(KNOWN_CONDITIONS))))
        return
    for key, value in condition.items():
        if key not in KNOWN_CONDITIONS:
            facts.problems.append(Problem(
                here, "condition-invalid",
                f"condition {key!r} does not exist in INFINI Gateway (known: "
                f"{', '.join(sorted(KNOWN_CONDITIONS))})"))
        elif key in ("or", "and"):
            for sub in _seq(value) or [None]:
                _check_condition(sub, here, facts)
        elif key == "not":
            _check_condition(value, here, facts)


def _check_processor_name(kind: str, here: str, facts: _Facts) -> None:
    if kind not in KNOWN_PROCESSORS:
        facts.problems.append(Problem(
            here, "processor-unknown",
            f"processor {kind!r} does not exist in INFINI Gateway: the pipeline would not run "
            f"(known: {', '.join(sorted(KNOWN_PROCESSORS))})"))


def _gather_pipeline(pipeline: dict[str, Any], where: str, facts: _Facts) -> None:
    name = str(pipeline.get("name"))
    here = f"{where} pipeline {name}"
    for proc in _named(pipeline.get("processor")):
        for kind, conf in proc.items():
            _check_processor_name(str(kind), here, facts)
            if isinstance(conf, dict):
                for inner in _named(conf.get("processor")):
                    for inner_kind in inner:
                        _check_processor_name(str(inner_kind), here, facts)
                if "when" in conf:
                    _check_condition(conf["when"], f"{here} {kind} when", facts)
            if not isinstance(conf, dict):
                continue
            gated = [str(c) for c in _as_list(_map(conf.get("when")).get("cluster_available"))]
            for cluster in gated:
                facts.cluster_refs.append((here, cluster))
            if kind == "queue_consumer":
                facts.problems.append(
                    Problem(
                        here,
                        "queue-consumer-deprecated",
                        "queue_consumer is deprecated: replay with a consumer + flow_replay "
                        "pipeline (or bulk_indexing for bulk queues)",
                        "warning",
                    )
                )
                queues = _as_list(conf.get("input_queue"))
                target = conf.get("elasticsearch")
            elif kind in ("consumer", "bulk_indexing"):
                selector = conf.get("queue_selector") or {}
                queues = _as_list(selector.get("keys") if isinstance(selector, dict) else None)
                queues += _as_list(conf.get("queue_selector.keys"))
                target = conf.get("elasticsearch")
                for inner in _named(conf.get("processor")):
                    replay = inner.get("flow_replay")
                    if isinstance(replay, dict) and replay.get("flow") is not None:
                        flow = str(replay["flow"])
                        facts.flow_refs.append((here, flow))
                        flow_targets = _targets((facts.flows.get(flow) or {}).get("filter"))
                        target = target or (flow_targets[0] if flow_targets else None)
            else:
                continue
            if target is not None:
                facts.cluster_refs.append((here, str(target)))
            for queue in queues:
                facts.consumers.setdefault(str(queue), []).append(
                    (name, str(target) if target is not None else None, gated)
                )


def lint_text(text: str, source: str = "gateway.yml", references: bool = False) -> list[Problem]:
    """Every problem of one gateway.yml. ``references``: the inventory configured password
    references, so any literal password is an error."""
    try:
        doc = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" at line {line + 1}" if line is not None else ""
        return [Problem(source, "yaml-invalid", f"not valid YAML{at}: fix the syntax")]
    if not isinstance(doc, dict):
        return [Problem(source, "not-a-mapping", "the file must be a YAML mapping of sections")]
    try:
        facts = _gather(doc, source)
        problems = list(facts.problems)
        for check in (
            _check_sections,
            _check_duplicates,
            _check_references,
            _check_routing,
            _check_write_gates,
            _check_timeouts,
            _check_queues,
            _check_cluster_tls,
        ):
            problems.extend(check(doc, facts, source))
    except RecursionError:  # YAML lets an alias sit inside itself (`&f [{filter: *f}]`)
        return [Problem(source, "yaml-recursive", "a section contains itself through a YAML "
                        "alias (&name ... *name): write it out")]
    problems.extend(_check_credentials(doc, source, references))
    return problems


def _check_sections(doc: dict[str, Any], facts: _Facts, source: str) -> list[Problem]:
    out = []
    for section in ("elasticsearch", "entry", "router", "flow"):
        if not _named(doc.get(section)):
            out.append(
                Problem(source, "section-missing", f"no {section!r} section: a gateway needs one")
            )
    for entry in _named(doc.get("entry")):
        binding = _map(entry.get("network")).get("binding")
        if not binding:
            out.append(
                Problem(
                    f"{source} entry {entry.get('name')}",
                    "entry-no-binding",
                    "entry has no network.binding (e.g. 0.0.0.0:8000): it listens nowhere",
                )
            )
        tls = _map(entry.get("tls"))
        if tls.get("enabled") is True and not (tls.get("cert_file") and tls.get("key_file")):
            # proxy/entry/entry.go: without both files the gateway makes up a CA and a
            # certificate of its own under path.data, which no client can verify
            out.append(
                Problem(
                    f"{source} entry {entry.get('name')}",
                    "entry-tls-self-signed",
                    "entry tls is enabled without cert_file and key_file: the gateway would "
                    "serve a self-signed certificate of its own; give both (esdr issues them "
                    "from the estate CA)",
                )
            )
    return out


def _check_cluster_tls(doc: dict[str, Any], facts: _Facts, source: str) -> list[Problem]:
    """An ``elasticsearch`` filter told to skip certificate checks would send the applications'
    credentials to whoever answers as the cluster (docs/gateway-cluster-tls.md)."""
    out = []
    for name, flow in facts.flows.items():
        for fname, conf in _walk_filters(flow.get("filter")):
            if fname == "elasticsearch" and isinstance(conf, dict) \
                    and conf.get("tls_insecure_skip_verify") is True:
                out.append(Problem(
                    f"{source} flow {name} elasticsearch {conf.get('elasticsearch')}",
                    "tls-verify-off",
                    "tls_insecure_skip_verify: true: the gateway would not check the "
                    "cluster's certificate and would hand the applications' credentials to "
                    "anyone answering as it; remove it (esdr's build verifies against the "
                    "estate CA)"))
    return out


def _check_duplicates(doc: dict[str, Any], facts: _Facts, source: str) -> list[Problem]:
    out = []
    for section in ("elasticsearch", "entry", "router", "flow", "pipeline"):
        names = Counter(str(item.get("name")) for item in _named(doc.get(section)))
        for name, count in sorted(names.items()):
            if count > 1:
                out.append(
                    Problem(
                        f"{source} {section} {name}",
                        "duplicate-name",
                        f"{section} {name!r} is defined {count} times; names must be unique",
                    )
                )
    return out


def _check_references(doc: dict[str, Any], facts: _Facts, source: str) -> list[Problem]:
    out = []
    known = set(facts.clusters)
    for here, cluster in facts.cluster_refs:
        if cluster not in known:
            out.append(
                Problem(
                    here,
                    "cluster-unknown",
                    f"cluster {cluster!r} is not defined under elasticsearch: "
                    f"(defined: {', '.join(sorted(known)) or 'none'})",
                )
            )
    for here, flow in facts.flow_refs:
        if flow not in facts.flows:
            out.append(
                Problem(
                    here,
                    "flow-unknown",
                    f"flow {flow!r} is not defined under flow: "
                    f"(defined: {', '.join(sorted(facts.flows)) or 'none'})",
                )
            )
    for entry in _named(doc.get("entry")):
        router = entry.get("router")
        if not isinstance(router, str) or router not in facts.routers:
            out.append(
                Problem(
                    f"{source} entry {entry.get('name')}",
                    "router-unknown",
                    f"router {router!r} is not defined under router: "
                    f"(defined: {', '.join(sorted(facts.routers)) or 'none'})",
                )
            )
    return out


def _routes_reads(router: dict[str, Any]) -> bool:
    for rule in _named(router.get("rules")):
        methods = {str(m).upper() for m in _as_list(rule.get("method"))}
        patterns = " ".join(str(p) for p in _as_list(rule.get("pattern")))
        if rule.get("flow") and (methods & set(READ_HINTS) or "_search" in patterns):
            return True
    return False


def _check_routing(doc: dict[str, Any], facts: _Facts, source: str) -> list[Problem]:
    out = []
    used = {str(e.get("router")) for e in _named(doc.get("entry"))}
    for name, router in facts.routers.items():
        if name not in used:
            continue
        here = f"{source} router {name}"
        default = router.get("default_flow")
        if not default:
            out.append(
                Problem(
                    here,
                    "writes-not-routed",
                    "no default_flow: writes (everything not matched by a read rule) go "
                    "nowhere; set default_flow to the write flow",
                )
            )
        elif isinstance(default, str) and default in facts.flows:
            filters = facts.flows[default].get("filter")
            if not any(n == "queue" for n, _ in _walk_filters(filters)):
                out.append(
                    Problem(
                        here,
                        "writes-not-replicated",
                        f"default_flow {default!r} writes to no queue, so the other cluster "
                        "never gets the writes; route writes to the write flow",
                    )
                )
        if not _routes_reads(router):
            out.append(
                Problem(
                    here,
                    "reads-not-routed",
                    "no rule routes reads (GET/HEAD or */_search) to a read flow: searches "
                    "would take the write flow and be queued for the other cluster",
                )
            )
    return out


def _ordered_targets(filters: Any, nested: bool = False) -> Iterator[tuple[str, bool]]:
    """(cluster, nested) of every `elasticsearch` filter of a filter list in the order they run;
    nested: inside an `if` of that list (taken only on some condition)."""
    for item in _seq(filters):
        if not isinstance(item, dict):
            continue
        if "if" in item:
            block = item["if"] if isinstance(item["if"], dict) else {}
            yield from _ordered_targets(item.get("then", block.get("then")), True)
            yield from _ordered_targets(item.get("else", block.get("else")), True)
            continue
        for name, conf in item.items():
            if name == "elasticsearch" and isinstance(conf, dict):
                yield str(conf.get("elasticsearch")), nested


def _check_write_gates(doc: dict[str, Any], facts: _Facts, source: str) -> list[Problem]:
    """In `if cluster_available: [A]`, the `then` branch must write to A. Another cluster only
    in an `if` after A was asked (esdr's fall-back when A did not take the connection)."""
    out = []
    for name, flow in facts.flows.items():
        for block in _if_blocks(flow.get("filter")):
            gated = [str(c) for c in _as_list(block.get("cluster_available"))]
            wrong, asked = [], False
            for target, nested in _ordered_targets(block.get("then")):
                if target in gated:
                    asked = True
                elif gated and (not nested or not asked):
                    wrong.append(target)
            if wrong:
                out.append(
                    Problem(
                        f"{source} flow {name}",
                        "gate-mismatch",
                        f"the branch taken when {', '.join(gated)} is available writes to "
                        f"{', '.join(wrong)}; it must write to the cluster it checked",
                    )
                )
    return out


# A Go duration as time.ParseDuration reads it ("500ms", "1.5s", "1m30s"; "0" alone).
_DURATION = re.compile(r"^(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+)$")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(value: Any) -> float | None:
    """Seconds of a Go duration string, or None when it is not one."""
    if not isinstance(value, str) or not _DURATION.match(value):
        return None
    if value == "0":
        return 0.0
    parts = re.findall(r"([0-9]*\.?[0-9]+|[0-9]+\.)(ns|us|µs|ms|s|m|h)", value)
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def _check_timeouts(doc: dict[str, Any], facts: _Facts, source: str) -> list[Problem]:
    """Every `elasticsearch` filter's dial_timeout and timeout are durations, and the connect
    can fail before the request does: else a cluster that takes no connection shows only as a
    request timeout, which esdr's fall-back to the other cluster does not take (it cannot tell
    whether the cluster got the request). Each distinct finding once, with its flows."""
    invalid: dict[tuple[str, str], list[str]] = {}
    crossed: dict[tuple[str, str], list[str]] = {}
    for name, flow in facts.flows.items():
        for fname, conf in _walk_filters(flow.get("filter")):
            if fname != "elasticsearch" or not isinstance(conf, dict):
                continue
            seconds = {}
            for key in ("dial_timeout", "timeout"):
                if key in conf:
                    seconds[key] = duration_seconds(conf[key])
                    if seconds[key] is None or seconds[key] <= 0:
                        invalid.setdefault((key, repr(conf[key])), []).append(name)
            if not seconds:
                continue
            # unset: the filter's own defaults (gateway proxy/output/elastic/elasticsearch.go)
            dial = seconds.get("dial_timeout", _FILTER_DEFAULTS["dial_timeout"])
            whole = seconds.get("timeout", _FILTER_DEFAULTS["timeout"])
            if dial and whole and dial >= whole:
                crossed.setdefault((str(conf.get("dial_timeout", "3s (default)")),
                                    str(conf.get("timeout", "30s (default)"))), []).append(name)
    out = []
    for (key, value), flows in invalid.items():
        out.append(Problem(
            source, "timeout-invalid",
            f"{key} {value} (flows {', '.join(dict.fromkeys(flows))}) is not a positive Go "
            f"duration such as '1s' or '500ms' (esdr renders it from {_TIMEOUT_KEYS[key]})"))
    for (dial, whole), flows in crossed.items():
        out.append(Problem(
            source, "dial-timeout-not-below-timeout",
            f"dial_timeout {dial} is not shorter than timeout {whole} (flows "
            f"{', '.join(dict.fromkeys(flows))}): a cluster that takes no connection would show "
            "as a request timeout, and writes would fail instead of going to the other cluster; "
            "set gateway_connect_timeout below gateway_request_timeout"))
    return out


_TIMEOUT_KEYS = {"dial_timeout": "gateway_connect_timeout", "timeout": "gateway_request_timeout"}
_FILTER_DEFAULTS = {"dial_timeout": 3.0, "timeout": 30.0}


def _check_queues(doc: dict[str, Any], facts: _Facts, source: str) -> list[Problem]:
    out = []
    clusters = set(facts.clusters)
    for queue, writers in sorted(facts.queue_writers.items()):
        here = f"{source} queue {queue}"
        cluster = queue[: -len(QUEUE_SUFFIX)] if queue.endswith(QUEUE_SUFFIX) else None
        if cluster not in clusters:
            out.append(
                Problem(
                    here,
                    "queue-not-named-for-cluster",
                    f"queue {queue!r} (written by {', '.join(writers)}) is not named "
                    "<cluster>-queue for a defined cluster, so nothing says where it replays to",
                )
            )
            continue
        consumers = facts.consumers.get(queue, [])
        if not consumers:
            out.append(
                Problem(
                    here,
                    "queue-without-consumer",
                    f"no pipeline consumes {queue!r}: writes owed to {cluster} pile up forever; "
                    "add a consumer + flow_replay pipeline for it",
                )
            )
        elif len(consumers) > 1:
            out.append(
                Problem(
                    here,
                    "queue-several-consumers",
                    f"{len(consumers)} pipelines consume {queue!r} "
                    f"({', '.join(c[0] for c in consumers)}); exactly one must",
                )
            )
        for pipeline, target, gated in consumers:
            if target != cluster:
                out.append(
                    Problem(
                        f"{source} pipeline {pipeline}",
                        "consumer-wrong-cluster",
                        f"consumes {queue!r} but writes to {target or 'no cluster'}; it must "
                        f"replay into {cluster}",
                    )
                )
            elif cluster not in gated:
                out.append(
                    Problem(
                        f"{source} pipeline {pipeline}",
                        "consumer-not-gated",
                        f"replays into {cluster} without `when: cluster_available: "
                        f"[{cluster}]`; it would drain the queue into a cluster that is down",
                    )
                )
    for queue, consumers in sorted(facts.consumers.items()):
        if queue not in facts.queue_writers:
            out.append(
                Problem(
                    f"{source} queue {queue}",
                    "queue-never-written",
                    f"pipeline {consumers[0][0]} consumes {queue!r}, which no flow writes",
                    "warning",
                )
            )
    if len(clusters) >= 2 and facts.queue_writers:
        for cluster in sorted(clusters):
            if f"{cluster}{QUEUE_SUFFIX}" not in facts.queue_writers:
                out.append(
                    Problem(
                        source,
                        "direction-missing",
                        f"no flow queues writes for {cluster} ({cluster}{QUEUE_SUFFIX}): "
                        "when the other cluster takes writes, they never reach it",
                    )
                )
    return out


def _check_credentials(doc: dict[str, Any], source: str, references: bool) -> list[Problem]:
    passwords = [
        (str(c.get("name")), (c.get("basic_auth") or {}).get("password"))
        for c in _named(doc.get("elasticsearch"))
        if isinstance(c.get("basic_auth"), dict)
    ]
    passwords = [(n, p) for n, p in passwords if p not in (None, "")]
    uses_refs = references or any(ENV_REF.match(str(p)) for _, p in passwords)
    out = []
    for name, password in passwords:
        if ENV_REF.match(str(password)):
            continue
        out.append(
            Problem(
                f"{source} elasticsearch {name}",
                "plain-password",
                "basic_auth.password is plain text; use $[[env.NAME]] and give the secret by "
                "reference (gateway_clusters ... password: {'env': ...})",
                "error" if uses_refs else "warning",
            )
        )
    return out
