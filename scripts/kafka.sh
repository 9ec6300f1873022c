#!/usr/bin/env bash
# The local broker: Apache Kafka in KRaft mode (one node, broker and controller), the same broker
# compose and Kubernetes run.
#   kafka.sh install   resolve Apache Kafka's jars from Maven Central into ~/.cache/bank/ (once
#                      per machine; about 55 MB, seconds)
#   kafka.sh start     format the storage under .data/kafka on first start, start the broker on
#                      127.0.0.1:$BANK_KAFKA_PORT (19092; SASL_SSL on 19094), wait until it
#                      answers, create the topics
#   kafka.sh stop      a clean shutdown (SIGTERM; the broker flushes and closes its logs)
#   kafka.sh kill      a crash: SIGKILL (what the broker-restart test does mid-load)
#   kafka.sh groups    every consumer group with its members, partitions and lag
#   kafka.sh topics    create missing topics
#   kafka.sh tool CLASS ARGS...   run one of Kafka's own tools (e.g. org.apache.kafka.tools.TopicCommand)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION="${BANK_KAFKA_VERSION:-4.1.1}"
LOG4J_VERSION="2.24.3"
SLF4J_VERSION="2.0.17"
KAFKA_HOME="${BANK_KAFKA_HOME:-$HOME/.cache/bank/kafka-$KAFKA_VERSION}"
KAFKA_DIR="$DATA/kafka"
CONTROLLER_PORT="${BANK_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
# A second client listener with TLS and SASL (PLAIN and SCRAM-SHA-512, user `bank`), as a managed
# cluster has: the tests prove the services' TLS and SASL settings against it. The services of
# the local stack use the plaintext listener.
SASL_PORT="${BANK_KAFKA_SASL_PORT:-$((KAFKA_PORT + 2))}"
SASL_USER="bank"
SASL_PASSWORD_FILE="$KAFKA_DIR/sasl-password"
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
# The broker shares two cores with PostgreSQL, six services, the router and NGINX: a small fixed
# heap (Kafka keeps its data in the page cache, not the heap) and one GC thread.
KAFKA_HEAP="${BANK_KAFKA_HEAP:--Xms256m -Xmx512m}"

# topic:partitions, the same as compose and Kubernetes (docs/events.md).
TOPICS=(bank.users:3 bank.accounts:3 bank.ledger:6 bank.loans:3 bank.payments:3 bank.dead-letter:1)

java_bin() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME/bin/java"; else command -v java; fi
}

