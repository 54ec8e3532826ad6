#!/usr/bin/env bash
# Build cost of the `modellix` crate (debug profile).
#
#   benches/build_cost.sh            the crate's own build:
#     1. the build-script step (code generation from spec/) run on its own, 5 times;
#     2. a clean `cargo build` of the workspace in a fresh target directory;
#     3. an incremental build after touching a handwritten file (src/task.rs);
#     4. proof that touching src/lib.rs does not rerun the build script, and that
#        touching a spec fragment does (the control that the check can see a rerun).
#   benches/build_cost.sh readme     the README's first command, cold (build and run).
#   benches/build_cost.sh providers  (PROVIDERS=ring to pick one) a program that depends only on `modellix`, built
#     cold once per TLS crypto provider (default features = ring; then
#     `default-features = false, features = ["aws-lc-rs"]`), each in a fresh target
#     directory, with the crates compiled and the machine's load average.
#     BASELINE=<git revision> first builds the same program against that revision of
#     the crate (a git worktree, its own lock, its default features), so the figure
#     has its baseline from the same run (first, unless PROVIDERS names `baseline`
#     where it should go).
# Run: several minutes per cold build on 2 cores.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# A fresh, throw-away target directory, so the clean build is really clean and the
# caller's own target directory is left alone.
target=$(mktemp -d /tmp/modellix-build-cost.XXXXXX)
scratch=$(mktemp -d /tmp/modellix-build-out.XXXXXX)
trap 'rm -rf "$target" "$scratch"' EXIT
export CARGO_TARGET_DIR=$target

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

if [[ "${1:-}" == readme ]]; then
    # The README's first command, exactly, cold: a fresh target dir, offline, the lock.
    echo "# The README's first command, cold ($(rustc --version), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ))"
    echo "# command: benches/build_cost.sh readme"
    first=$(grep -m1 '^cargo run -p modellix-cli' README.md)
    out=$(mktemp -d /tmp/modellix-readme-out.XXXXXX)
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    start=$(now)
    status=0
    with_out="--sandbox run --out $out"
    (CARGO_NET_OFFLINE=true bash -c "${first/--sandbox run/$with_out}") >"$scratch/log" 2>&1 || status=$?
    took=$(since "$start")
    crates=$(grep -c '^ *Compiling ' "$scratch/log" || true)
    saved=$(find "$out" -name '*.mp4' | wc -l)
    [[ $status == 0 ]] || tail -n 5 "$scratch/log"
    echo "README first command: exit ${status}, ${took} s cold (build and run), ${crates} crates compiled, ${saved} MP4 saved, load average before ${load_before}, after $(cut -d' ' -f1-3 /proc/loadavg)"
    rm -rf "$out"
    exit 0
fi

if [[ "${1:-}" == providers ]]; then
    echo "# Cold build of a program depending only on modellix ($(rustc --version), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ))"
    echo "# command: benches/build_cost.sh providers"
    builds=${PROVIDERS:-ring aws-lc-rs}
    if [[ -n "${BASELINE:-}" ]]; then
        baseline_tree=$scratch/baseline
        git worktree add --detach "$baseline_tree" "$BASELINE" >/dev/null 2>&1
        trap 'git -C "$root" worktree remove --force "$baseline_tree" 2>/dev/null; rm -rf "$target" "$scratch"' EXIT
        # First unless PROVIDERS places it ("ring baseline").
        [[ " $builds " == *" baseline "* ]] || builds="baseline $builds"
    fi
    for provider in $builds; do
        app=$scratch/app-$provider
        mkdir -p "$app/src"
        crate=$root
        case $provider in
            baseline)
                crate=$baseline_tree
                dep="modellix = { path = \"$crate\" }" ;;
            ring) dep="modellix = { path = \"$root\" }" ;;
            *) dep="modellix = { path = \"$root\", default-features = false, features = [\"aws-lc-rs\"] }" ;;
        esac
        printf '[package]\nname = "app"\nversion = "0.0.0"\nedition = "2024"\n\n[dependencies]\n%s\n' \
            "$dep" >"$app/Cargo.toml"
        echo 'fn main() { let _ = modellix::Client::builder(); }' >"$app/src/main.rs"
        # The crate's own lock, so the builds use its versions and nothing is fetched.
        cp "$crate/Cargo.lock" "$app/Cargo.lock"
        rm -rf "$target"/*
        load_before=$(cut -d' ' -f1-3 /proc/loadavg)
        start=$(now)
        (cd "$app" && cargo build --offline) >"$scratch/log" 2>&1
        took=$(since "$start")
        crates=$(grep -c '^ *Compiling ' "$scratch/log" || true)
        providers=$(grep -oE 'Compiling (ring|aws-lc-[a-z]+) ' "$scratch/log" | cut -d' ' -f2 | tr '\n' ' ')
        label=$provider
        [[ $provider == baseline ]] && label="baseline ($BASELINE, its default features)"
        echo "$label: cold cargo build ${took} s, ${crates} crates compiled (crypto: ${providers}), load average before ${load_before}, after $(cut -d' ' -f1-3 /proc/loadavg)"
    done
    exit 0
fi

echo "# Build cost ($(rustc --version), $(nproc) cores, $(date -u +%Y-%m-%d))"
echo "# command: benches/build_cost.sh"

start=$(now)
cargo build --quiet
echo "clean cargo build (package modellix, debug):   $(since "$start") s"

# Only the root crate's script: modellix-<hash>, not modellix-codegen-<hash> etc.
script=$(find "$target/debug/build" -path '*/build/modellix-*/build-script-build' |
    grep -E '/build/modellix-[0-9a-f]+/build-script-build$' | head -n 1)
times=()
for _ in 1 2 3 4 5; do
    start=$(now)
    CARGO_MANIFEST_DIR=$root OUT_DIR=$scratch "$script" >/dev/null
    times+=("$(since "$start")")
done
echo "build script alone (5 runs, s):                 ${times[*]}"

touch src/task/record.rs
start=$(now)
cargo build --quiet
echo "incremental build after touch src/task/record.rs:      $(since "$start") s"

reruns() { grep -cE 'Running `[^`]*/build/modellix-[0-9a-f]+/build-script-build' || true; }
touch src/lib.rs
echo "build-script runs after touch src/lib.rs:       $(cargo build -v 2>&1 | reruns)"
touch "$(find spec -name '*.json' | head -n 1)"
echo "build-script runs after touching a spec file:   $(cargo build -v 2>&1 | reruns) (control)"
