# Shared by bin/understudy, bin/test and bin/bench. Source it; do not run it.
# Finds a JDK >= 21, installs Maven if missing, and rebuilds when sources changed.

UNDERSTUDY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '%s\n' "$*" >&2; }
die() { printf 'understudy: %s\n' "$*" >&2; exit 2; }

java_major() { # prints the major version of the java binary $1, or nothing
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'
}

# Sets JAVA and JAVA_HOME to a JDK >= 21: JAVA_HOME first, then /usr/lib/jvm/*, then PATH.
find_java() {
  local candidates=() c major
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for c in /usr/lib/jvm/*; do [ -d "$c" ] && candidates+=("$c"); done
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  local best="" best_major=0
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    major="$(java_major "$c/bin/java")"
    major="${major%%.*}"
    [ -n "$major" ] || continue
    if [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then best="$c"; best_major="$major"; fi
  done
  if [ -z "$best" ]; then
    die "no JDK 21 or newer found (looked at JAVA_HOME and /usr/lib/jvm: $(ls /usr/lib/jvm 2>/dev/null | tr '\n' ' ')). Install one, e.g. 'apt-get install openjdk-21-jdk' or Temurin 21+, and/or set JAVA_HOME."
  fi
  export JAVA_HOME="$best"
  JAVA="$best/bin/java"
  JAVA_MAJOR="$best_major"
}

ensure_maven() {
  command -v mvn >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "understudy: installing Maven (apt-get install maven)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven) >&2 || die "could not install Maven"
  else
    die "Maven (mvn) is required: install it (e.g. 'sudo apt-get install maven')"
  fi
}

# A fingerprint of everything that goes into the build.
source_fingerprint() {
  (cd "$UNDERSTUDY_ROOT" && find . -path ./.git -prune -o -path '*/target' -prune -o -path ./.understudy -prune -o \
      \( -name pom.xml -o -path '*/src/main/*' -o -path './config/*.yaml' \) -type f -print0 \
    | sort -z | xargs -0 sha1sum | sha1sum | cut -d' ' -f1)
}

# Builds the launcher (all modules, no tests) unless the last build saw the same sources.
ensure_built() {
  local stamp="$UNDERSTUDY_ROOT/cli/target/.build-fingerprint" now
  now="$(source_fingerprint)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$now" ] && [ -f "$UNDERSTUDY_ROOT/cli/target/understudy.jar" ]; then
    return 0
  fi
  ensure_maven
  say "understudy: building (mvn package, first time takes a few minutes)..."
  if ! (cd "$UNDERSTUDY_ROOT" && mvn -B -q -DskipTests install >"$UNDERSTUDY_ROOT/.build.log" 2>&1); then
    tail -40 "$UNDERSTUDY_ROOT/.build.log" >&2
    die "build failed; full log in .build.log"
  fi
  echo "$now" >"$stamp"
}

# JVM flags for our processes: JDK 24+ warns on every start that gRPC/protobuf use sun.misc.Unsafe.
understudy_jvm_flags() {
  if [ "${JAVA_MAJOR:-21}" -ge 24 ]; then echo "--sun-misc-unsafe-memory-access=allow"; fi
}

understudy_classpath() {
  echo "$UNDERSTUDY_ROOT/cli/target/understudy.jar:$UNDERSTUDY_ROOT/cli/target/lib/*"
}

# etcd (Debian's etcd-server) for leadership: bin/test and `up` need it.
ensure_etcd() {
  command -v etcd >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "understudy: installing etcd (apt-get install etcd-server etcd-client)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client) >&2 \
      || die "could not install etcd-server"
  else
    die "etcd is required: install it (e.g. 'sudo apt-get install etcd-server'), or set UNDERSTUDY_ETCD to your cluster"
  fi
}

# Toxiproxy server v2.12.0 for the chaos suite, built from source with Go into .understudy/tools/bin.
TOXIPROXY_VERSION=v2.12.0
ensure_toxiproxy() {
  local dir="$UNDERSTUDY_ROOT/.understudy/tools/bin" bin
  bin="$dir/toxiproxy-server"
  # a go-install build reports its version as "git", so a marker file records what was installed
  if [ -x "$bin" ] && [ "$(cat "$dir/toxiproxy-server.version" 2>/dev/null)" = "$TOXIPROXY_VERSION" ]; then
    return 0
  fi
  command -v go >/dev/null 2>&1 || die "the chaos suite needs Go to install Toxiproxy (go install github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION)"
  say "understudy: installing Toxiproxy $TOXIPROXY_VERSION (go install)..."
  mkdir -p "$dir"
  GOBIN="$dir" go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" >&2 \
    || die "could not install Toxiproxy $TOXIPROXY_VERSION with go install"
  mv -f "$dir/server" "$bin"
  echo "$TOXIPROXY_VERSION" > "$dir/toxiproxy-server.version"
}
