#!/usr/bin/env bash
# README "Scale-out": PATCH throughput on one user with 8 clients, in one run, on 1 node with
# SQLite, 1 node with Redis and 2 nodes with Redis (a private redis-server on a free port).
# Usage: bench/directory/run-scale-out.sh [PATCHES]   (from the repository root; builds release)
set -euo pipefail
cd "$(dirname "$0")/../.."
patches="${1:-30000}"
cargo build --release -q -p scim-host -p scim-directory-bench
target="${CARGO_TARGET_DIR:-target}/release"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" >/dev/null &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
bench=("$target/directory-bench" --mode patch --patches "$patches" --serve-bin "$target/scim-host")
echo "== 1 node, SQLite"; "${bench[@]}"
redis-cli -p "$port" flushall >/dev/null
echo "== 1 node, Redis"; "${bench[@]}" --redis "redis://127.0.0.1:$port/0"
redis-cli -p "$port" flushall >/dev/null
echo "== 2 nodes, Redis"; "${bench[@]}" --redis "redis://127.0.0.1:$port/0" --nodes 2
