#!/usr/bin/env bash
# Local servers for dynsweep: the Temporal CLI (dev server) and MinIO, built from pinned versions with Go.
#
#   infra/servers.sh ensure [temporal|minio]...  build the pinned binaries into $DYNSWEEP_CACHE/bin when missing or
#                                                when the pin changed; otherwise reuse them. Prints paths and build times.
#   infra/servers.sh path temporal|minio         print a binary's path (fails when it is not built at the pinned version)
#   infra/servers.sh start                       run both for development (state under $DYNSWEEP_DEV_DIR); prints the
#                                                environment to export:   eval "$(infra/servers.sh start)"
#   infra/servers.sh stop                        stop them
#   infra/servers.sh status | env                show whether they run | print the exports again
#
# Environment:
#   DYNSWEEP_CACHE          cache root (default ~/.cache/dynsweep); binaries in $DYNSWEEP_CACHE/bin
#   DYNSWEEP_TEMPORAL_BIN   use this temporal binary instead of building one (same for DYNSWEEP_MINIO_BIN)
#   DYNSWEEP_DEV_DIR        state folder for start/stop (default <repo>/.dynsweep/dev)
#   DYNSWEEP_TEMPORAL_PORT (7233)  DYNSWEEP_TEMPORAL_UI_PORT (8233)  DYNSWEEP_MINIO_PORT (9000)
#   DYNSWEEP_MINIO_CONSOLE_PORT (9001)  DYNSWEEP_BUCKET (dynsweep)  DYNSWEEP_PREFIX (sweeps)
#   DYNSWEEP_BIND (127.0.0.1)   the interface both servers listen on; another one exposes them to the network
#   DYNSWEEP_MINIO_USER (dynsweep)  DYNSWEEP_MINIO_PASSWORD (default: random, made on the first start and kept,
#                               mode 600, in $DYNSWEEP_DEV_DIR/minio.password)
#   DYNSWEEP_SEARCH_ATTRIBUTES  space-separated Name=Type pairs registered on the dev server (e.g. "SweepId=Keyword")
set -euo pipefail

# ---- pins (changing one triggers a rebuild on the next `ensure`) ---------------------------------------------------
TEMPORAL_PKG=github.com/temporalio/cli/cmd/temporal
TEMPORAL_MOD=github.com/temporalio/cli
TEMPORAL_VERSION=v1.5.1
MINIO_PKG=github.com/minio/minio
MINIO_MOD=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DYNSWEEP_CACHE:-$HOME/.cache/dynsweep}
BIN_DIR=$CACHE/bin
LOG_DIR=$CACHE/logs

die() { echo "servers.sh: error: $*" >&2; exit 1; }
info() { echo "servers.sh: $*" >&2; }

fmt_secs() { # 312 -> 5m12s
  local s=$1
  if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

pkg_of() { case $1 in temporal) echo "$TEMPORAL_PKG" ;; minio) echo "$MINIO_PKG" ;; *) die "unknown server '$1' (expected temporal or minio)" ;; esac; }
mod_of() { case $1 in temporal) echo "$TEMPORAL_MOD" ;; minio) echo "$MINIO_MOD" ;; esac; }
version_of() { case $1 in temporal) echo "$TEMPORAL_VERSION" ;; minio) echo "$MINIO_VERSION" ;; esac; }
override_of() { case $1 in temporal) echo "${DYNSWEEP_TEMPORAL_BIN:-}" ;; minio) echo "${DYNSWEEP_MINIO_BIN:-}" ;; esac; }
pin_of() { echo "$(pkg_of "$1")@$(version_of "$1")"; }
stamp_of() { echo "$BIN_DIR/.$1.stamp"; }

stamp_field() { # stamp_field FILE KEY
  sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n1
}

# is_current NAME: the cached binary exists and was built from the pinned version. A binary without a stamp (e.g.
# built by hand with `go install`) is adopted when `go version -m` shows the pinned module version.
is_current() {
  local name=$1 bin=$BIN_DIR/$1 stamp
  stamp=$(stamp_of "$1")
  [[ -x $bin ]] || return 1
  if [[ -f $stamp ]]; then
    [[ $(stamp_field "$stamp" pin) == "$(pin_of "$name")" ]] && return 0
    return 1
  fi
  command -v go >/dev/null 2>&1 || return 1
  local modver
  modver=$(go version -m "$bin" 2>/dev/null | awk -v m="$(mod_of "$name")" '$1 == "mod" && $2 == m { print $3; exit }')
  if [[ $modver == "$(version_of "$name")" ]]; then
    write_stamp "$name" "" "adopted (built outside servers.sh; build time unknown)"
    return 0
  fi
  return 1
}

