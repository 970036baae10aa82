#!/usr/bin/env bash
# Runs the benchmark workload (tests/fixtures/bench/workload.json) through the native Rust engine
# (criterion), the npm scim-patch package and the PyPI scim2-models package, one after the other,
# and prints a Markdown table of the medians and their ratios; then (unless --quick, when valgrind
# is installed) instructions per call natively and through the component, and the 100k-member
# group's add-one + remove-one-by-filter. See bench/compare/README.md.
#
#   bench/compare/run.sh [--quick]
#
# Dependencies go to a cache outside the source tree:
#   ${SCIM_COMPARE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scim-patch/compare}
#   node/      npm ci of node/package-lock.json
#   venv/      a virtualenv with python/requirements.txt
#   rust-result/  the helper printing the engine's result, built with the workspace's Cargo.lock
#   runs/TIMESTAMP/  each run's outputs and report.md
# Environment: CARGO_TARGET_DIR (default $HOME/.cache/scim-patch/target), PYTHON (python3), NODE (node).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scim-patch/target}"
python="${PYTHON:-python3}"
node="${NODE:-node}"
cache="${SCIM_COMPARE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scim-patch/compare}"
out="$cache/runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

if ((quick)); then
  criterion_args=(--warm-up-time 1 --measurement-time 2 --sample-size 20)
  node_args=(--samples 15 --batch 300 --warmup-ms 500)
  python_args=(--samples 10 --sample-ms 30 --warmup-ms 300)
else
  criterion_args=()
  node_args=(--samples 40 --batch 1000 --warmup-ms 2000)
  python_args=(--samples 30 --sample-ms 100 --warmup-ms 1000)
fi

step() { printf '\n== %s\n' "$*" >&2; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# ---- dependencies, each reinstalled only when its pins change ----

step "node: npm ci (scim-patch) in $cache/node"
mkdir -p "$cache/node"
node_stamp="$(hash_of "$here/node/package.json" "$here/node/package-lock.json")"
if [[ ! -d "$cache/node/node_modules" || "$(cat "$cache/node/.stamp" 2>/dev/null)" != "$node_stamp" ]]; then
  cp "$here/node/package.json" "$here/node/package-lock.json" "$cache/node/"
  (cd "$cache/node" && npm ci --no-audit --no-fund --loglevel=error) >&2
  echo "$node_stamp" >"$cache/node/.stamp"
fi

step "python: venv (scim2-models) in $cache/venv"
py_stamp="$(hash_of "$here/python/requirements.txt")-$("$python" -c 'import sys; print(sys.version.split()[0])')"
if [[ ! -x "$cache/venv/bin/python" || "$(cat "$cache/venv/.stamp" 2>/dev/null)" != "$py_stamp" ]]; then
  rm -rf "$cache/venv"
  "$python" -m venv "$cache/venv"
  "$cache/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/python/requirements.txt"
  echo "$py_stamp" >"$cache/venv/.stamp"
fi

# ---- the native engine's result, checked by report.py like the libraries' ----

step "rust: the engine's result for the workload"
helper="$cache/rust-result"
mkdir -p "$helper/src"
cp "$here/rust/src/main.rs" "$helper/src/main.rs"
sed "s|path = \"../../../guest/engine\"|path = \"$root/guest/engine\"|" "$here/rust/Cargo.toml" >"$helper/Cargo.toml"
cp "$root/Cargo.lock" "$helper/Cargo.lock" # the workspace's versions
failed=()
if ! cargo run --release --quiet --manifest-path "$helper/Cargo.toml" -- "$root/tests/fixtures/bench/workload.json" \
  >"$out/rust-result.json"; then
  failed+=("rust result")
fi

# ---- the benchmarks, one after the other ----

criterion="$CARGO_TARGET_DIR/criterion/workload"
marker="$out/.started" # report.py takes only the criterion estimates written after it
touch "$marker"

step "rust: cargo bench -p scim-patch --bench workload -- 'workload/' ${criterion_args[*]}"
if ! (cd "$root" && cargo bench -p scim-patch --bench workload -- 'workload/' "${criterion_args[@]}") >&2; then
  failed+=(rust)
fi

step "node: bench.mjs ${node_args[*]}"
"$node" --version >&2
if ! "$node" "$here/node/bench.mjs" --modules "$cache/node" "${node_args[@]}" >"$out/node.json"; then
  failed+=(node)
  rm -f "$out/node.json"
fi

step "python: bench.py ${python_args[*]}"
if ! "$cache/venv/bin/python" "$here/python/bench.py" "${python_args[@]}" >"$out/python.json"; then
  failed+=(python)
  rm -f "$out/python.json"
fi

# ---- instructions per call (callgrind, deterministic) and the 100k-member group ----

instructions() { # BIN ARGS...: (I(3000) - I(1000)) / 2000 for a loop taking its count first
  local bin=$1 lo hi
  shift
  # One run first, under valgrind too (its CPU has other features, so other cache keys), so
  # that both measured runs find the component in scim-host's compile cache (otherwise the
  # first pays for compiling it and the difference goes negative).
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 1 "$@" >/dev/null 2>&1
  lo=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 1000 "$@" 2>&1 | awk '/Collected/ {print $4}')
  hi=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 3000 "$@" 2>&1 | awk '/Collected/ {print $4}')
  echo $(((hi - lo) / 2000))
}
if command -v valgrind >/dev/null && ((!quick)); then
  step "instructions per call: callgrind on workload_loop and component_loop; the 100k-member group"
  (cd "$root" && cargo build --release -p scim-patch --example workload_loop &&
    cargo build --release -p scim-host --example component_loop) >&2
  loops="$CARGO_TARGET_DIR/release/examples"
  {
    echo
    echo "| instructions per call (callgrind) | native | component | component / native |"
    echo "|---|---:|---:|---:|"
    for args in "" small; do
      native=$(instructions "$loops/workload_loop" $args)
      component=$(instructions "$loops/component_loop" $args)
      ratio=$(awk -v c="$component" -v n="$native" 'BEGIN { printf "%.2f", c / n }')
      echo "| ${args:-workload} | $native | $component | ${ratio}x |"
    done
    echo
    echo "100k-member group, add one + remove one by filter (native, mean of 10):"
    "$loops/workload_loop" 10 100000
  } >"$out/instructions.md"
fi

# ---- the report ----

step "report ($out/report.md)"
report_args=(--criterion "$criterion" --newer-than "$marker" --rust-result "$out/rust-result.json" --json "$out/report.json")
[[ -f "$out/node.json" ]] && report_args+=(--node "$out/node.json")
[[ -f "$out/python.json" ]] && report_args+=(--python "$out/python.json")
status=0
"$cache/venv/bin/python" "$here/report.py" "${report_args[@]}" >"$out/report.md" || status=$?
echo >&2
cat "$out/report.md"
[[ -f "$out/instructions.md" ]] && cat "$out/instructions.md"
if ((${#failed[@]})); then
  echo "run.sh: failed: ${failed[*]}" >&2
  exit 1
fi
exit "$status"
