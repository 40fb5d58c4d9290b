#!/usr/bin/env bash
# The gateway benchmark: the model-server simulator measured directly, through nginx and
# through the inference gateway, with the same request, connections and duration.
# What it measures and how is described in docs/benchmarks.md.
#
# usage: bash bench/gateway.sh [--duration 10] [--connections 64] [--threads N] [--workers N]
#                              [--streams 1000] [--out FILE] [--skip-build] [--no-gateway]
#
#   --duration S      seconds of each wrk run and of each 50 %-load run (default 10)
#   --connections C   keep-alive connections of every load run (default 64)
#   --threads N       wrk threads and load-generator threads (default: number of CPUs)
#   --workers N       gateway worker threads = nginx worker processes (default: number of CPUs)
#   --streams N       concurrent SSE streams of the streaming run (default 1000)
#   --out FILE        also write the Markdown report to FILE
#   --skip-build      use the release examples already built
#   --no-gateway      measure only direct and nginx (for instance before the gateway exists)
#
# Installs nginx and wrk from Debian when they are missing. Everything it writes goes to a
# temporary directory that is removed at the end, with every process it started.
set -euo pipefail

DURATION=10
CONNECTIONS=64
THREADS=$(nproc)
WORKERS=$(nproc)
STREAMS=1000
STREAM_TOKENS=100
OUT=""
SKIP_BUILD=0
GATEWAY=1

usage() { sed -n '6,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
die() {
  echo "gateway.sh: $*" >&2
  exit 1
}
note() { echo "==> $*" >&2; }
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive integer, got '$2'"; }

while (($#)); do
  case $1 in
  --duration | --connections | --threads | --workers | --streams | --out)
    (($# >= 2)) || die "$1 needs a value"
    case $1 in
    --duration) DURATION=$2 ;;
    --connections) CONNECTIONS=$2 ;;
    --threads) THREADS=$2 ;;
    --workers) WORKERS=$2 ;;
    --streams) STREAMS=$2 ;;
    --out) OUT=$2 ;;
    esac
    shift 2
    ;;
  --skip-build) SKIP_BUILD=1 && shift ;;
  --no-gateway) GATEWAY=0 && shift ;;
  -h | --help) usage && exit 0 ;;
  *)
    usage >&2
    die "unknown argument '$1'"
    ;;
  esac
