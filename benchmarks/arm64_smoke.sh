#!/usr/bin/env bash
# arm64 smoke test: does hubd run on the Raspberry Pi's architecture?  (not part of the test run)
#
# Builds an arm64 Debian bookworm root, runs it under user-mode emulation (qemu-aarch64-static,
# no binfmt_misc needed) exactly as ../shared/reference/arm64.md describes, installs the
# project's own wheels (hubd, hubsim) with aarch64 wheels of every dependency into an arm64
# venv, and runs on arm64:
#   1. hubd config check config.example.toml
#   2. hubd replay ../shared/data/kasteren_house_a.csv --json   (cold numba cache, then warm)
#   3. hubd sim: the daemon on simulated hardware to READY=1 (a real sd_notify datagram) and a
#      simulated inactivity alert reaching the simulated modem as an SMS
#   4. pytest tests/test_kernels.py (numba kernels against their slow references), if present
# It prints each step's wall time and the disk used, and exits non-zero on any failure.
#
# Host requirements: x86-64 Debian bookworm (or derivative), root (apt-get, debootstrap),
#   network to a Debian mirror and to PyPI, python3 with pip, ~1.1 GB free disk
#   (qemu-user-static 370 MB installed, root 266 MB, venv 303 MB, wheels 79 MB).
# Cost on 2 cores: first run 6-9 min (root, wheels and venv are then cached), later runs
#   ~4 min, mostly emulation (4-10x slower than native). Measured figures: docs/arm64.md.
#
# Usage: benchmarks/arm64_smoke.sh [--cache DIR] [--ref GIT_REV] [--cpu cortex-a72|cortex-a76]
#   --cache  where the root, the wheels and the venv are kept (default ~/.cache/hubd-arm64)
#   --ref    test a commit (git archive) instead of the working tree
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HELPERS="$REPO/benchmarks/arm64"
CACHE=${HUBD_ARM64_CACHE:-$HOME/.cache/hubd-arm64}
REF=""
CPU=cortex-a72   # Raspberry Pi 4; cortex-a76 for a Pi 5
MIRROR=http://deb.debian.org/debian
DATA="$REPO/../shared/data/kasteren_house_a.csv"
PLATFORMS=(--platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64)

while [ $# -gt 0 ]; do
    case "$1" in
        --cache) CACHE=$2; shift 2 ;;
        --ref) REF=$2; shift 2 ;;
        --cpu) CPU=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

ROOT="$CACHE/root"          # arm64 Debian bookworm (cached)
WHEELS="$CACHE/wheels"      # aarch64 wheels of the dependencies (cached)
VENV="$CACHE/venv"          # arm64 venv (cached; the project's wheels are reinstalled each run)
WORK="$CACHE/run"           # this run's sources, project wheels, logs, numba cache
export QEMU_CPU=$CPU NUMBA_CPU_NAME=$CPU
export GPIOZERO_PIN_FACTORY=mock PYTHONDONTWRITEBYTECODE=1
Q=(qemu-aarch64-static -L "$ROOT")

declare -a STEP_NAMES=() STEP_TIMES=() STEP_RESULTS=()
FAILED=0 STEP_STATUS=0

