#!/bin/sh
# Fuzzes one target with afl.rs: ./run.sh TARGET SECONDS  (TARGET: apply, path or filter).
# Builds the targets, writes seeds from the fixture corpus, runs afl-fuzz at low priority, prints
# the summary. Findings land in out/TARGET/default/{crashes,hangs}.
set -eu
cd "$(dirname "$0")"
target=$1
seconds=${2:-1800}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo afl build --release
[ -d seeds/"$target" ] || python3 seeds.py
export AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
mkdir -p out
resume=seeds/"$target"
[ -d out/"$target"/default/queue ] && resume=-
nice -n 10 cargo afl fuzz -i "$resume" -o out/"$target" -V "$seconds" "$CARGO_TARGET_DIR"/release/"$target"
cat out/"$target"/default/fuzzer_stats