done
positive --duration "$DURATION"
positive --connections "$CONNECTIONS"
positive --threads "$THREADS"
positive --workers "$WORKERS"
positive --streams "$STREAMS"
((THREADS <= CONNECTIONS)) || THREADS=$CONNECTIONS # wrk needs a connection per thread

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[[ -z $OUT || $OUT == /* ]] || OUT="$PWD/$OUT"

# Two sockets per stream through the gateway, and more for the load generators.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= 4 * STREAMS)) || note "warning: only $(ulimit -n) file descriptors for $STREAMS streams"

# --- tools ------------------------------------------------------------------------------

SUDO=()
((EUID == 0)) || SUDO=(sudo)
missing=()
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
if ((${#missing[@]})); then
  note "installing ${missing[*]} from Debian"
  apt_install() { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; }
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || ! apt_install; then
    "${SUDO[@]}" apt-get update
    apt_install
  fi
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if ((GATEWAY)) && [[ ! -f examples/gateway.rs ]]; then
  note "warning: examples/gateway.rs does not exist: measuring direct and nginx only"
  GATEWAY=0
fi
EXAMPLES=(--example model_sim --example sse_load)
((GATEWAY)) && EXAMPLES+=(--example gateway)
if ((!SKIP_BUILD)); then
  note "building ${EXAMPLES[*]} (release)"
  cargo build --release "${EXAMPLES[@]}"
fi
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
BIN="$TARGET_DIR/release/examples"
for example in "${EXAMPLES[@]}"; do
  [[ $example == --example ]] && continue
  [[ -x $BIN/$example ]] || die "$BIN/$example is missing: build it or drop --skip-build"
done

# --- processes ----------------------------------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gateway-bench.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop "$pid"; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
USED_PORTS=" "
free_port() {
  local port=$1
  while port_in_use "$port" || [[ $USED_PORTS == *" $port "* ]]; do port=$((port + 1)); done
  USED_PORTS+="$port "
  echo "$port"
}

# wait_port NAME PID PORT LOG: until PORT accepts connections, or fail if PID exits.
wait_port() {
  local name=$1 pid=$2 port=$3 log=$4 tries
  for ((tries = 0; tries < 300; tries++)); do
    port_in_use "$port" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$log" >&2 || true
      die "$name exited before listening on port $port"
    fi
    sleep 0.1
  done
  tail -n 20 "$log" >&2 || true
  die "$name does not listen on port $port after 30 s"
}

stop() {
  local pid=$1 tries
  kill "$pid" 2>/dev/null || return 0
  for ((tries = 0; tries < 50; tries++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

start_sim() { # start_sim PORT EXTRA-ARGS... ; sets SIM_PID
  "$BIN/model_sim" --host 127.0.0.1 --port "$1" "${@:2}" >"$TMP/sim-$1.log" 2>&1 &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  wait_port model_sim "$SIM_PID" "$1" "$TMP/sim-$1.log"
}

start_gateway() { # start_gateway NAME LISTEN-PORT METRICS-PORT SIM-PORT ; sets GW_PID, GW_CONFIG
  local name=$1
  GW_CONFIG="$TMP/$name.yaml"
  cat >"$GW_CONFIG" <<EOF
listen: 127.0.0.1:$2
metricsListen: 127.0.0.1:$3
workerThreads: $WORKERS
auth:
  issuer: https://bench.local
  audiences: [bench]
  sharedSecretFile: $TMP/secret
workloads:
  - project: bench
    name: sim
    access: { authorizationType: authenticatedUsers }
    replicas: [http://127.0.0.1:$4]
EOF
  "$BIN/gateway" --config "$GW_CONFIG" >"$TMP/$name.log" 2>&1 &
  GW_PID=$!
  PIDS+=("$GW_PID")
  wait_port gateway "$GW_PID" "$2" "$TMP/$name.log"
  wait_port "gateway metrics" "$GW_PID" "$3" "$TMP/$name.log"
}

# --- /proc sampling -------------------------------------------------------------------------

CLK_TCK=$(getconf CLK_TCK)

children() { # the direct children of $1
  local file stat fields
  for file in /proc/[0-9]*/stat; do
    read -r stat <"$file" 2>/dev/null || continue
    read -ra fields <<<"${stat##*) }"
    [[ ${fields[1]} == "$1" ]] || continue
    file=${file#/proc/}
    echo "${file%/stat}"
  done
}

cpu_ticks() { # user + system clock ticks of the processes $@
  local pid stat fields total=0
  for pid in "$@"; do
    read -r stat <"/proc/$pid/stat" 2>/dev/null || continue
    read -ra fields <<<"${stat##*) }"
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}

status_kb() { # status_kb FIELD PIDS...: the sum of a /proc/PID/status field (kB)
  local field=$1 pid key value total=0
  shift
  for pid in "$@"; do
    [[ -r /proc/$pid/status ]] || continue
    while read -r key value _; do
      [[ $key == "$field:" ]] && total=$((total + value))
    done <"/proc/$pid/status"
  done
  echo "$total"
}

reset_peak_rss() { # start the kernel's peak-RSS mark (VmHWM) afresh, where allowed
  local pid
  for pid in "$@"; do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
}

now() { date +%s.%N; }

# --- measuring ------------------------------------------------------------------------------

BODY='{"model":"sim-model","messages":[{"role":"user","content":"Say hello to the benchmark."}],"max_tokens":16}'
STREAM_BODY="{\"model\":\"sim-model\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello to the benchmark.\"}],\"max_tokens\":$STREAM_TOKENS,\"stream\":true}"
AUTH_HEADER=()

write_lua() {
  {
    echo 'wrk.method = "POST"'
    echo "wrk.body = '$BODY'"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    [[ -z ${TOKEN:-} ]] || echo "wrk.headers[\"Authorization\"] = \"Bearer $TOKEN\""
  } >"$TMP/request.lua"
}

# to_us VALUE-WITH-UNIT: wrk's "812.00us", "1.25ms", "1.01s", "1.50m" in microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 1 : (u == "ms") ? 1e3 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : (u == "h") ? 3.6e9 : -1
    if (f < 0) print "nan"; else printf "%.0f", n * f }'
}

