#!/usr/bin/env bash
# Local infrastructure for development, tests and CI: a real Apache Kafka broker,
# a real Elasticsearch and a real OpenSearch server on 127.0.0.1, fetched from
# Maven Central only.
#
#   deploy/local/stack.sh start|stop|restart|status|logs|reset [SERVICE...]
#   SERVICE: kafka, elasticsearch (es), opensearch (os), all (the default)
#
# See deploy/local/README.md for versions, ports, environment variables and limits.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

STACK_DIR=${RADAR_STACK_DIR:-$REPO_ROOT/.local-stack}
# The download cache can be shared between stack dirs (RADAR_STACK_CACHE_DIR).
CACHE_DIR=${RADAR_STACK_CACHE_DIR:-$STACK_DIR/cache}
M2_REPO=$CACHE_DIR/m2
MVN_DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

START_TIMEOUT=${RADAR_STACK_START_TIMEOUT:-120}
STOP_TIMEOUT=${RADAR_STACK_STOP_TIMEOUT:-60}
LOG_LINES=${RADAR_STACK_LOG_LINES:-60}

# --- Kafka -----------------------------------------------------------------
KAFKA_POM=$SCRIPT_DIR/kafka/pom.xml
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")
KAFKA_PORT=${RADAR_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${RADAR_KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP_OPTS=${RADAR_KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}
KAFKA_DIR=$STACK_DIR/kafka
KAFKA_PID_FILE=$KAFKA_DIR/kafka.pid
KAFKA_CP_FILE=$CACHE_DIR/kafka-$KAFKA_VERSION.classpath
KAFKA_CP_STAMP=$CACHE_DIR/kafka-$KAFKA_VERSION.pom.sha256
KAFKA_ARGFILE=$KAFKA_DIR/java-classpath.args

# --- Search engines: the "elasticsearch" and "opensearch" services ------------
# Two independent services that can run side by side, each with its own
# directory ($STACK_DIR/<engine>), pid file, config, data and ports:
#   elasticsearch: newest Elasticsearch distribution on Maven Central, the
#                  integ-test-zip 8.19.21 (there is no 9.x there); a minimal one.
#   opensearch:    OpenSearch's integ-test-zip, which has all the OSS modules
#                  (analysis-common, painless, reindex, ...). See README.
# engine_select sets the E_* variables for one of them.
# (RADAR_SEARCH_ENGINE is the application's setting; this script ignores it.)
ENGINE_CLUSTER_NAME=radar-local
# Used when the engine user cannot traverse $STACK_DIR (e.g. a checkout under /root).
ES_EXTERNAL_BASE=${RADAR_ES_EXTERNAL_BASE:-/var/lib/radar-es}
if [[ $EUID -eq 0 ]]; then
  ES_USER=${RADAR_ES_USER:-radar-es}
else
  ES_USER=$(id -un) # not root: the engines simply run as the calling user
fi

engine_select() {
  E=$1
  case $E in
    elasticsearch)
      E_VERSION=${RADAR_ES_VERSION:-8.19.21}
      E_GROUP=org.elasticsearch.distribution.integ-test-zip
      E_PREFIX=ES # the launcher's ES_JAVA_HOME, ES_PATH_CONF, ...
      E_PORT=${RADAR_ES_PORT:-9200}
      E_TRANSPORT_PORT=${RADAR_ES_TRANSPORT_PORT:-9300}
      E_HEAP=${RADAR_ES_HEAP:-512m}
      E_JAVA_OPTS=${RADAR_ES_JAVA_OPTS:-}
      E_JAVA_HOMES=("${RADAR_ES_JAVA_HOME:-}" "${ES_JAVA_HOME:-}")
      E_JAVA_VAR=RADAR_ES_JAVA_HOME
      E_EXTERNAL_SUFFIX="" # kept as it was when this was the only engine
      ;;
    opensearch)
      E_VERSION=${RADAR_OPENSEARCH_VERSION:-3.6.0}
      E_GROUP=org.opensearch.distribution.integ-test-zip
      E_PREFIX=OPENSEARCH
      E_PORT=${RADAR_OPENSEARCH_PORT:-9201}
      E_TRANSPORT_PORT=${RADAR_OPENSEARCH_TRANSPORT_PORT:-9301}
      E_HEAP=${RADAR_OPENSEARCH_HEAP:-512m}
      E_JAVA_OPTS=${RADAR_OPENSEARCH_JAVA_OPTS:-}
      E_JAVA_HOMES=("${RADAR_OPENSEARCH_JAVA_HOME:-}" "${OPENSEARCH_JAVA_HOME:-}")
      E_JAVA_VAR=RADAR_OPENSEARCH_JAVA_HOME
      E_EXTERNAL_SUFFIX=-opensearch
      ;;
    *) die "unknown engine '$E'" ;;
  esac
  E_GAV=$E_GROUP:$E:$E_VERSION:zip
  E_ZIP=$M2_REPO/${E_GROUP//.//}/$E/$E_VERSION/$E-$E_VERSION.zip
  E_LINK=$STACK_DIR/$E
}

