"""Logstash pipelines from one pipeline model: per search cluster, a consumer pipeline (kafka
input -> elasticsearch/opensearch output) with its own consumer group, a dead-letter forwarder,
their ``pipelines.yml`` entries, and a lint of Logstash's config syntax. Pure: text out.

Logstash cannot run here, so ``lint_pipeline`` checks what Logstash's own parser and plugin
registry would refuse at start (https://www.elastic.co/docs/reference/logstash/configuration-file-structure):
balanced braces and brackets, closed strings, sections ``input``/``filter``/``output``, known
plugin names per section, known and required options, no option set twice.

Delivery, and why each option is what it is:

- ``group_id`` per pipeline *and* cluster: each data centre's cluster keeps its own committed
  offsets, so a DC that is down only lags and its pipeline resumes where it stopped;
- ``enable_auto_commit => false``: the input then commits synchronously after each polled batch
  has been pushed into the pipeline's queue (plugin source, ``maybe_commit_offset``), not on a
  timer; with the persisted queue (``queue.type: persisted`` in pipelines.yml) a message whose
  offset is committed is on Logstash's disk, so a crash loses nothing
  (https://www.elastic.co/docs/reference/logstash/persistent-queues);
- ``decorate_events => "basic"`` puts the key, topic, partition and offset in
  ``[@metadata][kafka]`` (https://www.elastic.co/docs/reference/logstash/plugins/plugins-inputs-kafka#plugins-inputs-kafka-decorate_events);
- ``document_id => "%{[@metadata][kafka][key]}"``: every replay (a restart before a commit, a
  rebalance, a DC catching up) writes the same documents again instead of duplicates;
- ``action``: "index" (default) makes the latest message per key win, in partition order;
  "create" keeps the first and the output drops a later one as a 409 conflict, right for
  append-only events whose keys never repeat
  (https://www.elastic.co/docs/reference/logstash/plugins/plugins-outputs-elasticsearch#_retry_policy);
- dead letters: a message without a key or that is not JSON goes straight to the dead-letter
  topic (with no key, ``%{[@metadata][kafka][key]}`` would stay literal and every such message
  would overwrite one document); what the cluster refuses (400/404: a mapping error) goes to
  Logstash's dead letter queue (https://www.elastic.co/docs/reference/logstash/dead-letter-queues),
  which the forwarder pipeline moves to the same topic. Everything else (429, 5xx, the cluster
  unreachable) is retried without end, so the pipeline stops and Kafka holds the backlog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from esdr.kafka.model import KafkaCluster, KafkaEstate, Pipeline, SearchCluster
from esdr.kafka.render import bootstrap_servers
from esdr.problems import Problem

KEY_REFERENCE = "%{[@metadata][kafka][key]}"
DEAD_LETTER_TAG = "esdr_dead_letter"
KEYSTORE_PASSWORD_VARIABLE = "ESDR_KAFKA_KEYSTORE_PASSWORD"
TRUSTSTORE_PASSWORD_VARIABLE = "ESDR_KAFKA_TRUSTSTORE_PASSWORD"


@dataclass(frozen=True)
class LogstashPaths:
    """Where the Logstash host keeps esdr's files (the Debian package's layout)."""

    conf_dir: str = "/etc/logstash/conf.d"
    # kafka-truststore.p12, <pipeline id>.p12 (its Kafka client identity), ca.crt
    tls_dir: str = "/etc/logstash/esdr-tls"
    data_dir: str = "/var/lib/logstash"  # path.data: dead_letter_queue/<pipeline id>/


def pipeline_id(pipeline_name: str, cluster_name: str) -> str:
    """Also the consumer group and client id: one per pipeline and cluster."""
    return f"esdr-{pipeline_name}-{cluster_name}"


def password_variable(pipeline_name: str, cluster_name: str, target: SearchCluster) -> str:
    """The keystore or environment variable Logstash reads the password from: the estate's,
    or, for the pipeline's own user (esdr.kafka.search_user), one named after the pipeline id
    (``ESDR_ORDERS_ESDR_DC1_PASSWORD``), to be set from the estate's secrets directory
    (``pipeline-user-<id>-password``)."""
    if target.password_variable:
        return target.password_variable
    ident = pipeline_id(pipeline_name, cluster_name)
    return re.sub(r"[^A-Za-z0-9]", "_", ident).upper() + "_PASSWORD"


def dead_letter_pipeline_id(pipeline_name: str, cluster_name: str) -> str:
    return f"{pipeline_id(pipeline_name, cluster_name)}-dead-letters"


def _string(value: str) -> str:
    # Logstash strings: a double-quoted value ends at the next unescaped '"'; the model lets no
    # '"', '\' or newline through, this keeps a future field from breaking out of one.
    if re.search(r'["\\\n\r]', value):
        raise ValueError(f"{value!r} cannot be written as a Logstash string")
    return f'"{value}"'


def _array(values: list[str]) -> str:
    return "[" + ", ".join(_string(v) for v in values) + "]"


def client_keystore_path(ident: str, paths: LogstashPaths) -> str:
    """The PKCS12 keystore of the Kafka client identity of pipeline id ``ident``: the same
    identity (CN = the pipeline id) esdr's own pipeline service uses, so an ACL written for one
    holds for the other."""
    return f"{paths.tls_dir}/{ident}.p12"


def truststore_path(paths: LogstashPaths) -> str:
    return f"{paths.tls_dir}/kafka-truststore.p12"


def _kafka_client_options(cluster: KafkaCluster, paths: LogstashPaths, ident: str
                          ) -> list[str]:
    options = [f"bootstrap_servers => {_string(bootstrap_servers(cluster))}"]
    if not cluster.tls.enabled:
        return options + ['security_protocol => "PLAINTEXT"']
    return options + [
        'security_protocol => "SSL"',
        'ssl_truststore_type => "PKCS12"',
        f"ssl_truststore_location => {_string(truststore_path(paths))}",
        f'ssl_truststore_password => "${{{TRUSTSTORE_PASSWORD_VARIABLE}}}"',
        'ssl_keystore_type => "PKCS12"',
        f"ssl_keystore_location => {_string(client_keystore_path(ident, paths))}",
        f'ssl_keystore_password => "${{{KEYSTORE_PASSWORD_VARIABLE}}}"',
        'ssl_endpoint_identification_algorithm => "https"',
    ]


def _block(name: str, options: list[str], indent: int) -> list[str]:
    pad = "  " * indent
    return [f"{pad}{name} {{", *(f"{pad}  {option}" for option in options), f"{pad}}}"]


def _document_id(pipeline: Pipeline) -> str | None:
    if pipeline.document_id == "key":
        return KEY_REFERENCE
    if pipeline.document_id == "field":
        return f"%{{[{pipeline.document_id_field}]}}"
    return None


def _search_output(pipeline_name: str, pipeline: Pipeline, cluster_name: str,
                   target: SearchCluster, indent: int) -> list[str]:
    ident = pipeline_id(pipeline_name, cluster_name)
    options = [
        f"id => {_string(ident + '-' + target.engine)}",
        f"hosts => {_array(target.hosts)}",
        f"index => {_string(pipeline.target)}",
        f"action => {_string(pipeline.action)}",
    ]
    document_id = _document_id(pipeline)
    if document_id:
        options.append(f"document_id => {_string(document_id)}")
    options += [
        f"user => {_string(ident if target.esdr_users else target.user)}",
        f'password => "${{{password_variable(pipeline_name, cluster_name, target)}}}"',
        # the estate owns templates, ILM/ISM and data streams, not the pipeline
        "manage_template => false",
    ]
    if target.engine == "elasticsearch":
        options += [
            "ilm_enabled => false",
            'data_stream => "false"',
            "ssl_enabled => true",
            f"ssl_certificate_authorities => {_array([target.ca_file])}",
            'ssl_verification_mode => "full"',
        ]
    else:  # logstash-output-opensearch names the TLS options the older way
        options += [
            "ssl => true",
            f"cacert => {_string(target.ca_file)}",
            "ssl_certificate_verification => true",
        ]
    options += [
        f"retry_initial_interval => {pipeline.retry_initial_interval}",
        f"retry_max_interval => {pipeline.retry_max_interval}",
    ]
    return _block(target.engine, options, indent)


def _dead_letter_output(ident: str, kafka: KafkaCluster, topic: str, paths: LogstashPaths,
                        indent: int, client: str) -> list[str]:
    options = [f"id => {_string(ident + '-dead-letter-topic')}", f"topic_id => {_string(topic)}",
               *_kafka_client_options(kafka, paths, client),
               # the dead letter is acknowledged by as many brokers as any message
               'acks => "all"', "codec => json"]
    # no message_key: for a message without one, the reference would stay literal and send
    # every such dead letter to one partition; the key travels in [esdr_dead_letter][key]
    return _block("kafka", options, indent)


def render_pipeline(estate: KafkaEstate, pipeline_name: str, cluster_name: str,
                    paths: LogstashPaths = LogstashPaths()) -> str:
    """The consumer pipeline of ``pipeline_name`` feeding search cluster ``cluster_name``."""
    pipeline = estate.pipelines[pipeline_name]
    kafka = estate.kafka_clusters[pipeline.kafka_cluster]
    target = estate.search_clusters[cluster_name]
    ident = pipeline_id(pipeline_name, cluster_name)
    kafka_input = [
        f"id => {_string(ident + '-kafka')}",
        *_kafka_client_options(kafka, paths, ident),
        f"topics => {_array(pipeline.topics)}",
        f"group_id => {_string(ident)}",
        f"client_id => {_string(ident)}",
        f"auto_offset_reset => {_string(pipeline.auto_offset_reset)}",
        "enable_auto_commit => false",
        'decorate_events => "basic"',
        # messages of aborted producer transactions are never indexed
        'isolation_level => "read_committed"',
        f"consumer_threads => {pipeline.consumer_threads}",
        "codec => json",
    ]
    lines = [
        f"# esdr: pipeline {pipeline_name} -> {target.engine} cluster {cluster_name}, consumer "
        f"group {ident}.",
        "# Rendered from the estate by esdr; a change made here is undone by the next deploy.",
        "input {",
        *_block("kafka", kafka_input, 1),
        "}",
        "filter {",
        "  # not JSON, or no key to make the document id from: not indexable, a dead letter;",
        "  # where it came from goes with it, so it can be found and replayed",
        f'  if "_jsonparsefailure" in [tags] or ![@metadata][kafka][key] {{',
        "    mutate {",
        f'      add_tag => ["{DEAD_LETTER_TAG}"]',
        '      add_field => { "[esdr_dead_letter][cluster]" => '
        f'"{cluster_name}" "[esdr_dead_letter][pipeline]" => "{pipeline_name}" '
        '"[esdr_dead_letter][topic]" => "%{[@metadata][kafka][topic]}" '
        '"[esdr_dead_letter][partition]" => "%{[@metadata][kafka][partition]}" '
        '"[esdr_dead_letter][offset]" => "%{[@metadata][kafka][offset]}" }',
        "    }",
        "    if [@metadata][kafka][key] {",
        '      mutate { add_field => { "[esdr_dead_letter][key]" => '
        f'"{KEY_REFERENCE}" }} }}',
        "    }",
        "  }",
        "}",
        "output {",
    ]
    dead = pipeline.dead_letter_topic
    if dead:
        lines += [f'  if "{DEAD_LETTER_TAG}" in [tags] {{',
                  *_dead_letter_output(ident, kafka, dead, paths, indent=2, client=ident),
                  "  } else {",
                  *_search_output(pipeline_name, pipeline, cluster_name, target, indent=2),
                  "  }"]
    else:
        lines += _search_output(pipeline_name, pipeline, cluster_name, target, indent=1)
    lines += ["}"]
    return "\n".join(lines) + "\n"


def render_dead_letter_pipeline(estate: KafkaEstate, pipeline_name: str, cluster_name: str,
                                paths: LogstashPaths = LogstashPaths()) -> str:
    """Moves what the cluster refused (Logstash's dead letter queue of the consumer pipeline)
    to the dead-letter topic, with the reason
    (https://www.elastic.co/docs/reference/logstash/plugins/plugins-inputs-dead_letter_queue)."""
    pipeline = estate.pipelines[pipeline_name]
    if not pipeline.dead_letter_topic:
        raise ValueError(f"pipeline {pipeline_name} has no dead_letter_topic")
    kafka = estate.kafka_clusters[pipeline.kafka_cluster]
    ident = pipeline_id(pipeline_name, cluster_name)
    forwarder = dead_letter_pipeline_id(pipeline_name, cluster_name)
    dlq_input = [
        f"id => {_string(forwarder + '-queue')}",
        f"path => {_string(paths.data_dir + '/dead_letter_queue')}",
        f"pipeline_id => {_string(ident)}",
        # remembers how far it read, so a restart does not send every dead letter again
        "commit_offsets => true",
    ]
    lines = [
        f"# esdr: what {cluster_name} refused from pipeline {pipeline_name}, to topic "
        f"{pipeline.dead_letter_topic}.",
        "# Rendered from the estate by esdr; a change made here is undone by the next deploy.",
        "input {",
        *_block("dead_letter_queue", dlq_input, 1),
        "}",
        "filter {",
        "  mutate {",
        f'    add_field => {{ "[esdr_dead_letter][cluster]" => "{cluster_name}" '
        f'"[esdr_dead_letter][pipeline]" => "{pipeline_name}" '
        '"[esdr_dead_letter][reason]" => "%{[@metadata][dead_letter_queue][reason]}" }',
        "  }",
        "}",
        "output {",
        *_dead_letter_output(forwarder, kafka, pipeline.dead_letter_topic, paths, indent=1,
                            client=ident),
        "}",
    ]
    return "\n".join(lines) + "\n"


def pipeline_entries(estate: KafkaEstate, cluster_name: str,
                     paths: LogstashPaths = LogstashPaths()) -> list[dict[str, object]]:
    """The pipelines.yml entries of every pipeline feeding ``cluster_name``
    (https://www.elastic.co/docs/reference/logstash/multiple-pipelines)."""
    entries: list[dict[str, object]] = []
    for name, pipeline in sorted(estate.pipelines.items()):
        if cluster_name not in pipeline.clusters:
            continue
        ident = pipeline_id(name, cluster_name)
        entries.append({
            "pipeline.id": ident,
            "path.config": f"{paths.conf_dir}/{ident}.conf",
            # committed offsets are only safe when what was polled is on disk
            "queue.type": "persisted",
            "dead_letter_queue.enable": bool(pipeline.dead_letter_topic),
        })
        if pipeline.dead_letter_topic:
            forwarder = dead_letter_pipeline_id(name, cluster_name)
            entries.append({"pipeline.id": forwarder,
                            "path.config": f"{paths.conf_dir}/{forwarder}.conf"})
    return entries


def pipelines_yml(estate: KafkaEstate, cluster_name: str,
                  paths: LogstashPaths = LogstashPaths()) -> str:
    """pipelines.yml of a Logstash feeding ``cluster_name`` alone."""
    header = (f"# esdr: Logstash pipelines feeding {cluster_name}. Rendered from the estate by "
              "esdr.\n")
    return header + yaml.safe_dump(pipeline_entries(estate, cluster_name, paths),
                                   sort_keys=False, default_flow_style=False)


def cluster_pipeline_files(estate: KafkaEstate, cluster_name: str,
                           paths: LogstashPaths = LogstashPaths()) -> dict[str, str]:
    """The pipeline files (``conf.d/<id>.conf``) of every pipeline feeding ``cluster_name``,
    by target path."""
    files: dict[str, str] = {}
    for name, pipeline in sorted(estate.pipelines.items()):
        if cluster_name not in pipeline.clusters:
            continue
        ident = pipeline_id(name, cluster_name)
        files[f"{paths.conf_dir}/{ident}.conf"] = render_pipeline(estate, name, cluster_name,
                                                                  paths)
        if pipeline.dead_letter_topic:
            forwarder = dead_letter_pipeline_id(name, cluster_name)
            files[f"{paths.conf_dir}/{forwarder}.conf"] = render_dead_letter_pipeline(
                estate, name, cluster_name, paths)
    return files


def cluster_files(estate: KafkaEstate, cluster_name: str,
                  paths: LogstashPaths = LogstashPaths()) -> dict[str, str]:
    """Every file the Logstash host feeding ``cluster_name`` needs, by target path."""
    files = cluster_pipeline_files(estate, cluster_name, paths)
    files["/etc/logstash/pipelines.yml"] = pipelines_yml(estate, cluster_name, paths)
    return files


# ---------------------------------------------------------------------------------------------
# The lint: Logstash's config grammar (logstash-core/lib/logstash/config/grammar.treetop) as far
# as esdr writes it: sections of plugins; a plugin is `name { option => value ... }`; values are
# strings, numbers, barewords, arrays and hashes; `if`/`else if`/`else` blocks hold plugins.

SECTIONS = ("input", "filter", "output")
# The plugins esdr renders, with the options it may set and the ones it must set. Option names
# from each plugin's reference page:
# https://www.elastic.co/docs/reference/logstash/plugins/plugins-inputs-kafka
# https://www.elastic.co/docs/reference/logstash/plugins/plugins-inputs-dead_letter_queue
# https://www.elastic.co/docs/reference/logstash/plugins/plugins-filters-mutate
# https://www.elastic.co/docs/reference/logstash/plugins/plugins-outputs-elasticsearch
# https://www.elastic.co/docs/reference/logstash/plugins/plugins-outputs-kafka
# https://github.com/opensearch-project/logstash-output-opensearch (README, options)
_COMMON = {"id", "codec", "enable_metric", "add_field", "tags", "type"}
_KAFKA_CLIENT = {
    "bootstrap_servers", "client_id", "security_protocol", "ssl_truststore_type",
    "ssl_truststore_location", "ssl_truststore_password", "ssl_keystore_type",
    "ssl_keystore_location", "ssl_keystore_password", "ssl_key_password",
    "ssl_endpoint_identification_algorithm", "retry_backoff_ms", "request_timeout_ms",
    "client_dns_lookup", "metadata_max_age_ms", "reconnect_backoff_ms",
}
PLUGINS: dict[str, dict[str, tuple[frozenset[str], frozenset[str]]]] = {
    "input": {
        "kafka": (frozenset(_COMMON | _KAFKA_CLIENT | {
            "topics", "topics_pattern", "group_id", "group_instance_id", "auto_offset_reset",
            "enable_auto_commit", "auto_commit_interval_ms", "decorate_events",
            "isolation_level", "consumer_threads", "max_poll_records", "max_poll_interval_ms",
            "session_timeout_ms", "heartbeat_interval_ms", "key_deserializer_class",
            "value_deserializer_class", "client_rack", "partition_assignment_strategy",
            "poll_timeout_ms", "fetch_max_bytes", "fetch_min_bytes", "fetch_max_wait_ms",
        }), frozenset({"bootstrap_servers", "group_id"})),
        "dead_letter_queue": (frozenset(_COMMON | {
            "path", "pipeline_id", "commit_offsets", "start_timestamp", "clean_consumed",
            "sincedb_path",
        }), frozenset({"path"})),
    },
    "filter": {
        "mutate": (frozenset(_COMMON | {
            "add_tag", "remove_tag", "remove_field", "rename", "replace", "copy", "convert",
            "lowercase", "uppercase", "strip", "update", "merge", "split", "join", "gsub",
            "coerce", "tag_on_failure", "periodic_flush",
        }), frozenset()),
    },
    "output": {
        "elasticsearch": (frozenset(_COMMON | {
            "hosts", "index", "document_id", "action", "user", "password", "api_key",
            "manage_template", "template", "template_name", "ilm_enabled", "data_stream",
            "ssl_enabled", "ssl_certificate_authorities", "ssl_verification_mode",
            "ssl_certificate", "ssl_key", "retry_initial_interval", "retry_max_interval",
            "retry_on_conflict", "pipeline", "routing", "version", "version_type",
            "dlq_custom_codes", "dlq_on_failed_indexname_interpolation", "timeout",
        }), frozenset({"hosts"})),
        "opensearch": (frozenset(_COMMON | {
            "hosts", "index", "document_id", "action", "user", "password", "manage_template",
            "template", "template_name", "ssl", "cacert", "ssl_certificate_verification",
            "tls_certificate", "tls_key", "retry_initial_interval", "retry_max_interval",
            "retry_on_conflict", "pipeline", "routing", "version", "version_type", "timeout",
        }), frozenset({"hosts"})),
        "kafka": (frozenset(_COMMON | _KAFKA_CLIENT | {
            "topic_id", "message_key", "acks", "retries", "compression_type", "linger_ms",
            "batch_size", "max_request_size", "key_serializer", "value_serializer",
            "partitioner", "message_headers",
        }), frozenset({"topic_id", "bootstrap_servers"})),
    },
}
# decorate_events takes these (true/false are the deprecated spellings of basic/none)
_DECORATE = {"none", "basic", "extended", "true", "false"}

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<arrow>=>)
  | (?P<compare>==|!=|<=|>=|=~|!~|<|>)
  | (?P<open>[{\[(])
  | (?P<close>[}\])])
  | (?P<comma>,)
  | (?P<bang>!)
  | (?P<word>[A-Za-z0-9_@.:+*/-]+)
""", re.VERBOSE)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    line: int


def _tokens(text: str, where: str) -> tuple[list[_Token], list[Problem]]:
    out: list[_Token] = []
    position, line = 0, 1
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            quote = text[position]
            rule, what = (("logstash-unclosed-string", "a string that never closes")
                          if quote in "\"'" else
                          ("logstash-syntax", f"unexpected character {quote!r}"))
            return out, [Problem(f"{where} line {line}", rule, what)]
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            out.append(_Token(kind, match.group(), line))
        line += match.group().count("\n")
        position = match.end()
    return out, []


def _balanced(tokens: list[_Token], where: str) -> list[Problem]:
    pairs = {"}": "{", "]": "[", ")": "("}
    stack: list[_Token] = []
    for token in tokens:
        if token.kind == "open":
            stack.append(token)
        elif token.kind == "close":
            if not stack or stack[-1].text != pairs[token.text]:
                return [Problem(f"{where} line {token.line}", "logstash-unbalanced",
                                f"{token.text!r} closes nothing open")]
            stack.pop()
    if stack:
        return [Problem(f"{where} line {stack[-1].line}", "logstash-unbalanced",
                        f"{stack[-1].text!r} is never closed")]
    return []


class _Parser:
    """Walks the balanced token list: sections, conditionals, plugins and their options."""

    def __init__(self, tokens: list[_Token], where: str) -> None:
        self.tokens = tokens
        self.index = 0
        self.where = where
        self.problems: list[Problem] = []
        self.plugins: list[tuple[str, str, dict[str, str], int]] = []  # section, name, options

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def problem(self, token: _Token | None, rule: str, message: str) -> None:
        line = token.line if token else (self.tokens[-1].line if self.tokens else 1)
        self.problems.append(Problem(f"{self.where} line {line}", rule, message))

    def expect_open(self, after: str) -> bool:
        token = self.peek()
        if token is None or token.text != "{":
            self.problem(token, "logstash-syntax", f"expected '{{' after {after}")
            return False
        self.take()
        return True

    def parse(self) -> None:
        seen: set[str] = set()
        while (token := self.peek()) is not None:
            self.take()
            if token.kind != "word" or token.text not in SECTIONS:
                self.problem(token, "logstash-syntax",
                             f"{token.text!r} at top level: only input, filter and output")
                return
            seen.add(token.text)
            if not self.expect_open(token.text) or not self.body(token.text):
                return
        if not {"input", "output"} <= seen:
            self.problem(None, "logstash-missing-section",
                         "a pipeline needs an input and an output section")

    def body(self, section: str) -> bool:
        """Plugins and conditionals up to the closing '}'."""
        while (token := self.peek()) is not None:
            if token.text == "}":
                self.take()
                return True
            self.take()
            if token.kind != "word":
                self.problem(token, "logstash-syntax", f"unexpected {token.text!r} in {section}")
                return False
            if token.text == "if" or (token.text == "else" and self._else()):
                if not self.condition(token) or not self.body(section):
                    return False
                continue
            if not self.expect_open(f"plugin {token.text}") or not self.plugin(section, token):
                return False
        self.problem(None, "logstash-unbalanced", f"{section} is never closed")
        return False

    def _else(self) -> bool:
        token = self.peek()
        if token is not None and token.text == "if":
            self.take()
        return True

    def condition(self, start: _Token) -> bool:
        """The expression of `if`/`else if` (nothing for `else`), up to its '{'."""
        depth = 0
        while (token := self.peek()) is not None:
            if token.text == "{" and depth == 0:
                self.take()
                return True
            if token.text in "[(":
                depth += 1
            elif token.text in "])":
                depth -= 1
            elif token.text == "}":
                break
            self.take()
        self.problem(start, "logstash-syntax", "a condition without its '{' block")
        return False

    def plugin(self, section: str, name: _Token) -> bool:
        options: dict[str, str] = {}
        while (token := self.peek()) is not None:
            self.take()
            if token.text == "}":
                self.plugins.append((section, name.text, options, name.line))
                return True
            arrow = self.peek()
            if token.kind not in ("word", "string") or arrow is None or arrow.kind != "arrow":
                self.problem(token, "logstash-syntax",
                             f"expected `option => value` in {name.text}, got {token.text!r}")
                return False
            self.take()
            key = token.text.strip("\"'")
            if key in options:
                self.problem(token, "logstash-duplicate-option",
                             f"{name.text} sets {key} twice (Logstash refuses to start)")
            value = self.value(name.text)
            if value is None:
                return False
            options[key] = value
        self.problem(name, "logstash-unbalanced", f"plugin {name.text} is never closed")
        return False

    def value(self, plugin: str) -> str | None:
        token = self.peek()
        if token is None:
            self.problem(None, "logstash-syntax", f"a value is missing in {plugin}")
            return None
        self.take()
        if token.kind in ("string", "word"):
            return token.text
        if token.text in "[{":
            close = "]" if token.text == "[" else "}"
            depth, parts = 1, [token.text]
            while depth and (inner := self.peek()) is not None:
                self.take()
                parts.append(inner.text)
                if inner.text == token.text:
                    depth += 1
                elif inner.text == close:
                    depth -= 1
            return " ".join(parts)
        self.problem(token, "logstash-syntax", f"{token.text!r} is not a value in {plugin}")
        return None


def lint_pipeline(text: str, where: str = "pipeline") -> list[Problem]:
    """What Logstash would refuse at start in ``text``, one ``Problem`` each."""
    tokens, problems = _tokens(text, where)
    if problems:
        return problems
    problems = _balanced(tokens, where)
    if problems:
        return problems
    parser = _Parser(tokens, where)
    parser.parse()
    out = parser.problems
    decorated = False
    for section, name, options, line in parser.plugins:
        here = f"{where} line {line}"
        known = PLUGINS[section].get(name)
        if known is None:
            out.append(Problem(here, "logstash-unknown-plugin",
                               f"{name} is not a {section} plugin esdr knows"))
            continue
        allowed, required = known
        for option in sorted(set(options) - allowed):
            out.append(Problem(here, "logstash-unknown-option",
                               f"{name} has no option {option}"))
        for option in sorted(required - set(options)):
            out.append(Problem(here, "logstash-missing-option",
                               f"{name} needs {option}"))
        if section == "input" and name == "kafka":
            decorate = options.get("decorate_events", '"none"').strip("\"'")
            if decorate not in _DECORATE:
                out.append(Problem(here, "logstash-bad-value",
                                   f"decorate_events {decorate!r}: one of {sorted(_DECORATE)}"))
            decorated = decorated or decorate in ("basic", "extended", "true")
    uses_metadata = "[@metadata][kafka]" in text.replace(" ", "")
    if uses_metadata and not decorated:
        out.append(Problem(where, "logstash-metadata-not-decorated",
                           "reads [@metadata][kafka] but no kafka input sets decorate_events "
                           "to basic or extended: the field is never there"))
    return out
