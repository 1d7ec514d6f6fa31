# Shared by bin/understudy, bin/test and bin/bench. Source it; do not run it.
# Finds a JDK >= 21, installs Maven if missing, and rebuilds when sources changed.

UNDERSTUDY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '%s\n' "$*" >&2; }
die() { printf 'understudy: %s\n' "$*" >&2; exit 2; }

java_major() { # prints the major version of the java binary $1, or nothing
  # a JDK's release file says it without starting a JVM (each start costs 0.1 s or more: the CLI's budget)
  local release; release="$(dirname "$(dirname "$1")")/release"
  if [ -f "$release" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release"
    return
  fi
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

# The relays' AOT cache (JDK 25+, JEP 483/514/515): the classes a relay loads, already parsed and
# linked, and the method profiles of one rehearsal of its request paths (`understudy rehearse`), so a
# standby that is promoted starts from them instead of from nothing. Trained once per build (about
# 30 s) and kept next to the jars; the JVM checks it against the classpath and ignores a stale one.
# Prints its path, or nothing when this JDK has no AOT cache or the training failed (a colder start).
relay_aot_cache() {
  [ "${JAVA_MAJOR:-21}" -ge 25 ] || return 0
  local dir="$UNDERSTUDY_ROOT/cli/target/aot" cache
  cache="$dir/relay.aot"
  if [ ! -f "$cache" ] || [ "$UNDERSTUDY_ROOT/cli/target/understudy.jar" -nt "$cache" ]; then
    mkdir -p "$dir"
    rm -f "$cache"
    say "understudy: training the relays' AOT cache (once per build, about 30 s)..."
    if ! "$JAVA" -Xmx256m -XX:+UseSerialGC $(understudy_jvm_flags) -XX:AOTCacheOutput="$cache" \
        -cp "$(understudy_classpath)" io.understudy.cli.Main rehearse >"$dir/training.log" 2>&1 || [ ! -f "$cache" ]; then
      say "understudy: no AOT cache (relays start colder); see $dir/training.log"
      rm -f "$cache"
      return 0
    fi
  fi
  echo "$cache"
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

# The distribution (bin/understudy dist): a versioned tarball with a trimmed Java runtime (jlink),
# the jars, launchers and the shipped configs; runs on a host with no JDK. Needs the jars built
# (ensure_built, or a Maven build past cli's package phase). Prints the tarball's path.
build_dist() {
  local out="$1" version arch name stage lib modules
  version=$(sed -n '0,/<version>/s:.*<version>\(.*\)</version>.*:\1:p' "$UNDERSTUDY_ROOT/pom.xml")
  arch=$(uname -m)
  name="understudy-$version-linux-$arch"
  [ -f "$UNDERSTUDY_ROOT/cli/target/understudy.jar" ] || die "build first: cli/target/understudy.jar is missing"
  stage=$(mktemp -d)
  lib="$stage/$name/lib"
  mkdir -p "$lib" "$stage/$name/bin" "$stage/$name/config" "$out"
  cp "$UNDERSTUDY_ROOT/cli/target/understudy.jar" "$UNDERSTUDY_ROOT"/cli/target/lib/*.jar "$lib/"
  # the modules every jar needs, as jdeps finds them; the TLS and DNS providers are loaded by name, so named here
  modules=$("$JAVA_HOME/bin/jdeps" -q --ignore-missing-deps --multi-release "$JAVA_MAJOR" --print-module-deps \
    --class-path "$(ls "$lib"/*.jar | tr '\n' ':')" "$lib"/*.jar) || { rm -rf "$stage"; die "jdeps failed"; }
  modules="$modules,jdk.crypto.ec,jdk.naming.dns"
  "$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --compress=zip-6 --output "$stage/$name/runtime" || { rm -rf "$stage"; die "jlink failed"; }
  local unsafe=""
  [ "$JAVA_MAJOR" -ge 24 ] && unsafe="--sun-misc-unsafe-memory-access=allow"
  for f in "$UNDERSTUDY_ROOT"/deploy/dist/bin/*; do
    sed "s/--sun-misc-unsafe-memory-access=allow/$unsafe/" "$f" >"$stage/$name/bin/${f##*/}"
    chmod 755 "$stage/$name/bin/${f##*/}"
  done
  cp "$UNDERSTUDY_ROOT"/config/*.yaml "$stage/$name/config/"
  mkdir -p "$stage/$name/docs"
  cp "$UNDERSTUDY_ROOT/README.md" "$stage/$name/"
  cp "$UNDERSTUDY_ROOT"/docs/*.md "$stage/$name/docs/"
  [ -d "$UNDERSTUDY_ROOT/deploy/systemd" ] && cp -r "$UNDERSTUDY_ROOT/deploy/systemd" "$stage/$name/systemd"
  echo "$version" >"$stage/$name/VERSION"
  tar -C "$stage" -czf "$out/$name.tar.gz" "$name" || { rm -rf "$stage"; die "tar failed"; }
  rm -rf "$stage"
  echo "$out/$name.tar.gz"
}

# apt_install PACKAGE WHAT: installs a Debian package when root with apt-get, else stops with how to.
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "understudy: installing $1 (apt-get install $1) for $2..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1") >&2 || die "could not install $1"
  else
    die "$2 need the $1 package: install it (e.g. 'sudo apt-get install $1')"
  fi
}

# Debian's Chromium, headless, for the tests that open the agent's status page and the chaos report in a browser.
ensure_chromium() {
  [ -n "${UNDERSTUDY_CHROMIUM:-}" ] && [ -x "$UNDERSTUDY_CHROMIUM" ] && return 0
  [ -x /usr/bin/chromium ] && return 0
  apt_install chromium "the browser checks (or set UNDERSTUDY_CHROMIUM)"
}

# systemd-analyze (Debian's systemd package) for the unit checks: verify, and security --offline.
ensure_systemd_analyze() {
  command -v systemd-analyze >/dev/null 2>&1 && return 0
  apt_install systemd "the systemd unit checks"
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

# Helm for the chart checks (helm lint, helm template), built with Go into .understudy/tools/bin.
# v3.21.4: the registry here serves v3.22.0 but has not approved it.
HELM_VERSION=v3.21.4
ensure_helm() {
  local dir="$UNDERSTUDY_ROOT/.understudy/tools/bin"
  if [ -x "$dir/helm" ] && [ "$(cat "$dir/helm.version" 2>/dev/null)" = "$HELM_VERSION" ]; then
    return 0
  fi
  command -v go >/dev/null 2>&1 || die "the chart checks need Go to install Helm (go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION)"
  say "understudy: installing Helm $HELM_VERSION (go install, a few minutes the first time)..."
  mkdir -p "$dir"
  GOBIN="$dir" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2 || die "could not install Helm $HELM_VERSION with go install"
  echo "$HELM_VERSION" > "$dir/helm.version"
}

# bin/bench's peers, each installed where missing: nginx, HAProxy and wrk from Debian's packages,
# LiteLLM from PyPI into its own venv, the Portkey gateway from npm. A peer that cannot be installed
# leaves its error in .understudy/tools/<peer>.install-error; bin/bench reports it, never drops it.
# LiteLLM: 1.104.9 and later need certifi>=2026.10.19, which the PyPI here does not serve yet; 1.107.0 was a
# compromised release (pulled). 1.100.5 resolves from the registry this project builds from.
LITELLM_VERSION=1.100.5
PORTKEY_VERSION=1.15.2
ensure_bench_peers() {
  local tools="$UNDERSTUDY_ROOT/.understudy/tools"
  mkdir -p "$tools"
  local pkgs=()
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || pkgs+=(nginx)
  [ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || pkgs+=(haproxy)
  command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
  if [ ${#pkgs[@]} -gt 0 ]; then
    say "understudy: installing ${pkgs[*]} (Debian packages)..."
    local p
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      # policy-rc.d 101: the packages must not start their system services (port 80) on install
      local policy=/usr/sbin/policy-rc.d created=""
      [ -e "$policy" ] || { printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1; }
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}") \
        >"$tools/apt.log" 2>&1 || true
      [ -n "$created" ] && rm -f "$policy"
    fi
    for p in "${pkgs[@]}"; do
      if command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ]; then rm -f "$tools/$p.install-error"
      else { echo "apt-get install $p failed (needs root and apt-get):"; tail -5 "$tools/apt.log" 2>/dev/null; } >"$tools/$p.install-error"; fi
    done
  fi
  if [ ! -x "$tools/litellm/bin/litellm" ] || [ "$("$tools/litellm/bin/python" -c "import importlib.metadata as m; print(m.version('litellm'))" 2>/dev/null)" != "$LITELLM_VERSION" ]; then
    rm -rf "$tools/litellm"
    say "understudy: installing LiteLLM $LITELLM_VERSION (PyPI, into .understudy/tools/litellm)..."
    if python3 -m venv "$tools/litellm" >"$tools/litellm.log" 2>&1 \
       && "$tools/litellm/bin/pip" install -q --disable-pip-version-check "litellm[proxy]==$LITELLM_VERSION" >>"$tools/litellm.log" 2>&1; then
      rm -f "$tools/litellm.install-error"
    else
      { echo "pip install litellm[proxy]==$LITELLM_VERSION failed:"; tail -5 "$tools/litellm.log"; } >"$tools/litellm.install-error"
    fi
  fi
  if [ "$(node -p "require('$tools/portkey/node_modules/@portkey-ai/gateway/package.json').version" 2>/dev/null)" != "$PORTKEY_VERSION" ]; then
    say "understudy: installing Portkey gateway $PORTKEY_VERSION (npm, into .understudy/tools/portkey)..."
    mkdir -p "$tools/portkey"
    if npm install --prefix "$tools/portkey" --no-audit --no-fund --loglevel=error "@portkey-ai/gateway@$PORTKEY_VERSION" \
       >"$tools/portkey.log" 2>&1; then
      rm -f "$tools/portkey.install-error"
    else
      { echo "npm install @portkey-ai/gateway@$PORTKEY_VERSION failed:"; tail -5 "$tools/portkey.log"; } >"$tools/portkey.install-error"
    fi
  fi
}