# A Maven project that only names Kafka (the broker and its tools) and a log4j2 binding; Maven
# resolves their runtime dependencies and copies the jars into $KAFKA_HOME/libs.
install() {
  if [ -f "$KAFKA_HOME/.complete" ]; then
    ok "Apache Kafka $KAFKA_VERSION present"
    return 0
  fi
  command -v mvn >/dev/null || die "Maven is missing (install-deps.sh installs it)"
  java_bin >/dev/null || die "Java 17 or newer is missing (install-deps.sh installs it)"
  say "resolving Apache Kafka $KAFKA_VERSION from Maven Central (once per machine)"
  rm -rf "$KAFKA_HOME"
  mkdir -p "$KAFKA_HOME"
  cat >"$KAFKA_HOME/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>bank.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <!-- Kafka logs through SLF4J 2; a dependency's older slf4j-api would otherwise win. -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
  (cd "$KAFKA_HOME" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_HOME/libs") >"$KAFKA_HOME/maven.log" 2>&1 \
    || die "Maven could not resolve Apache Kafka $KAFKA_VERSION; see $KAFKA_HOME/maven.log"
  ls "$KAFKA_HOME/libs/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null || die "kafka_2.13 did not resolve"
  touch "$KAFKA_HOME/.complete"
  ok "Apache Kafka $KAFKA_VERSION in $KAFKA_HOME ($(ls "$KAFKA_HOME/libs" | wc -l) jars)"
}

# tool CLASS ARGS...: one of Kafka's command-line tools, on the same jars, with a small heap and
# its own log4j configuration (warnings to stderr only).
tool() {
  local class="$1"
  shift
  "$(java_bin)" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$KAFKA_DIR/tools-log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" "$class" "$@"
}

write_config() {
  mkdir -p "$KAFKA_DIR/data"
  [ -f "$CERTS/server.pem" ] || "$ROOT/scripts/certs.sh" >/dev/null
  if [ ! -s "$SASL_PASSWORD_FILE" ]; then
    (umask 077; openssl rand -hex 16 >"$SASL_PASSWORD_FILE")
  fi
  local password
  password="$(cat "$SASL_PASSWORD_FILE")"
  # Kafka reads a PEM key store: the private key (PKCS#8) and the certificate in one file.
  (umask 077; cat "$CERTS/server.key" "$CERTS/server.pem" >"$KAFKA_DIR/keystore.pem")
  (umask 077; cat >"$KAFKA_DIR/server.properties" <<PROPS
# Written by scripts/kafka.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT,SASL_SSL://127.0.0.1:$SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$SASL_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$password";
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$KAFKA_DIR/keystore.pem
log.dirs=$KAFKA_DIR/data
# One node: the internal topics cannot have more replicas than that.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
# Topics are created below with their partition counts, never by a client's first use.
auto.create.topics.enable=false
# A group's first member starts at once instead of waiting 3 s for others.
group.initial.rebalance.delay.ms=0
# After a crash the node registers again only once its previous registration's lease ran out
# (9 s by default, refused as a duplicate until then): a 2 s lease, renewed every 0.5 s.
broker.session.timeout.ms=2000
broker.heartbeat.interval.ms=500
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
log.retention.hours=168
log.segment.bytes=67108864
PROPS
  )
  cat >"$KAFKA_DIR/log4j2.properties" <<'LOG'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
LOG
  cat >"$KAFKA_DIR/tools-log4j2.properties" <<'LOG'
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
LOG
}

# The storage is formatted once, with a cluster id kept beside it; a formatted directory is
# never formatted again (that would lose the data).
format_storage() {
  [ -f "$KAFKA_DIR/data/meta.properties" ] && return 0
  local id
  id="$(tool kafka.tools.StorageTool random-uuid)"
  echo "$id" >"$KAFKA_DIR/cluster-id"
  tool kafka.tools.StorageTool format --cluster-id "$id" --config "$KAFKA_DIR/server.properties" \
    >>"$LOGS/kafka.log" 2>&1 || die "formatting the broker's storage failed; see .data/logs/kafka.log"
  ok "storage formatted (.data/kafka/data, cluster $id)"
}

# Ready means the broker answers Kafka requests (not only that its port is open): the API
# versions tool completes a request round trip.
# Ready when this start's log says the server started (cheap to poll), then confirmed by one
# API call. Polling with a JVM tool alone took a minute on a busy machine.
wait_ready() {
  local start=$SECONDS from="$1"
  printf '    waiting for kafka '
  # (grep -c reads to the end: with -q, tail's SIGPIPE would fail the pipeline under pipefail.)
  until [ "$(tail -c +"$from" "$LOGS/kafka.log" 2>/dev/null | grep -c "Kafka Server started")" -gt 0 ]; do
    is_running kafka || { printf ' it exited\n'; die "the broker did not start; see .data/logs/kafka.log"; }
    (( SECONDS - start < 90 )) || { printf ' timed out\n'; die "the broker did not start; see .data/logs/kafka.log"; }
    printf '.'
    sleep 0.5
  done
  until tool org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$BOOTSTRAP" >/dev/null 2>&1; do
    is_running kafka || { printf ' it exited\n'; die "the broker did not start; see .data/logs/kafka.log"; }
    (( SECONDS - start < 90 )) || { printf ' timed out\n'; die "the broker did not start; see .data/logs/kafka.log"; }
    printf '.'
    sleep 1
  done
  printf ' ready (%ss)\n' "$(( SECONDS - start ))"
}

start() {
  install
  if is_running kafka; then
    ok "kafka already running (pid $(cat "$RUN/kafka.pid"))"
    return 0
  fi
  say "Apache Kafka $KAFKA_VERSION (KRaft) on $BOOTSTRAP"
  write_config
  format_storage
  local from=$(( $(stat -c %s "$LOGS/kafka.log" 2>/dev/null || echo 0) + 1 ))
  # shellcheck disable=SC2086
  start_bg kafka "$(java_bin)" $KAFKA_HEAP -XX:+UseG1GC -XX:ParallelGCThreads=1 -XX:ConcGCThreads=1 \
    -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_DIR/server.properties"
  wait_ready "$from"
  topics
  scram_user
}

# The SCRAM credential of the SASL user (stored by the controller; set again on every start, so
# it follows the password file).
scram_user() {
  tool kafka.admin.ConfigCommand --bootstrap-server "$BOOTSTRAP" --alter \
    --entity-type users --entity-name "$SASL_USER" \
    --add-config "SCRAM-SHA-512=[iterations=4096,password=$(cat "$SASL_PASSWORD_FILE")]" \
    >>"$LOGS/kafka.log" 2>&1 || die "could not set the SCRAM credential; see .data/logs/kafka.log"
}

# Creates missing topics and grows any with fewer partitions than listed.
topics() {
  local existing entry name partitions
  existing="$(tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list)" \
    || die "could not list topics"
  for entry in "${TOPICS[@]}"; do
    name="${entry%%:*}"
    partitions="${entry##*:}"
    if grep -qx -- "$name" <<<"$existing"; then
      continue
    fi
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
      --topic "$name" --partitions "$partitions" --replication-factor 1 >>"$LOGS/kafka.log" 2>&1 \
      || die "could not create topic $name; see .data/logs/kafka.log"
    ok "topic $name ($partitions partitions)"
  done
}

groups() {
  tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$BOOTSTRAP" \
    --describe --all-groups
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_bg kafka ;;
  kill)
    if is_running kafka; then kill -KILL "$(cat "$RUN/kafka.pid")"; rm -f "$RUN/kafka.pid"; ok "kafka killed"; fi ;;
  topics) topics ;;
  # Topics earlier test runs made (each test has its own, named test-, sasl- or stall-...): left
  # in place they make every broker restart recover thousands of partitions (a minute and more).
  drop-test-topics)
    if tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list \
        | grep -qE '^(test|sasl|stall)-'; then
      tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --delete \
        --topic '(test|sasl|stall)-.*' >>"$LOGS/kafka.log" 2>&1 || warn "could not delete old test topics"
      ok "old test topics deleted"
    fi ;;
  groups) groups ;;
  tool) shift; tool "$@" ;;
  *) die "usage: kafka.sh install|start|stop|kill|topics|drop-test-topics|groups|tool CLASS ARGS..." ;;
esac