write_stamp() { # write_stamp NAME BUILD_SECONDS NOTE
  local tmp
  tmp=$(mktemp "$BIN_DIR/.stamp.XXXXXX")
  {
    echo "pin=$(pin_of "$1")"
    echo "build_seconds=$2"
    echo "built_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "go=$(go env GOVERSION 2>/dev/null || echo unknown)"
    echo "note=$3"
  } >"$tmp"
  mv -f "$tmp" "$(stamp_of "$1")"
}

require_go() {
  if ! command -v go >/dev/null 2>&1; then
    die "Go is not installed (or not on PATH), and $1 is not built yet.
  Install Go (https://go.dev/dl/; a recent release, >= 1.24) and rerun \`infra/servers.sh ensure\`,
  or point DYNSWEEP_$(echo "$1" | tr '[:lower:]' '[:upper:]')_BIN at a prebuilt binary.
  Wanted: $(pin_of "$1") in $BIN_DIR"
  fi
}

build_one() { # build_one NAME -> builds into $BIN_DIR atomically, under a lock
  local name=$1 pkg_at lock tmpbin log start secs
  pkg_at=$(pin_of "$name")
  require_go "$name"
  mkdir -p "$BIN_DIR" "$LOG_DIR"
  lock=$CACHE/.build-$name.lock
  exec 9>"$lock"
  if ! flock -n 9; then
    info "another build of $name is running; waiting for it..."
    flock 9
  fi
  if is_current "$name"; then # built by whoever held the lock
    exec 9>&-
    return 0
  fi
  tmpbin=$(mktemp -d "$CACHE/.gobin.XXXXXX")
  log=$LOG_DIR/$name-build.log
  info "building $name ($pkg_at) with $(go env GOVERSION); log: $log"
  start=$(date +%s)
  if ! GOBIN=$tmpbin go install "$pkg_at" >"$log" 2>&1; then
    rm -rf "$tmpbin"
    exec 9>&-
    tail -n 30 "$log" >&2 || true
    die "building $name failed (full log: $log)"
  fi
  secs=$(($(date +%s) - start))
  mv -f "$tmpbin/$name" "$BIN_DIR/$name"
  rm -rf "$tmpbin"
  write_stamp "$name" "$secs" "built by servers.sh"
  exec 9>&-
  info "built $name in $(fmt_secs "$secs")"
}

describe() { # describe NAME -> one summary line on stdout
  local name=$1 stamp secs built how
  stamp=$(stamp_of "$name")
  secs=$(stamp_field "$stamp" build_seconds)
  built=$(stamp_field "$stamp" built_at)
  how=$2
  if [[ -n $secs ]]; then
    printf '%-8s %-40s %s (%s; build took %s, %s)\n' "$name" "$(version_of "$name")" "$BIN_DIR/$name" "$how" "$(fmt_secs "$secs")" "$built"
  else
    printf '%-8s %-40s %s (%s; build time unknown)\n' "$name" "$(version_of "$name")" "$BIN_DIR/$name" "$how"
  fi
}

cmd_ensure() {
  local names=("$@") name ov
  ((${#names[@]})) || names=(temporal minio)
  for name in "${names[@]}"; do
    pkg_of "$name" >/dev/null
    ov=$(override_of "$name")
    if [[ -n $ov ]]; then
      [[ -x $ov ]] || die "DYNSWEEP_$(echo "$name" | tr '[:lower:]' '[:upper:]')_BIN=$ov is not an executable file"
      printf '%-8s %-40s %s (from DYNSWEEP_%s_BIN; not built here)\n' "$name" "-" "$ov" "$(echo "$name" | tr '[:lower:]' '[:upper:]')"
      continue
    fi
    if is_current "$name"; then
      describe "$name" reused
    else
      if [[ -x $BIN_DIR/$name ]]; then info "$name in $BIN_DIR is not $(pin_of "$name"); rebuilding"; fi
      build_one "$name"
      describe "$name" built
    fi
  done
}

cmd_path() {
  (($# == 1)) || die "usage: servers.sh path temporal|minio"
  local name=$1 ov
  pkg_of "$name" >/dev/null
  ov=$(override_of "$name")
  if [[ -n $ov ]]; then
    [[ -x $ov ]] || die "DYNSWEEP_$(echo "$name" | tr '[:lower:]' '[:upper:]')_BIN=$ov is not an executable file"
    echo "$ov"
    return 0
  fi
  is_current "$name" || die "$name ($(pin_of "$name")) is not built in $BIN_DIR; run: infra/servers.sh ensure"
  echo "$BIN_DIR/$name"
}

# ---- development servers -------------------------------------------------------------------------------------------
DEV_DIR=${DYNSWEEP_DEV_DIR:-$REPO_ROOT/.dynsweep/dev}
T_PORT=${DYNSWEEP_TEMPORAL_PORT:-7233}
T_UI_PORT=${DYNSWEEP_TEMPORAL_UI_PORT:-8233}
M_PORT=${DYNSWEEP_MINIO_PORT:-9000}
M_CONSOLE_PORT=${DYNSWEEP_MINIO_CONSOLE_PORT:-9001}
BUCKET=${DYNSWEEP_BUCKET:-dynsweep}
PREFIX=${DYNSWEEP_PREFIX:-sweeps}
M_USER=${DYNSWEEP_MINIO_USER:-dynsweep}
REGION=us-east-1

BIND=${DYNSWEEP_BIND:-127.0.0.1}
HOST=$([[ $BIND == 0.0.0.0 ]] && echo 127.0.0.1 || echo "$BIND") # where clients on this machine connect

# The MinIO root password: $DYNSWEEP_MINIO_PASSWORD, else one made at random on the first start and kept with the
# data it protects (no password is committed anywhere).
minio_password() {
  if [[ -n ${DYNSWEEP_MINIO_PASSWORD:-} ]]; then
    echo "$DYNSWEEP_MINIO_PASSWORD"
    return
  fi
  local f=$DEV_DIR/minio.password
  if [[ ! -s $f ]]; then
    mkdir -p "$DEV_DIR"
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$f")
  fi
  cat "$f"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

running_pid() { # running_pid NAME -> prints pid when the recorded process is alive
  local f=$DEV_DIR/$1.pid pid
  [[ -f $f ]] || return 1
  pid=$(cat "$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

print_env() {
  local M_PASS
  M_PASS=$(minio_password)
  cat <<EOF
export TEMPORAL_ADDRESS=$HOST:$T_PORT
export TEMPORAL_NAMESPACE=default
export AWS_ENDPOINT_URL=http://$HOST:$M_PORT
export AWS_ACCESS_KEY_ID=$M_USER
export AWS_SECRET_ACCESS_KEY=$M_PASS
export AWS_REGION=$REGION
export SWEEP_STORE=s3://$BUCKET/$PREFIX
EOF
}

launch() { # launch NAME LOGFILE CMD... : new session (own process group), detached from this shell
  local name=$1 log=$2
  shift 2
  setsid "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$DEV_DIR/$name.pid"
}

wait_until() { # wait_until SECONDS DESCRIPTION NAME CMD...
  local secs=$1 what=$2 name=$3 deadline
  shift 3
  deadline=$(($(date +%s) + secs))
  until "$@" >/dev/null 2>&1; do
    if ! running_pid "$name" >/dev/null; then
      tail -n 20 "$DEV_DIR/$name.log" >&2 || true
      die "$name exited while starting (log: $DEV_DIR/$name.log)"
    fi
    (($(date +%s) < deadline)) || die "$what not ready after ${secs}s (log: $DEV_DIR/$name.log)"
    sleep 0.2
  done
}

cmd_start() {
  cmd_ensure >&2
  local tbin mbin t0 sa_args=() sa M_PASS
  M_PASS=$(minio_password)
  tbin=$(cmd_path temporal)
  mbin=$(cmd_path minio)
  mkdir -p "$DEV_DIR/minio-data" "$DEV_DIR/minio-certs"

  if running_pid temporal >/dev/null; then
    info "temporal already running (pid $(running_pid temporal))"
  else
    for p in "$T_PORT" "$T_UI_PORT"; do port_open "$p" && die "port $p is in use (set DYNSWEEP_TEMPORAL_PORT / DYNSWEEP_TEMPORAL_UI_PORT)"; done
    for sa in ${DYNSWEEP_SEARCH_ATTRIBUTES:-}; do sa_args+=(--search-attribute "$sa"); done
    t0=$(date +%s)
    launch temporal "$DEV_DIR/temporal.log" "$tbin" server start-dev --ip "$BIND" --port "$T_PORT" --ui-port "$T_UI_PORT" \
      --db-filename "$DEV_DIR/temporal.db" --log-level warn "${sa_args[@]}" \
      --dynamic-config-value matching.numTaskqueueReadPartitions=1 \
      --dynamic-config-value matching.numTaskqueueWritePartitions=1
    wait_until 90 "temporal dev server" temporal \
      bash -c "'$tbin' operator cluster health --address $HOST:$T_PORT 2>/dev/null | grep -q SERVING"
    info "temporal ready in $(($(date +%s) - t0))s: $HOST:$T_PORT, UI http://$HOST:$T_UI_PORT"
  fi

  if running_pid minio >/dev/null; then
    info "minio already running (pid $(running_pid minio))"
  else
    for p in "$M_PORT" "$M_CONSOLE_PORT"; do port_open "$p" && die "port $p is in use (set DYNSWEEP_MINIO_PORT / DYNSWEEP_MINIO_CONSOLE_PORT)"; done
    t0=$(date +%s)
    launch minio "$DEV_DIR/minio.log" env MINIO_ROOT_USER="$M_USER" MINIO_ROOT_PASSWORD="$M_PASS" MINIO_UPDATE=off \
      MINIO_CI_CD=1 "$mbin" server "$DEV_DIR/minio-data" --address "$BIND:$M_PORT" \
      --console-address "$BIND:$M_CONSOLE_PORT" --certs-dir "$DEV_DIR/minio-certs" --quiet
    wait_until 60 "minio" minio curl -fsS "http://$HOST:$M_PORT/minio/health/ready"
    info "minio ready in $(($(date +%s) - t0))s: http://$HOST:$M_PORT, console http://$HOST:$M_CONSOLE_PORT"
  fi

  # Create the bucket (idempotent: 409 BucketAlreadyOwnedByYou is fine). curl signs with SigV4 itself; the
  # credentials go in on stdin, not on a command line other users could read.
  local code
  code=$(printf 'user = "%s:%s"\n' "$M_USER" "$M_PASS" | curl -sS -K - -o "$DEV_DIR/.mkbucket.out" -w '%{http_code}' -X PUT \
    --aws-sigv4 "aws:amz:$REGION:s3" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "http://$HOST:$M_PORT/$BUCKET") || code=000
  case $code in
    200 | 409) ;;
    *) cat "$DEV_DIR/.mkbucket.out" >&2 || true; die "creating bucket '$BUCKET' failed (HTTP $code)" ;;
  esac

  (umask 077 && print_env >"$DEV_DIR/env.sh") # it holds the MinIO password
  info "state in $DEV_DIR; to use: eval \"\$(infra/servers.sh env)\"  (or: source $DEV_DIR/env.sh)"
  print_env
}

stop_one() {
  local name=$1 pid i
  if ! pid=$(running_pid "$name"); then
    rm -f "$DEV_DIR/$name.pid"
    info "$name not running"
    return 0
  fi
  # The server is its own process-group leader (setsid): signal the whole group so no child is left behind.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null; then
    info "$name did not stop within 10s; killing"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$DEV_DIR/$name.pid"
  info "$name stopped"
}

cmd_stop() {
  stop_one temporal
  stop_one minio
}

cmd_status() {
  local name pid rc=0
  for name in temporal minio; do
    if pid=$(running_pid "$name"); then echo "$name running (pid $pid)"; else echo "$name stopped"; rc=3; fi
  done
  return $rc
}

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    ensure) cmd_ensure "$@" ;;
    path) cmd_path "$@" ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) print_env ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