# ---------------------------------------------------------------------------
log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

usage() {
  cat >&2 <<EOF
usage: $0 start|stop|restart|status|logs|reset [SERVICE...]

  SERVICE  kafka, elasticsearch (es), opensearch (os) or all (the default: all three)

  start    fetch (first run only), start and health-check; no-op if already healthy;
           several services start in parallel
  stop     SIGTERM, wait ${STOP_TIMEOUT}s, then SIGKILL; no-op if not running
  restart  stop then start
  status   one line per service; exit code 0 if all named services run and are
           healthy, 3 otherwise
  logs     tail the service logs (RADAR_STACK_LOG_LINES, default 60)
  reset    stop and delete the data directories (the download cache is kept)

State lives in \${RADAR_STACK_DIR:-<repo>/.local-stack} (now: $STACK_DIR).
RADAR_STACK_FRESH=1 makes 'start' reset the data first.
EOF
  exit 2
}

# Major version of the JDK at $1 (reads \$JAVA_HOME/release, falls back to running it).
java_major() {
  local jhome=$1 v=""
  [[ -x $jhome/bin/java ]] || { echo 0; return; }
  if [[ -r $jhome/release ]]; then
    v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$jhome/release")
  fi
  if [[ -z $v ]]; then
    v=$("$jhome/bin/java" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n1)
  fi
  v=${v#1.}
  echo "${v%%[.+-]*}"
}

# JDK for Kafka: RADAR_KAFKA_JAVA_HOME, JAVA_HOME, then the `java` on PATH; needs 17+.
find_kafka_java() {
  local cand=() c j
  [[ -n ${RADAR_KAFKA_JAVA_HOME:-} ]] && cand+=("$RADAR_KAFKA_JAVA_HOME")
  [[ -n ${JAVA_HOME:-} ]] && cand+=("$JAVA_HOME")
  if j=$(command -v java 2>/dev/null); then
    j=$(readlink -f "$j")
    cand+=("${j%/bin/java}")
  fi
  for c in "${cand[@]}"; do
    if (($(java_major "$c") >= 17)); then
      echo "$c"
      return 0
    fi
  done
  die "Kafka $KAFKA_VERSION needs Java 17+; none found (looked at: ${cand[*]:-nothing}). Install openjdk-17-jre-headless or set RADAR_KAFKA_JAVA_HOME."
}

# JDK for the engine selected by engine_select: RADAR_<ENGINE>_JAVA_HOME,
# <ENGINE>_JAVA_HOME, else the newest JDK under /usr/lib/jvm (temurin first); the
# integ-test-zips have no bundled JDK. Needs 21+.
find_engine_java() {
  local cand=() c best="" best_v=0 v
  for c in "${E_JAVA_HOMES[@]}"; do [[ -n $c ]] && cand+=("$c"); done
  if ((${#cand[@]})); then
    for c in "${cand[@]}"; do
      if (($(java_major "$c") >= 21)); then echo "$c"; return 0; fi
    done
    die "$E: $E_JAVA_VAR/${E_PREFIX}_JAVA_HOME (${cand[*]}) is not a JDK 21+."
  fi
  shopt -s nullglob
  for c in /usr/lib/jvm/temurin-*-jdk-* /usr/lib/jvm/*; do
    [[ -L $c ]] && continue
    v=$(java_major "$c")
    if ((v >= 21 && v > best_v)); then best=$c; best_v=$v; fi
  done
  shopt -u nullglob
  [[ -n $best ]] || die "$E needs a JDK 21+ (the Maven Central distribution has no bundled JDK); none found under /usr/lib/jvm. Set $E_JAVA_VAR."
  echo "$best"
}

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is required but not installed${2:+ ($2)}"
}

# pid from $1 if that process is alive and its command line contains $2.
live_pid() {
  local file=$1 marker=$2 pid
  [[ -s $file ]] || return 1
  pid=$(tr -dc '0-9' <"$file")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" || return 1
  echo "$pid"
}

# Fail if something other than pid $2 (may be empty) listens on TCP port $1.
check_port_free() {
  local port=$1 ours=${2:-} what=$3 line
  line=$(ss -Hltnp "( sport = :$port )" 2>/dev/null || true)
  [[ -z $line ]] && return 0
  if [[ -n $ours ]] && grep -q "pid=$ours," <<<"$line"; then return 0; fi
  die "port $port ($what) is already in use by another process: $(tr -s ' ' <<<"$line" | head -n3)"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Send SIGTERM, wait, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2 i
  log "$name: stopping pid $pid (SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || { log "$name: stopped"; return 0; }
    sleep 0.2
  done
  log "$name: still running after ${STOP_TIMEOUT}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  die "$name: pid $pid did not die"
}

tail_logs() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf '\n----- %s (last %s lines) -----\n' "$f" "$LOG_LINES" >&2
    tail -n "$LOG_LINES" "$f" >&2
  done
}

# run_mvn NAME ARGS...: output goes to cache/mvn-NAME.log (maven 3.8 prints colour
# resets even with -B -q). Services start in parallel, so Maven runs are serialised
# with a lock on the cache (maven 3.8 does not lock its local repository).
run_mvn() {
  local name=$1 mlog fd rc=0
  shift
  need_cmd mvn "apt-get install maven"
  need_cmd flock "apt-get install util-linux"
  mkdir -p "$M2_REPO"
  mlog=$CACHE_DIR/mvn-$name.log
  exec {fd}>"$CACHE_DIR/.mvn.lock"
  flock "$fd"
  # Run from the cache dir so no stray project pom is picked up.
  (cd "$CACHE_DIR" && mvn -B -Dstyle.color=never -Dmaven.repo.local="$M2_REPO" "$@") >"$mlog" 2>&1 || rc=$?
  exec {fd}>&-
  if ((rc != 0)); then
    grep -E 'ERROR|FAIL' "$mlog" | head -n 20 >&2 || true
    log "full maven output: $mlog"
    return 1
  fi
}

ensure_stack_dir() {
  mkdir -p "$STACK_DIR" "$CACHE_DIR"
  chmod 755 "$STACK_DIR"
}

# ============================== Kafka ======================================

kafka_pid() { live_pid "$KAFKA_PID_FILE" "$KAFKA_DIR/server.properties"; }

# Resolve the broker's runtime classpath into the Maven cache, once per pom content.
kafka_fetch() {
  local sha jar ok=1
  sha=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
  if [[ -s $KAFKA_CP_FILE && -s $KAFKA_CP_STAMP && $(cat "$KAFKA_CP_STAMP") == "$sha" ]]; then
    while IFS= read -r jar; do
      [[ -f $jar ]] || { ok=0; break; }
    done < <(tr ':' '\n' <"$KAFKA_CP_FILE")
    ((ok)) && return 0
  fi
  log "kafka: resolving Apache Kafka $KAFKA_VERSION runtime classpath from Maven Central (first run only)"
  run_mvn kafka -f "$KAFKA_POM" "$MVN_DEP_PLUGIN:build-classpath" \
    -DincludeScope=runtime -Dmdep.outputFile="$KAFKA_CP_FILE.tmp" ||
    die "kafka: maven could not resolve $KAFKA_POM"
  [[ -s $KAFKA_CP_FILE.tmp ]] || die "kafka: maven produced an empty classpath"
  mv "$KAFKA_CP_FILE.tmp" "$KAFKA_CP_FILE"
  echo "$sha" >"$KAFKA_CP_STAMP"
}

kafka_write_config() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  printf -- '-cp\n%s\n' "$(cat "$KAFKA_CP_FILE")" >"$KAFKA_ARGFILE"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Generated by deploy/local/stack.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data

# single node
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0

# small machine
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
log.segment.bytes=134217728
EOF
}

kafka_java() {
  local jhome=$1
  shift
  "$jhome/bin/java" "$@"
}

kafka_format_if_needed() {
  local jhome=$1 cid fmt_env="$KAFKA_DIR/format.env" want
  want="controller_port=$KAFKA_CONTROLLER_PORT"
  if [[ -f $KAFKA_DIR/data/meta.properties ]]; then
    if [[ -f $fmt_env && $(cat "$fmt_env") != "$want" ]]; then
      die "kafka: data in $KAFKA_DIR/data was formatted with $(cat "$fmt_env"), now $want; use the old port or run '$0 reset kafka'"
    fi
    return 0
  fi
  log "kafka: formatting KRaft storage (single combined broker+controller, standalone quorum)"
  cid=$(kafka_java "$jhome" -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/tools-log4j2.properties" \
    @"$KAFKA_ARGFILE" kafka.tools.StorageTool random-uuid | tail -n1)
  [[ -n $cid ]] || die "kafka: StorageTool random-uuid failed"
  kafka_java "$jhome" -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/tools-log4j2.properties" \
    @"$KAFKA_ARGFILE" kafka.tools.StorageTool format --config "$KAFKA_DIR/server.properties" \
    --cluster-id "$cid" --standalone --ignore-formatted >"$KAFKA_DIR/logs/format.log" 2>&1 ||
    { cat "$KAFKA_DIR/logs/format.log" >&2; die "kafka: storage format failed"; }
  echo "$cid" >"$KAFKA_DIR/cluster.id"
  echo "$want" >"$fmt_env"
}

# Metadata request against the broker: describes the KRaft quorum (leader must be node 1).
kafka_quorum_ok() {
  local jhome=$1 out
  out=$(timeout 30 "$jhome/bin/java" -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/tools-log4j2.properties" @"$KAFKA_ARGFILE" \
    org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
    describe --status 2>&1) || { printf '%s\n' "$out" >&2; return 1; }
  grep -q '^LeaderId:[[:space:]]*1$' <<<"$out"
}

kafka_start() {
  local pid jhome t0 off=0 deadline started=0 server_log="$KAFKA_DIR/logs/server.log"
  if pid=$(kafka_pid); then
    if port_open "$KAFKA_PORT"; then
      log "kafka: already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
      return 0
    fi
    log "kafka: pid $pid exists but port $KAFKA_PORT is closed; waiting for it"
  else
    rm -f "$KAFKA_PID_FILE"
    pid=""
  fi
  t0=$(now)
  jhome=$(find_kafka_java)
  ensure_stack_dir
  kafka_fetch
  kafka_write_config
  if [[ -z $pid ]]; then
    check_port_free "$KAFKA_PORT" "" "kafka broker"
    check_port_free "$KAFKA_CONTROLLER_PORT" "" "kafka controller"
    kafka_format_if_needed "$jhome"
    [[ -f $server_log ]] && off=$(stat -c %s "$server_log")
    log "kafka: starting Apache Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT), java $(java_major "$jhome")"
    # shellcheck disable=SC2086
    nohup setsid "$jhome/bin/java" $KAFKA_HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$SCRIPT_DIR/kafka/log4j2.properties" \
      -Dkafka.logs.dir="$KAFKA_DIR/logs" \
      @"$KAFKA_ARGFILE" kafka.Kafka "$KAFKA_DIR/server.properties" \
      </dev/null >"$KAFKA_DIR/logs/kafka.out" 2>&1 &
    pid=$!
    echo "$pid" >"$KAFKA_PID_FILE"
  fi
  deadline=$(($(date +%s) + START_TIMEOUT))
  while (($(date +%s) < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$KAFKA_PID_FILE"
      tail_logs "$KAFKA_DIR/logs/kafka.out" "$server_log"
      die "kafka: process exited during startup; logs in $KAFKA_DIR/logs"
    fi
    if ((!started)) && [[ -f $server_log ]]; then
      (($(stat -c %s "$server_log") < off)) && off=0 # rolled over
      # off is 0 when the broker was already running: any earlier line counts.
      tail -c +$((off + 1)) "$server_log" | grep -q 'Kafka Server started' && started=1
    fi
    if ((started)) && port_open "$KAFKA_PORT"; then
      if kafka_quorum_ok "$jhome"; then
        log "kafka: healthy (pid $pid, 127.0.0.1:$KAFKA_PORT) in $(elapsed "$t0")s; logs: $KAFKA_DIR/logs"
        return 0
      fi
    fi
    sleep 0.5
  done
  tail_logs "$KAFKA_DIR/logs/kafka.out" "$server_log"
  die "kafka: not healthy after ${START_TIMEOUT}s (pid $pid still running; '$0 stop kafka' to stop it); logs in $KAFKA_DIR/logs"
}

kafka_stop() {
  local pid
  if pid=$(kafka_pid); then
    stop_pid kafka "$pid"
  else
    log "kafka: not running"
  fi
  rm -f "$KAFKA_PID_FILE"
}

kafka_status() {
  local pid
  if pid=$(kafka_pid); then
    if port_open "$KAFKA_PORT"; then
      echo "kafka: running pid=$pid port=$KAFKA_PORT controller_port=$KAFKA_CONTROLLER_PORT version=$KAFKA_VERSION"
    else
      echo "kafka: starting pid=$pid port=$KAFKA_PORT (not accepting connections yet)"
      return 3
    fi
    return 0
  fi
  echo "kafka: stopped port=$KAFKA_PORT"
  return 3
}

kafka_logs() {
  tail_logs "$KAFKA_DIR/logs/server.log" "$KAFKA_DIR/logs/controller.log" "$KAFKA_DIR/logs/kafka.out"
}

kafka_reset() {
  kafka_stop
  log "kafka: deleting $KAFKA_DIR/data"
  rm -rf "$KAFKA_DIR/data" "$KAFKA_DIR/cluster.id" "$KAFKA_DIR/format.env"
}

# ====================== Elasticsearch and OpenSearch =======================
# Every engine_* function works on the engine chosen by engine_select.

ensure_es_user() {
  [[ $EUID -eq 0 ]] || return 0
  id -u "$ES_USER" >/dev/null 2>&1 && return 0
  log "creating system user $ES_USER for the search engines (they refuse to run as root)"
  if command -v useradd >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$ES_USER"
  elif command -v adduser >/dev/null 2>&1; then
    adduser --system --group --no-create-home --home /nonexistent "$ES_USER"
  else
    die "cannot create user $ES_USER: neither useradd nor adduser exists"
  fi
}

as_es() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u "$ES_USER" -- "$@"
  else
    "$@"
  fi
}

# Directory holding the engine's distribution, config, data and logs. Normally
# $STACK_DIR/<engine>; if the engine user cannot reach $STACK_DIR (checkout under
# /root, ...) it lives in $ES_EXTERNAL_BASE/<hash>[-opensearch] and $STACK_DIR/<engine>
# is a symlink to it. Prints nothing if it does not exist yet and $1 != create.
engine_dir() {
  local hash ext
  if [[ -L $E_LINK ]]; then
    readlink -f "$E_LINK"
    return 0
  fi
  if [[ -d $E_LINK ]]; then
    echo "$E_LINK"
    return 0
  fi
  [[ ${1:-} == create ]] || return 0
  ensure_stack_dir
  if as_es test -x "$STACK_DIR" -a -r "$STACK_DIR" 2>/dev/null; then
    mkdir -p "$E_LINK"
    chmod 755 "$E_LINK"
    echo "$E_LINK"
  else
    hash=$(printf '%s' "$STACK_DIR" | sha256sum | cut -c1-12)
    ext=$ES_EXTERNAL_BASE/$hash$E_EXTERNAL_SUFFIX
    log "$E: user $ES_USER cannot traverse $STACK_DIR; using $ext (symlinked from $E_LINK)"
    mkdir -p "$ext"
    chmod 755 "$ES_EXTERNAL_BASE" "$ext"
    ln -sfn "$ext" "$E_LINK"
    echo "$ext"
  fi
}

# The engine's server pid. With $1 = any: whatever server runs from this directory,
# which can be an OpenSearch in elasticsearch/ started by an older version of this
# script (RADAR_SEARCH_ENGINE=opensearch).
engine_pid() {
  local d
  d=$(engine_dir)
  [[ -n $d ]] || return 1
  if [[ ${1:-} == any ]]; then
    live_pid "$d/run/$E.pid" "$d/dist/"
  else
    live_pid "$d/run/$E.pid" "$d/dist/$E-"
  fi
}

# Version of the running server $1, from its command line (path of its distribution).
engine_running_version() {
  local d
  d=$(engine_dir)
  tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -o "$d/dist/[a-z]*-[^/]*" | head -n1 |
    sed 's:.*/[a-z]*-::'
}

engine_fetch() {
  local d=$1 home=$1/dist/$E-$E_VERSION tmp
  if [[ -f $home/.radar-unpacked ]]; then
    echo "$home"
    return 0
  fi
  if [[ ! -s $E_ZIP ]]; then
    log "$E: downloading $E_GAV from Maven Central (first run only, 100-170 MB)"
    run_mvn "$E" "$MVN_DEP_PLUGIN:get" -Dartifact="$E_GAV" -Dtransitive=false ||
      die "$E: maven could not fetch $E_GAV"
    [[ -s $E_ZIP ]] || die "$E: $E_ZIP missing after download"
  fi
  need_cmd unzip "apt-get install unzip"
  log "$E: unpacking into $home"
  tmp=$d/dist/.unpack.$$
  rm -rf "$tmp"
  mkdir -p "$tmp"
  unzip -q "$E_ZIP" -d "$tmp"
  rm -rf "$home"
  mv "$tmp/$E-$E_VERSION" "$home"
  rm -rf "$tmp"
  chmod -R a+rX "$d/dist"
  touch "$home/.radar-unpacked"
  echo "$home"
}

engine_write_config() {
  local d=$1 home=$2 conf=$1/config f
  mkdir -p "$d/data" "$d/logs" "$d/tmp" "$d/run" "$conf/jvm.options.d"
  # Start from the distribution's config (log4j2.properties, jvm.options, ...);
  # keep an existing keystore created by an earlier start.
  cp -f "$home/config/log4j2.properties" "$conf/"
  for f in roles.yml role_mapping.yml users users_roles; do
    [[ -f $home/config/$f && ! -f $conf/$f ]] && cp "$home/config/$f" "$conf/"
  done
  # GC log into our logs dir, 2 x 16 MB instead of 32 x 64 MB.
  sed -e "s#^\(.*-Xlog:gc[^:]*\):file=[^:]*:\(.*\):filecount=[0-9]*,filesize=[0-9]*[a-z]*#\1:file=$d/logs/gc.log:\2:filecount=2,filesize=16m#" \
    -e "s#^-XX:HeapDumpPath=.*#-XX:HeapDumpPath=$d/data#" \
    "$home/config/jvm.options" >"$conf/jvm.options"
  # Refuse to open another engine's data (elasticsearch/data may hold OpenSearch
  # data from an older version of this script that ran one engine at a time).
  if [[ -f $d/data/.radar-engine && $(cat "$d/data/.radar-engine") != "$E" ]]; then
    die "$E: $d/data holds $(cat "$d/data/.radar-engine") data, not $E; run '$0 reset $E' first"
  fi
  echo "$E" >"$d/data/.radar-engine"
  printf -- '-Xms%s\n-Xmx%s\n' "$E_HEAP" "$E_HEAP" >"$conf/jvm.options.d/radar-heap.options"
  {
    echo "# Generated by deploy/local/stack.sh on every start; edit the script, not this file."
    echo "cluster.name: $ENGINE_CLUSTER_NAME"
    echo "node.name: $ENGINE_CLUSTER_NAME-1"
    echo "path.data: $d/data"
    echo "path.logs: $d/logs"
    echo "network.host: 127.0.0.1"
    echo "http.port: $E_PORT"
    echo "transport.port: $E_TRANSPORT_PORT"
    echo "discovery.type: single-node"
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
    echo "action.destructive_requires_name: false"
    # Settings of modules only exist when the module does.
    [[ -d $home/modules/x-pack-security ]] && echo "xpack.security.enabled: false"
    [[ -d $home/modules/x-pack-ml ]] && echo "xpack.ml.enabled: false"
    [[ $E == elasticsearch && -d $home/modules/ingest-geoip ]] && echo "ingest.geoip.downloader.enabled: false"
    true
  } >"$conf/$E.yml"
  chown -R "$ES_USER:" "$d/data" "$d/logs" "$d/tmp" "$d/run" "$conf" 2>/dev/null || true
}

# Health = GET /_cluster/health?wait_for_status=yellow (waits up to $1 s, default 1).
engine_health() {
  curl -fsS --max-time "$((${1:-1} + 5))" \
    "http://127.0.0.1:$E_PORT/_cluster/health?wait_for_status=yellow&timeout=${1:-1}s" 2>/dev/null |
    grep -Eq '"status":"(green|yellow)".*"timed_out":false'
}

engine_start() {
  local pid d home jhome t0 deadline rc
  need_cmd curl "apt-get install curl"
  if pid=$(engine_pid); then
    if engine_health 1; then
      log "$E: already running (pid $pid, http://127.0.0.1:$E_PORT)"
      return 0
    fi
    log "$E: pid $pid exists but is not healthy yet; waiting"
  elif pid=$(engine_pid any); then
    die "$E: $(engine_dir) runs another engine (pid $pid, started by an older version of this script with RADAR_SEARCH_ENGINE=opensearch); run '$0 reset $E' first"
  else
    pid=""
  fi
  t0=$(now)
  jhome=$(find_engine_java)
  ensure_stack_dir
  ensure_es_user
  d=$(engine_dir create)
  home=$(engine_fetch "$d")
  if [[ -z $pid ]]; then
    rm -f "$d/run/$E.pid"
    check_port_free "$E_PORT" "" "$E http"
    check_port_free "$E_TRANSPORT_PORT" "" "$E transport"
    engine_write_config "$d" "$home"
    log "$E: starting $E $E_VERSION on http://127.0.0.1:$E_PORT as user $ES_USER, java $(java_major "$jhome") ($jhome)"
    # -d: Elasticsearch's launcher returns once the node has started (or failed),
    # OpenSearch's at once; both leave the server JVM running in the background;
    # -p writes the server pid.
    set +e
    (cd "$d" && as_es timeout "$START_TIMEOUT" env "${E_PREFIX}_JAVA_HOME=$jhome" \
      "${E_PREFIX}_PATH_CONF=$d/config" "${E_PREFIX}_TMPDIR=$d/tmp" \
      "${E_PREFIX}_JAVA_OPTS=$E_JAVA_OPTS" \
      "$home/bin/$E" -d -p "$d/run/$E.pid" \
      </dev/null >"$d/logs/startup.out" 2>&1)
    rc=$?
    set -e
    if ((rc != 0)); then
      pid=$(engine_pid) && stop_pid "$E" "$pid"
      tail_logs "$d/logs/startup.out" "$d/logs/$ENGINE_CLUSTER_NAME.log"
      die "$E: launcher failed (exit $rc); logs in $d/logs"
    fi
    pid=$(engine_pid) || pid=""
  fi
  deadline=$(($(date +%s) + START_TIMEOUT))
  while (($(date +%s) < deadline)); do
    if [[ -z $pid ]]; then
      # OpenSearch's launcher returns at once and the JVM writes the pid file a
      # moment later.
      pid=$(engine_pid) || pid=""
      if [[ -z $pid ]]; then
        if (($(date +%s) > deadline - START_TIMEOUT + 20)); then
          tail_logs "$d/logs/startup.out" "$d/logs/$ENGINE_CLUSTER_NAME.log"
          die "$E: no server process after launch; logs in $d/logs"
        fi
        sleep 0.5
        continue
      fi
    fi
    if engine_health 5; then
      log "$E: healthy (pid $pid, http://127.0.0.1:$E_PORT) in $(elapsed "$t0")s; logs: $d/logs"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail_logs "$d/logs/startup.out" "$d/logs/$ENGINE_CLUSTER_NAME.log"
      die "$E: process exited during startup; logs in $d/logs"
    fi
    sleep 1
  done
  tail_logs "$d/logs/startup.out" "$d/logs/$ENGINE_CLUSTER_NAME.log"
  die "$E: not healthy after ${START_TIMEOUT}s (pid $pid still running; '$0 stop $E' to stop it); logs in $d/logs"
}

engine_stop() {
  local pid d
  d=$(engine_dir)
  if pid=$(engine_pid any); then
    stop_pid "$E" "$pid"
  else
    log "$E: not running"
  fi
  [[ -n $d ]] && rm -f "$d/run/$E.pid"
  return 0
}

engine_status() {
  local pid health version
  if pid=$(engine_pid); then
    version=$(engine_running_version "$pid")
    health=$(curl -fsS --max-time 3 "http://127.0.0.1:$E_PORT/_cluster/health" 2>/dev/null |
      sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
    case $health in
      green | yellow)
        echo "$E: running pid=$pid port=$E_PORT transport_port=$E_TRANSPORT_PORT version=${version:-$E_VERSION} health=$health"
        return 0
        ;;
    esac
    echo "$E: unhealthy pid=$pid port=$E_PORT transport_port=$E_TRANSPORT_PORT version=${version:-$E_VERSION} health=${health:-unreachable}"
    return 3
  fi
  if pid=$(engine_pid any); then
    echo "$E: stopped port=$E_PORT (but $(engine_dir) runs another engine, pid=$pid, from RADAR_SEARCH_ENGINE=opensearch of an older version of this script; '$0 reset $E')"
    return 3
  fi
  echo "$E: stopped port=$E_PORT"
  return 3
}

engine_logs() {
  local d
  d=$(engine_dir)
  [[ -n $d ]] || { log "$E: no logs yet"; return 0; }
  tail_logs "$d/logs/$ENGINE_CLUSTER_NAME.log" "$d/logs/startup.out"
}

engine_reset() {
  local d
  engine_stop
  d=$(engine_dir)
  [[ -n $d ]] || return 0
  log "$E: deleting $d/data"
  rm -rf "$d/data"
}

# ================================ main =====================================

ALL_SERVICES=(kafka elasticsearch opensearch)

# svc SERVICE ACTION: runs kafka_ACTION or engine_ACTION for that engine.
svc() {
  case $1 in
    kafka) "kafka_$2" ;;
    elasticsearch | opensearch)
      engine_select "$1"
      "engine_$2"
      ;;
  esac
}

# Runs ACTION for every service in "${services[@]}", all at once (one background
# subshell each, so e.g. the three JVMs start side by side); fails if any failed.
svc_parallel() {
  local action=$1 i s t0 pids=() failed=()
  if ((${#services[@]} == 1)); then
    svc "${services[0]}" "$action"
    return
  fi
  t0=$(now)
  for s in "${services[@]}"; do
    (svc "$s" "$action") &
    pids+=($!)
  done
  # Without job control, background subshells ignore SIGINT: pass it on.
  trap 'kill -TERM "${pids[@]}" 2>/dev/null; exit 130' INT TERM
  for i in "${!pids[@]}"; do
    wait "${pids[i]}" || failed+=("${services[i]}")
  done
  trap - INT TERM
  ((${#failed[@]} == 0)) || die "$action failed for: ${failed[*]}"
  log "$action ${services[*]}: done in $(elapsed "$t0")s"
}

cmd=${1:-}
(($#)) && shift
services=()
for arg in "${@:-all}"; do
  case $arg in
    all) new=("${ALL_SERVICES[@]}") ;;
    kafka) new=(kafka) ;;
    elasticsearch | es) new=(elasticsearch) ;;
    opensearch | os) new=(opensearch) ;;
    *) usage ;;
  esac
  for s in "${new[@]}"; do
    [[ " ${services[*]} " == *" $s "* ]] || services+=("$s")
  done
done

# Create the stack dir and the engine user once, before services start in parallel.
prepare() {
  local s
  ensure_stack_dir
  for s in "${services[@]}"; do
    [[ $s == kafka ]] || { ensure_es_user; break; }
  done
}

case $cmd in
  start)
    if [[ ${RADAR_STACK_FRESH:-0} == 1 ]]; then
      svc_parallel reset
    fi
    prepare
    svc_parallel start
    ;;
  stop)
    svc_parallel stop
    ;;
  restart)
    svc_parallel stop
    prepare
    svc_parallel start
    ;;
  status)
    rc=0
    for s in "${services[@]}"; do svc "$s" status || rc=3; done
    exit "$rc"
    ;;
  logs)
    for s in "${services[@]}"; do svc "$s" logs; done
    ;;
  reset)
    svc_parallel reset
    ;;
  *) usage ;;
esac