log() { printf '%s\n' "$*"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# Run one step, time it, keep its output in $WORK/logs/NAME.log and show the tail on failure.
# Always returns 0 and leaves the step's status in STEP_STATUS: called as a plain command (never
# left of || or &&), so `set -e` stays in force inside the step, which runs in the background.
step() {
    local name=$1; shift
    local logf="$WORK/logs/$name.log" start end secs status=0
    printf '%-22s ' "$name"
    start=$(date +%s.%N)
    "$@" >"$logf" 2>&1 &
    wait $! || status=$?
    end=$(date +%s.%N)
    secs=$(elapsed "$start" "$end")
    STEP_NAMES+=("$name"); STEP_TIMES+=("$secs")
    if [ "$status" -eq 0 ]; then
        STEP_RESULTS+=("ok"); printf '%7s s  ok   %s\n' "$secs" "$(tail -n 1 "$logf")"
    elif [ "$status" -eq 77 ]; then
        STEP_RESULTS+=("skipped"); printf '%7s s  skipped: %s\n' "$secs" "$(tail -n 1 "$logf")"
    else
        STEP_RESULTS+=("FAILED"); FAILED=1
        printf '%7s s  FAILED (exit %s), last lines of %s:\n' "$secs" "$status" "$logf"
        tail -n 15 "$logf" | sed 's/^/    /'
    fi
    STEP_STATUS=$status
}

# After a setup step: nothing later can run without it.
required() { [ "$STEP_STATUS" -eq 0 ] || { log "arm64 smoke test FAILED (setup)"; exit 1; }; }

# ---------------------------------------------------------------- host side
install_host_tools() {
    local missing=()
    command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    qemu-aarch64-static --version | head -n 1
}

# debootstrap's second stage needs to exec arm64 programs (binfmt); instead unpack every .deb.
build_arm64_root() {
    if [ -e "$ROOT/.hubd-unpacked" ]; then
        echo "cached root: $ROOT"; return 0
    fi
    rm -rf "$ROOT"
    debootstrap --arch=arm64 --foreign --variant=minbase \
        --include=python3,python3-venv,python3-pip bookworm "$ROOT" "$MIRROR"
    local deb
    for deb in "$ROOT"/var/cache/apt/archives/*.deb; do
        dpkg-deb -x "$deb" "$ROOT"
    done
    rm -f "$ROOT"/var/cache/apt/archives/*.deb   # 140 MB of packages no longer needed
    # qemu -L looks a path up in the root first: the root's own /dev/ptmx has no devpts
    # mounted beside it (openpty fails with ENODEV), so let /dev/ptmx and /dev/pts be the host's.
    rm -rf "$ROOT/dev/ptmx" "$ROOT/dev/pts"
    touch "$ROOT/.hubd-unpacked"
    echo "built root: $(du -sh "$ROOT" | cut -f1)"
}

# The sources under test: the working tree, or a commit with --ref.
snapshot_sources() {
    rm -rf "$WORK/src" "$WORK/dist"
    mkdir -p "$WORK/src" "$WORK/dist"
    local parts=(pyproject.toml README.md config.example.toml hubd hw-sim tests)
    if [ -n "$REF" ]; then
        git -C "$REPO" archive "$REF" "${parts[@]}" | tar -x -C "$WORK/src"
    else
        tar -C "$REPO" --exclude=__pycache__ --exclude='*.egg-info' --exclude=build -cf - "${parts[@]}" \
            | tar -x -C "$WORK/src"
    fi
    if [ -n "$REF" ]; then
        echo "sources: $REF = $(git -C "$REPO" rev-parse --short "$REF")"
    else
        echo "sources: working tree $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo '(not git)')"
    fi
}

# Pure-Python wheels (py3-none-any), built from the snapshot so the checkout gets no build/ dir.
build_project_wheels() {
    python3 -m pip wheel -q --no-deps -w "$WORK/dist" "$WORK/src" "$WORK/src/hw-sim"
    ls "$WORK/dist"
}

download_aarch64_wheels() {
    mkdir -p "$WHEELS"
    python3 -m pip download -q --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
        "${PLATFORMS[@]}" --find-links "$WORK/dist" -d "$WHEELS" \
        "$WORK"/dist/hubd-*.whl "$WORK"/dist/hubsim-*.whl pytest hypothesis
    rm -f "$WHEELS"/hubd-*.whl "$WHEELS"/hubsim-*.whl   # the project's own come from this run
    echo "$(ls "$WHEELS" | wc -l) wheels, $(du -sh "$WHEELS" | cut -f1)"
}

# ---------------------------------------------------------------- arm64 side (under qemu)
arm64_python() { "${Q[@]}" "$VENV/bin/python" "$@"; }

make_arm64_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        "${Q[@]}" "$ROOT/usr/bin/python3" -m venv --without-pip --system-site-packages "$VENV"
    fi
    arm64_python -m pip install -q --no-index --find-links "$WHEELS" --find-links "$WORK/dist" \
        hubd hubsim pytest hypothesis
    # Same version number every run: force the wheels just built in.
    arm64_python -m pip install -q --no-index --no-deps --force-reinstall "$WORK"/dist/*.whl
    arm64_python -c 'import platform, sys
from importlib.metadata import version
print(platform.machine(), "python", sys.version.split()[0],
      *(f"{name} {version(name)}" for name in ("numba", "llvmlite", "numpy", "gpiozero")))'
}

check_config() {
    arm64_python -m hubd config check "$WORK/src/config.example.toml"
}

# NUMBA_CACHE_DIR starts empty for the cold run and is reused by the warm one.
replay_kasteren() {
    local which=$1 out="$WORK/replay-$1.jsonl"
    [ "$which" = cold ] && rm -rf "$WORK/numba"
    NUMBA_CACHE_DIR="$WORK/numba" arm64_python -m hubd replay "$DATA" --json >"$out"
    python3 "$HELPERS/check_replay_json.py" "$out"
    [ "$which" = warm ] && cmp -s "$WORK/replay-cold.jsonl" "$out" && echo "identical to the cold run's output"
    echo "numba cache: $(find "$WORK/numba" -type f 2>/dev/null | wc -l) files; $(python3 "$HELPERS/check_replay_json.py" --summary "$out")"
}

# The daemon on simulated hardware; READY=1 must arrive on a real notify socket (listener on
# the host, so no arm64 program has to exec another), and the alarm SMS must reach the phone.
sim_to_sms() {
    local sock="$WORK/notify.sock" got="$WORK/notify.txt" listener status=0
    rm -rf "$sock" "$got" "$WORK/sim-state"
    python3 "$HELPERS/notify_listener.py" "$sock" "$got" &
    listener=$!
    python3 "$HELPERS/notify_listener.py" --wait "$sock"
    NOTIFY_SOCKET="$sock" NUMBA_CACHE_DIR="$WORK/numba" \
        arm64_python -m hubd sim --speed 20000 --quiet --detector fixed --wall-limit 900 --state "$WORK/sim-state" \
        >"$WORK/sim.out" 2>&1 || status=$?
    kill "$listener" 2>/dev/null || true
    wait "$listener" 2>/dev/null || true
    cat "$WORK/sim.out"
    [ "$status" -eq 0 ] || { echo "hubd sim exited $status"; return 1; }
    grep -q '^READY=1' "$got" || { echo "no READY=1 datagram from the daemon"; return 1; }
    grep -q 'done: the alarm reached the office' "$WORK/sim.out" || { echo "no alarm SMS reached the office phone"; return 1; }
    echo "READY=1 received; $(grep 'received SMS' "$WORK/sim.out" | tail -n 1 | cut -c1-100)"
}

kernel_tests() {
    if [ ! -f "$WORK/src/tests/test_kernels.py" ]; then
        echo "no tests/test_kernels.py in these sources"; return 77
    fi
    # The console script through qemu (not `python -m`, which would put the source tree first
    # on sys.path): the installed wheel is what is tested. Run in the snapshot, not the checkout.
    cd "$WORK/src"
    local status=0 out="$WORK/kernel_tests.out"
    NUMBA_CACHE_DIR="$WORK/numba" arm64_python "$VENV/bin/pytest" -p no:cacheprovider -rfE tests/test_kernels.py \
        >"$out" 2>&1 || status=$?
    cat "$out"
    echo "tests/test_kernels.py on arm64: $(grep -E '[0-9]+ (passed|failed|error)' "$out" | tail -n 1 | tr -d '=' | sed 's/^ *//; s/ *$//')"
    return "$status"
}

disk_use() {
    local qemu_kb
    qemu_kb=$(dpkg-query -W -f='${Installed-Size}' qemu-user-static 2>/dev/null || echo 0)
    printf 'disk: root %s, venv %s, wheels %s, this run %s, qemu-user-static %s MB\n' \
        "$(du -sh "$ROOT" | cut -f1)" "$(du -sh "$VENV" | cut -f1)" "$(du -sh "$WHEELS" | cut -f1)" \
        "$(du -sh "$WORK" | cut -f1)" "$((qemu_kb / 1024))"
}

main() {
    mkdir -p "$WORK/logs"
    # A neutral working directory: `python -m hubd` puts the CWD first on sys.path, and the
    # installed wheel, not the checkout, is what runs on arm64.
    cd "$WORK"
    local total_start; total_start=$(date +%s.%N)
    log "arm64 smoke test: cache $CACHE, QEMU_CPU=$QEMU_CPU NUMBA_CPU_NAME=$NUMBA_CPU_NAME"
    # Setup steps: nothing after them can run if one fails.
    step host_tools install_host_tools; required
    step arm64_root build_arm64_root; required
    step sources snapshot_sources; required
    step project_wheels build_project_wheels; required
    step aarch64_wheels download_aarch64_wheels; required
    step arm64_venv make_arm64_venv; required
    # Checks: each runs even if an earlier one failed.
    step config_check check_config
    step replay_cold replay_kasteren cold
    step replay_warm replay_kasteren warm
    step sim_to_sms sim_to_sms
    step kernel_tests kernel_tests
    local total; total=$(elapsed "$total_start" "$(date +%s.%N)")
    log ""
    disk_use
    log "total: ${total} s"
    if [ "$FAILED" -ne 0 ]; then
        log "arm64 smoke test FAILED"; exit 1
    fi
    log "arm64 smoke test passed"
}

main