# json_value FILE [OBJECT.]KEY: a number from sse_load's one-line JSON.
json_value() {
  local file=$1 path=$2 scope
  if [[ $path == *.* ]]; then
    scope=$(grep -o "\"${path%%.*}\":{[^}]*}" "$file" || true)
  else
    scope=$(cat "$file")
  fi
  grep -o "\"${path##*.}\":[-0-9.e]*" <<<"$scope" | head -n 1 | cut -d: -f2 || true
}

# smoke NAME URL: a few requests that must all succeed before a target is measured.
smoke() {
  local name=$1 url=$2
  if ! "$BIN/sse_load" --mode rate --url "$url" --rate 50 --duration 1 --connections 2 --threads 1 \
    --body "$BODY" "${AUTH_HEADER[@]}" >"$TMP/smoke-$name.json" 2>&1 ||
    [[ $(json_value "$TMP/smoke-$name.json" errors) != 0 ]]; then
    cat "$TMP/smoke-$name.json" >&2
    return 1
  fi
}

declare -A RPS P50 P99 CPU RSS LOAD_P50 LOAD_P99 NOTES

# saturate NAME URL PIDS...: wrk at full speed; CPU and peak RSS of PIDS (the proxy) meanwhile.
saturate() {
  local name=$1 url=$2 file="$TMP/wrk-$1.txt" before after start end non2xx sockerr
  shift 2
  note "saturation: $name ($url)"
  reset_peak_rss "$@"
  before=$(cpu_ticks "$@")
  start=$(now)
  wrk --latency -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" -s "$TMP/request.lua" "$url" >"$file"
  end=$(now)
  after=$(cpu_ticks "$@")
  sed 's/^/    /' "$file" >&2
  RPS[$name]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$file")
  P50[$name]=$(to_us "$(awk '$1 == "50%" { print $2; exit }' "$file")")
  P99[$name]=$(to_us "$(awk '$1 == "99%" { print $2; exit }' "$file")")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$file")
  sockerr=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$file")
  [[ ${non2xx:-0} == 0 ]] || NOTES[$name]+=" ${non2xx} non-2xx responses at saturation;"
  [[ ${sockerr:-0} == 0 ]] || NOTES[$name]+=" ${sockerr} socket errors at saturation;"
  if (($#)); then
    CPU[$name]=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v s="$start" -v e="$end" \
      'BEGIN { c = t / hz; printf "%.0f %% of a core (%.1f s)", 100 * c / (e - s), c }')
    RSS[$name]=$(awk -v kb="$(status_kb VmHWM "$@")" 'BEGIN { printf "%.1f MiB", kb / 1024 }')
  fi
}

# at_rate NAME URL RATE: open-loop latency at a fixed rate.
at_rate() {
  local name=$1 url=$2 rate=$3 file="$TMP/rate-$1.json" errors
  note "fixed rate: $name at $rate requests/s"
  "$BIN/sse_load" --mode rate --url "$url" --rate "$rate" --duration "$DURATION" \
    --connections "$CONNECTIONS" --threads "$THREADS" --body "$BODY" "${AUTH_HEADER[@]}" >"$file" ||
    NOTES[$name]+=" the 50 %-load run failed;"
  sed 's/^/    /' "$file" >&2
  LOAD_P50[$name]=$(json_value "$file" latency_us.p50)
  LOAD_P99[$name]=$(json_value "$file" latency_us.p99)
  errors=$(json_value "$file" errors)
  [[ ${errors:-0} == 0 ]] || NOTES[$name]+=" ${errors} errors at 50 % load;"
  local achieved
  achieved=$(json_value "$file" achieved_rps)
  awk -v a="${achieved:-0}" -v r="$rate" 'BEGIN { exit !(a < 0.95 * r) }' &&
    NOTES[$name]+=" reached only ${achieved} of ${rate} requests/s at 50 % load;"
  return 0
}

declare -A TTFT50 TTFT99 TOTAL99 SOK STREAM_RSS COLD_TTFT99

# streams NAME URL [PID]: STREAMS streaming completions started together, twice: a first
# (cold) round that lets a proxy open its connections to the simulator, then the measured
# round. PID's peak RSS is its high-water mark since it started, both rounds included.
streams() {
  local name=$1 url=$2 round file
  for round in cold measured; do
    file="$TMP/sse-$name-$round.json"
    note "$STREAMS concurrent streams: $name ($round round)"
    "$BIN/sse_load" --mode sse --url "$url" --streams "$STREAMS" --threads "$THREADS" \
      --body "$STREAM_BODY" "${AUTH_HEADER[@]}" >"$file" || NOTES["$name streams"]+=" the $round round failed;"
    sed 's/^/    /' "$file" >&2
  done
  COLD_TTFT99[$name]=$(json_value "$TMP/sse-$name-cold.json" ttft_ms.p99)
  SOK[$name]="$(json_value "$file" ok) / $STREAMS"
  TTFT50[$name]=$(json_value "$file" ttft_ms.p50)
  TTFT99[$name]=$(json_value "$file" ttft_ms.p99)
  TOTAL99[$name]=$(json_value "$file" total_ms.p99)
  (($# < 3)) || STREAM_RSS[$name]=$(awk -v kb="$(status_kb VmHWM "$3")" 'BEGIN { printf "%.1f MiB", kb / 1024 }')
  return 0
}

# --- the run --------------------------------------------------------------------------------

SIM_PORT=$(free_port 18000)
NGINX_PORT=$(free_port 18100)
GW_PORT=$(free_port 18200)
GW_METRICS_PORT=$(free_port 18300)

note "simulator (zero delay) on port $SIM_PORT"
start_sim "$SIM_PORT" --ttft-ms 0 --itl-ms 0 --max-concurrency 0
SIM1_PID=$SIM_PID

note "nginx ($WORKERS worker processes) on port $NGINX_PORT"
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes $WORKERS;
worker_rlimit_nofile 65536;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
$( ((EUID == 0)) && echo "user root;")

events {
    worker_connections 16384;
}

http {
    access_log off;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;

    upstream sim {
        server 127.0.0.1:$SIM_PORT;
        keepalive 256;
        keepalive_requests 1000000;
    }

    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        keepalive_requests 1000000;

        location / {
            proxy_pass http://sim;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" >"$TMP/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_port nginx "$NGINX_PID" "$NGINX_PORT" "$TMP/nginx/error.log"
sleep 0.5 # the workers start after the listener
mapfile -t NGINX_PIDS < <(
  echo "$NGINX_PID"
  children "$NGINX_PID"
)
((${#NGINX_PIDS[@]} == WORKERS + 1)) || note "warning: nginx runs ${#NGINX_PIDS[@]} processes, expected $((WORKERS + 1))"

TOKEN=""
if ((GATEWAY)); then
  head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/secret"
  note "gateway ($WORKERS worker threads, JWT auth, metrics) on port $GW_PORT"
  start_gateway gateway "$GW_PORT" "$GW_METRICS_PORT" "$SIM_PORT"
  GW1_PID=$GW_PID
  TOKEN=$("$BIN/gateway" --config "$GW_CONFIG" mint-token --subject bench --ttl-s 86400 | tr -d '[:space:]') ||
    die "gateway mint-token failed"
  [[ $TOKEN =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || die "mint-token printed no JWT: '$TOKEN'"
  # Every target gets the same request bytes, the bearer token included.
  AUTH_HEADER=(--header "authorization: Bearer $TOKEN")
fi
write_lua

PATH_=/v1/chat/completions
declare -A URL=(
  [direct]="http://127.0.0.1:$SIM_PORT$PATH_"
  [nginx]="http://127.0.0.1:$NGINX_PORT$PATH_"
  [gateway]="http://127.0.0.1:$GW_PORT/bench/sim$PATH_"
)
TARGETS=(direct nginx)
((GATEWAY)) && TARGETS+=(gateway)
for target in "${TARGETS[@]}"; do
  smoke "$target" "${URL[$target]}" || die "requests to $target (${URL[$target]}) fail; see above"
done
if ((GATEWAY)); then
  # Without the token the gateway must refuse: the measured path includes authentication.
  "$BIN/sse_load" --mode rate --url "${URL[gateway]}" --rate 10 --duration 0.3 --connections 1 --threads 1 \
    --body "$BODY" >"$TMP/smoke-noauth.json" 2>&1 || true
  grep -q '"status 401"' "$TMP/smoke-noauth.json" || {
    cat "$TMP/smoke-noauth.json" >&2
    die "the gateway accepts requests without a token: is auth configured?"
  }
fi

saturate direct "${URL[direct]}"
saturate nginx "${URL[nginx]}" "${NGINX_PIDS[@]}"
if ((GATEWAY)); then
  saturate gateway "${URL[gateway]}" "$GW1_PID"
  # Metrics were on during the run: the admin listener must answer.
  metrics_ok() {
    exec 3<>"/dev/tcp/127.0.0.1/$GW_METRICS_PORT" || return 1
    printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    timeout 5 cat <&3 >"$TMP/gateway-metrics.txt" || true
    exec 3>&-
    head -n 1 "$TMP/gateway-metrics.txt" | grep -q ' 200'
  }
  metrics_ok || NOTES[gateway]+=" GET /metrics on the admin listener did not answer 200;"
fi

# Half the saturation of the slowest proxy: the same offered load for every target, and
# below every target's saturation, so the added latency is the proxy's, not a queue's.
SLOWEST=${RPS[nginx]}
if ((GATEWAY)); then
  SLOWEST=$(awk -v a="${RPS[nginx]}" -v b="${RPS[gateway]}" 'BEGIN { print (a < b ? a : b) }')
fi
RATE=$(awk -v r="$SLOWEST" 'BEGIN { printf "%d", r / 2 }')
((RATE > 0)) || die "the proxy runs measured no requests"
for target in "${TARGETS[@]}"; do at_rate "$target" "${URL[$target]}" "$RATE"; done

# Streaming: a simulator with a real token cadence, and a fresh gateway in front of it.
((GATEWAY)) && stop "$GW1_PID"
stop "$NGINX_PID"
stop "$SIM1_PID"
SIM2_PORT=$(free_port 18400)
note "simulator (TTFT 100 ms, 20 ms per token) on port $SIM2_PORT"
start_sim "$SIM2_PORT" --ttft-ms 100 --itl-ms 20 --max-concurrency $((STREAMS * 2))
streams direct "http://127.0.0.1:$SIM2_PORT$PATH_"
if ((GATEWAY)); then
  GW2_PORT=$(free_port 18500)
  GW2_METRICS_PORT=$(free_port 18600)
  start_gateway gateway-streams "$GW2_PORT" "$GW2_METRICS_PORT" "$SIM2_PORT"
  streams gateway "http://127.0.0.1:$GW2_PORT/bench/sim$PATH_" "$GW_PID"
fi

# --- the report -----------------------------------------------------------------------------

CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')
added() { # added A B: "+(A-B)", or — when either is missing
  awk -v a="${1:-}" -v b="${2:-}" -v d="${3:-0}" 'BEGIN {
    if (a == "" || b == "") { print "—"; exit }
    printf "%+." d "f", a - b }'
}
or_dash() { [[ -n ${1:-} ]] && echo "$1" || echo "—"; }

report() {
  echo "### Gateway benchmark, $(date -u +%Y-%m-%d)"
  echo
  echo "Machine: ${CPU_MODEL:-$(uname -m)}, $(nproc) cores, Linux $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Request: POST $PATH_ (non-streaming, max_tokens 16) to the simulator at zero delay;"
  echo "wrk with $THREADS thread(s), $CONNECTIONS connections, $DURATION s per target. Proxies: $NGINX_VERSION with"
  if ((GATEWAY)); then
    echo "$WORKERS worker process(es); the gateway with $WORKERS worker thread(s), JWT authentication and metrics."
  else
    echo "$WORKERS worker process(es); the gateway was not measured."
  fi
  echo "50 % load: $RATE requests/s (half the slower proxy's saturation rate), open loop, $CONNECTIONS connections, $DURATION s."
  echo "Latencies in µs; \"added\" is the proxy's percentile minus the direct one."
  echo
  echo "| target | requests/s | p50 | p99 | added p50 / p99 at saturation | p50 / p99 at 50 % load | added p50 / p99 at 50 % load | proxy CPU | proxy peak RSS |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  local target
  for target in "${TARGETS[@]}"; do
    local sat_added="—" load_added="—"
    if [[ $target != direct ]]; then
      sat_added="$(added "${P50[$target]}" "${P50[direct]}") / $(added "${P99[$target]}" "${P99[direct]}")"
      load_added="$(added "${LOAD_P50[$target]:-}" "${LOAD_P50[direct]:-}") / $(added "${LOAD_P99[$target]:-}" "${LOAD_P99[direct]:-}")"
    fi
    echo "| $target | ${RPS[$target]} | ${P50[$target]} | ${P99[$target]} | $sat_added |" \
      "$(or_dash "${LOAD_P50[$target]:-}") / $(or_dash "${LOAD_P99[$target]:-}") | $load_added |" \
      "$(or_dash "${CPU[$target]:-}") | $(or_dash "${RSS[$target]:-}") |"
  done
  ((GATEWAY)) || echo "| gateway | not measured (--no-gateway or no examples/gateway.rs) | | | | | | | |"
  echo
  echo "$STREAMS concurrent streaming completions (simulator: TTFT 100 ms, 20 ms per token, $STREAM_TOKENS tokens),"
  echo "each on its own connection opened beforehand, all sent together; TTFT from sending to the first"
  echo "token, in ms; the second of two rounds (the first lets the gateway open its connections):"
  echo
  echo "| path | streams ok | TTFT p50 | TTFT p99 | TTFT overhead p50 / p99 | total p99 | gateway peak RSS |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  echo "| direct | ${SOK[direct]} | ${TTFT50[direct]} | ${TTFT99[direct]} | — | ${TOTAL99[direct]} | — |"
  if ((GATEWAY)); then
    echo "| gateway | ${SOK[gateway]} | ${TTFT50[gateway]} | ${TTFT99[gateway]} |" \
      "$(added "${TTFT50[gateway]}" "${TTFT50[direct]}" 1) / $(added "${TTFT99[gateway]}" "${TTFT99[direct]}" 1) |" \
      "${TOTAL99[gateway]} | $(or_dash "${STREAM_RSS[gateway]:-}") |"
  else
    echo "| gateway | not measured | | | | | |"
  fi
  echo
  echo "First (cold) round: TTFT p99 direct $(or_dash "${COLD_TTFT99[direct]:-}") ms$( ((GATEWAY)) &&
    echo ", gateway $(or_dash "${COLD_TTFT99[gateway]:-}") ms")."
  if ((GATEWAY)); then
    echo
    awk -v g="${RPS[gateway]:-}" -v n="${RPS[nginx]:-}" -v a50="$(added "${LOAD_P50[gateway]:-}" "${LOAD_P50[direct]:-}")" \
      -v a99="$(added "${LOAD_P99[gateway]:-}" "${LOAD_P99[direct]:-}")" -v rss="${STREAM_RSS[gateway]:-}" \
      -v streams="$STREAMS" 'function verdict(known, met) { return !known ? "not measured" : met ? "met" : "**missed**" }
      BEGIN {
        printf "Targets: gateway/nginx requests/s %s (at least 1.0x, aim 1.2x: %s); ",
          (g != "" && n > 0 ? sprintf("%.2fx", g / n) : "—"), verdict(g != "" && n > 0, g >= n)
        printf "added latency at 50 %% load p50 %s µs (under 100: %s), p99 %s µs (under 1000: %s); ",
          a50, verdict(a50 != "—", a50 + 0 < 100), a99, verdict(a99 != "—", a99 + 0 < 1000)
        printf "%s concurrent streams: gateway peak RSS %s (under 100 MB: %s).\n",
          streams, (rss != "" ? rss : "—"), verdict(rss != "", (rss + 0) * 1048576 < 100e6) }'
  fi
  local key
  for key in "${!NOTES[@]}"; do echo "- note, $key:${NOTES[$key]}"; done
}

REPORT=$(report)
echo
echo "$REPORT"
[[ -z $OUT ]] || echo "$REPORT" >"$OUT"
