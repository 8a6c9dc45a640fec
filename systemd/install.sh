#!/usr/bin/env bash
# hubd installer for Raspberry Pi OS Bookworm 64-bit (Pi 4 and Pi 5). Run as root from a checkout:
#
#   sudo systemd/install.sh                        install, or upgrade in place
#   sudo systemd/install.sh --uninstall            remove service, venv, cache; keep state and config
#   sudo systemd/install.sh --uninstall --purge    also remove /var/lib/hubd, /etc/hubd and the user
#
# Idempotent: a second run changes nothing; an upgrade keeps /etc/hubd/config.toml and
# /var/lib/hubd. What it does, step by step, is in systemd/README.md.
#
# Options:  --root DIR (or HUBD_ROOT=DIR)  install into DIR as if it were / (tests, image staging)
#           --python PY                    interpreter the venv is made from (default /usr/bin/python3)
# For tests: HUBD_INSTALL_DRYRUN_CMDS=FILE (or 1 for $TMPDIR/hubd-install-commands.log) appends
#   every system-changing command (user/group tools, chown, apt-get, systemctl, udevadm,
#   raspi-config) to FILE instead of running it; commands meant to run as the service user
#   are recorded, then run as the caller. HUBD_INSTALL_PIP_ARGS adds pip arguments (e.g.
#   "--no-index --find-links DIR" to install from a wheelhouse on a Pi without internet).
set -euo pipefail
umask 022   # the venv and the unit must be readable by the service user whatever root's umask is

SERVICE_USER=hubd
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Groups as systemd/hubd.sysusers declares them, so the fallback and the checks never drift
# from it: its own groups (g lines, hubd-tech) and the user's memberships (m lines).
mapfile -t OWN_GROUPS < <(awk '$1 == "g" { print $2 }' "$SRC/systemd/hubd.sysusers" 2>/dev/null)
mapfile -t SERVICE_GROUPS < <(awk -v u="$SERVICE_USER" '$1 == "m" && $2 == u { print $3 }' \
    "$SRC/systemd/hubd.sysusers" 2>/dev/null)
PYTHON=/usr/bin/python3
ROOT=${HUBD_ROOT:-/}
MODE=install
PURGE=0

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$2; shift 2 ;;
        --root=*) ROOT=${1#--root=}; shift ;;
        --python) PYTHON=$2; shift 2 ;;
        --uninstall) MODE=uninstall; shift ;;
        --purge) PURGE=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ "$PURGE" = 1 ] && [ "$MODE" != uninstall ]; then
    echo "install.sh: --purge only goes with --uninstall" >&2; exit 2
fi

# R is the prefix of every target path: empty for a real install on /.
R=$(realpath -m "$ROOT"); [ "$R" = / ] && R=""
PREFIX=$R/opt/hubd
VENV=$PREFIX/venv
ETC=$R/etc/hubd
CONFIG=$ETC/config.toml
STATE=$R/var/lib/hubd
CACHE=$R/var/cache/hubd
NUMBA_CACHE=$CACHE/numba
UNIT=$R/etc/systemd/system/hubd.service
WANTS=$R/etc/systemd/system/multi-user.target.wants/hubd.service
SYSUSERS_CONF=$R/etc/sysusers.d/hubd.conf
UDEV_RULE=$R/etc/udev/rules.d/99-hubd-modem.rules
WATCHDOG_CONF=$R/etc/systemd/system.conf.d/hubd-watchdog.conf
I2C_MODULES_CONF=$R/etc/modules-load.d/hubd-i2c.conf
LOCAL_BIN=$R/usr/local/bin
# Options that point the user and systemd tools at the target root (none for a real install).
ROOT_OPT=() PREFIX_OPT=()
if [ -n "$R" ]; then ROOT_OPT=(--root="$R"); PREFIX_OPT=(--prefix "$R"); fi

DRYRUN=${HUBD_INSTALL_DRYRUN_CMDS:-}
[ "$DRYRUN" = 1 ] && DRYRUN=${TMPDIR:-/tmp}/hubd-install-commands.log
read -r -a PIP_EXTRA <<<"${HUBD_INSTALL_PIP_ARGS:-}"

declare -a CHANGES=() WARNINGS=()
PROJECT_CHANGED=0 UNIT_CHANGED=0 REBOOT_NEEDED=0 CONFIG_OK=1 FIRST_INSTALL=0

# ------------------------------------------------------------------ reporting
changed()   { CHANGES+=("$*"); printf '  + %s\n' "$*"; }
unchanged() { printf '  = %s\n' "$*"; }
note()      { printf '    %s\n' "$*"; }
warn()      { WARNINGS+=("$*"); printf '  ! %s\n' "$*" >&2; }
die()       { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
section()   { printf '%s\n' "$*"; }

# ------------------------------------------------------------------ the command seams
# Every command that changes the system outside plain files goes through here, so a test can
# record it instead (HUBD_INSTALL_DRYRUN_CMDS) and a reader sees at once what touches the system.
run_system() {
    if [ -n "$DRYRUN" ]; then
        record "$@"
        return 0
    fi
    "$@"
}

# One line per command in the dry-run log, each word quoted as a shell would need it.
record() { printf '%q ' "$@" | sed 's/ $//' >>"$DRYRUN"; echo >>"$DRYRUN"; }

# Runs a command as the service user with the unit's environment (not root's): the numba
# cache must belong to hubd, and the config check proves hubd can read its config. A dry
# run records it and runs it as the caller, so the venv's commands are still exercised.
run_as_service_user() {
    local envs=(env -i PATH=/usr/bin:/bin HOME=/var/lib/hubd LANG=C.UTF-8 "NUMBA_CACHE_DIR=$NUMBA_CACHE")
    if [ -n "$DRYRUN" ]; then
        printf 'as %s: ' "$SERVICE_USER" >>"$DRYRUN"
        record "${envs[@]}" "$@"
        (cd / && "${envs[@]}" "$@")
    elif [ -n "$R" ]; then
        (cd / && "${envs[@]}" "$@")   # a staged root has no users of its own to switch to
    else
        (cd / && runuser -u "$SERVICE_USER" -- "${envs[@]}" "$@")
    fi
}

# ------------------------------------------------------------------ small file helpers
# Copy SRC to DEST with MODE only when the content or mode differs; status 0 = changed.
install_if_changed() {
    local src=$1 dest=$2 mode=$3
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        [ "$(stat -c %a "$dest")" = "${mode#0}" ] && return 1
        chmod "$mode" "$dest"; return 0
    fi
    mkdir -p "$(dirname "$dest")"
    cp "$src" "$dest.tmp.$$" && chmod "$mode" "$dest.tmp.$$" && mv -f "$dest.tmp.$$" "$dest"
}

# Write stdin to DEST (same rules as install_if_changed).
write_if_changed() {
    local dest=$1 mode=$2 tmp
    tmp=$(mktemp)
    cat >"$tmp"
    local status=0
    install_if_changed "$tmp" "$dest" "$mode" || status=$?
    rm -f "$tmp"
    return "$status"
}

# The service user's numeric ids as the target root knows them (empty while it has none).
service_uid() { awk -F: -v u="$SERVICE_USER" '$1 == u { print $3 }' "$R/etc/passwd" 2>/dev/null || true; }
service_gid() { awk -F: -v g="$SERVICE_USER" '$1 == g { print $3 }' "$R/etc/group" 2>/dev/null || true; }

# chown through the seam, only when the owner differs. Names resolve against the target root.
ensure_owner() {
    local path=$1 want_user=$2 uid gid want
    if [ "$want_user" = root ]; then uid=0; else uid=$(service_uid); fi
    gid=$(service_gid)
    if [ -n "$uid" ] && [ -n "$gid" ]; then
        want="$uid:$gid"
        [ "$(stat -c %u:%g "$path")" = "$want" ] && return 1
    else
        want="$want_user:$SERVICE_USER"   # the user does not exist yet (dry run): say it by name
    fi
    run_system chown "$want" "$path"
}

in_group() {  # in_group GROUP USER: USER is a listed member of GROUP in the target's /etc/group
    awk -F: -v g="$1" -v u="$2" '$1 == g { n = split($4, m, ","); for (i = 1; i <= n; i++) if (m[i] == u) found = 1 }
        END { exit !found }' "$R/etc/group" 2>/dev/null
}

# ------------------------------------------------------------------ install steps
check_sources() {
    local f
    for f in pyproject.toml README.md config.example.toml hubd/__init__.py systemd/hubd.service \
        systemd/hubd.sysusers systemd/99-hubd-modem.rules systemd/README.md; do
        [ -e "$SRC/$f" ] || die "$SRC/$f is missing: run install.sh from a hubd checkout (or unpacked source tree)"
    done
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null \
        || die "$PYTHON is not Python >= 3.9"
}

# Debian splits venv's ensurepip into python3-venv; Raspberry Pi OS Lite may not have it.
ensure_venv_module() {
    "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null && return 0
    if [ -z "$R" ] && [ -z "$DRYRUN" ] && command -v apt-get >/dev/null; then
        run_system apt-get install -y --no-install-recommends python3-venv
        changed "installed python3-venv (apt)"
        return 0
    fi
    die "$PYTHON cannot make a venv: apt-get install python3-venv"
}

# systemd-sysusers with systemd/hubd.sysusers when present, else useradd/usermod.
ensure_service_user() {
    section "service user"
    if install_if_changed "$SRC/systemd/hubd.sysusers" "$SYSUSERS_CONF" 0644; then
        changed "sysusers entry $SYSUSERS_CONF"
    fi
    local missing=() g
    grep -q "^$SERVICE_USER:" "$R/etc/passwd" 2>/dev/null || missing+=("user $SERVICE_USER")
    for g in "${OWN_GROUPS[@]}"; do
        grep -q "^$g:" "$R/etc/group" 2>/dev/null || missing+=("group $g")
    done
    for g in "${SERVICE_GROUPS[@]}"; do
        in_group "$g" "$SERVICE_USER" || missing+=("$SERVICE_USER in $g")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        unchanged "user $SERVICE_USER exists, in ${SERVICE_GROUPS[*]}"
        return
    fi
    if command -v systemd-sysusers >/dev/null; then
        # An explicit file is read from the host path as given, also with --root.
        run_system systemd-sysusers "${ROOT_OPT[@]}" "$SYSUSERS_CONF"
    else
        add_user_with_shadow_tools
    fi
    changed "created: $(printf "%s, " "${missing[@]}" | sed "s/, $//")"
}

add_user_with_shadow_tools() {
    local g
    for g in $(printf '%s\n' "${OWN_GROUPS[@]}" "${SERVICE_GROUPS[@]}" | sort -u); do
        if ! grep -q "^$g:" "$R/etc/group" 2>/dev/null; then
            run_system groupadd --system "${PREFIX_OPT[@]}" "$g"
        fi
    done
    if ! grep -q "^$SERVICE_USER:" "$R/etc/passwd" 2>/dev/null; then
        run_system useradd --system --user-group --no-create-home --home-dir /var/lib/hubd \
            --shell /usr/sbin/nologin --comment "hubd sensor hub" "${PREFIX_OPT[@]}" "$SERVICE_USER"
    fi
    run_system usermod --append --groups "$(IFS=,; echo "${SERVICE_GROUPS[*]}")" "${PREFIX_OPT[@]}" "$SERVICE_USER"
}

# The venv sees the OS's site-packages for one reason: lgpio. We use Raspberry Pi OS's
# python3-lgpio (preinstalled, built for the OS's own Python, maintained by Raspberry Pi for
# Pi 4 and Pi 5) rather than PyPI's lgpio, whose only binary wheel is cp311 manylinux_2_34
# aarch64: on any other Python pip falls back to a source build that needs swig, python3-dev
# and the C library (gpiozero#840, #1231). gpiozero>=2.0.1.post3 (Pi 5 gpiochip fix) is
# installed into the venv from PyPI and shadows the OS's python3-gpiozero. See systemd/README.md.
ensure_venv() {
    section "virtual environment $VENV"
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c '' 2>/dev/null; then
        unchanged "venv exists ($("$VENV/bin/python" -V))"
        return
    fi
    ensure_venv_module
    mkdir -p "$PREFIX"
    "$PYTHON" -m venv --clear --system-site-packages "$VENV"
    changed "created venv from $PYTHON ($("$VENV/bin/python" -V), --system-site-packages for python3-lgpio)"
}

# A hash of everything that goes into the hubd wheel; an unchanged tree is not reinstalled.
source_fingerprint() {
    (cd "$SRC" && find pyproject.toml README.md hubd -type f ! -path '*/__pycache__/*' ! -name '*.pyc' \
        | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
}

install_project() {
    local stamp=$VENV/.hubd-source.sha256 fingerprint build
    fingerprint=$(source_fingerprint)
    if [ -x "$VENV/bin/hubd" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$fingerprint" ]; then
        unchanged "hubd $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("hubd"))') already installed from this source"
        return
    fi
    # Build from a copy: pip builds in-tree and would leave root-owned build/ and egg-info in the checkout.
    build=$(mktemp -d)
    tar -C "$SRC" --exclude=__pycache__ --exclude='*.egg-info' --exclude=build -cf - pyproject.toml README.md hubd \
        | tar -x -C "$build"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input "${PIP_EXTRA[@]}" "$build"
    rm -rf "$build"
    echo "$fingerprint" >"$stamp"
    PROJECT_CHANGED=1
    changed "installed hubd $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("hubd"))') and its dependencies from $SRC"
}

# Importing lgpio creates its notification FIFO in LG_WD (else the CWD): probe in a scratch dir.
lgpio_location() {
    local scratch status=0
    scratch=$(mktemp -d)
    (cd "$scratch" && LG_WD=$scratch "$VENV/bin/python" -c 'import lgpio; print(lgpio.__file__)') 2>/dev/null || status=$?
    rm -rf "$scratch"
    return "$status"
}

ensure_lgpio() {
    local where
    if where=$(lgpio_location); then
        unchanged "lgpio importable in the venv ($where)"
        return
    fi
    if [ -n "$R" ]; then
        warn "lgpio is not importable in the venv: install python3-lgpio in the target system"
        return
    fi
    if command -v apt-get >/dev/null && run_system apt-get install -y --no-install-recommends python3-lgpio; then
        changed "installed python3-lgpio (apt)"
        return
    fi
    # Not Raspberry Pi OS (no python3-lgpio in its archive): PyPI's wheel, cp311 aarch64 only.
    if "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PIP_EXTRA[@]}" lgpio; then
        changed "installed lgpio from PyPI into the venv"
    else
        warn "no lgpio: neither python3-lgpio (apt) nor the PyPI wheel installed; GPIO will not work"
    fi
}

install_config() {
    section "configuration $CONFIG"
    mkdir -p "$ETC"
    if [ -e "$CONFIG" ] || [ -L "$CONFIG" ]; then
        unchanged "kept existing $CONFIG (never overwritten)"
    else
        # No clobbering even if another process creates it meanwhile: cp -n.
        cp -n "$SRC/config.example.toml" "$CONFIG"
        chmod 0640 "$CONFIG"
        FIRST_INSTALL=1
        changed "installed $CONFIG from config.example.toml (edit flat_id, modem, recipients, sensors)"
    fi
    [ -L "$CONFIG" ] && return 0   # a link to a config managed elsewhere: not ours to change
    # root:hubd 0640: the office's phone numbers are personal data, only the service reads them.
    if ensure_owner "$CONFIG" root; then changed "config owned by root:$SERVICE_USER"; fi
    if [ "$(stat -c %a "$CONFIG")" != 640 ]; then
        warn "$CONFIG has mode $(stat -c %a "$CONFIG") (0640 recommended; left as is)"
    fi
}

# I2C for the INA219/INA226/ADS1115 power sensors (GPIO2/3). raspi-config when on a live Pi,
# else dtparam=i2c_arm=on in config.txt once, plus the i2c-dev module for /dev/i2c-*.
enable_i2c() {
    section "I2C"
    if [ -z "$R" ] && command -v raspi-config >/dev/null; then
        if [ "$(raspi-config nonint get_i2c)" = 0 ]; then
            unchanged "I2C already enabled (raspi-config)"
        else
            run_system raspi-config nonint do_i2c 0
            REBOOT_NEEDED=1
            changed "enabled I2C (raspi-config nonint do_i2c 0)"
        fi
        return
    fi
    local txt="" candidate
    for candidate in "$R/boot/firmware/config.txt" "$R/boot/config.txt"; do   # Bookworm, then older
        if [ -f "$candidate" ]; then txt=$candidate; break; fi
    done
    if [ -z "$txt" ]; then
        unchanged "no config.txt under $R/boot (not a Raspberry Pi image?): I2C left alone"
        return
    fi
    if grep -Eq '^[[:space:]]*dtparam=([^#]*,)?i2c_arm(=on)?([,[:space:]]|$)' "$txt"; then
        unchanged "I2C already on in $txt"
    else
        # [all]: appended lines would otherwise belong to whatever [pi4]/[cm5] section ends the file.
        printf '\n# hubd: I2C for the appliance power sensors\n[all]\ndtparam=i2c_arm=on\n' >>"$txt"
        REBOOT_NEEDED=1
        changed "added dtparam=i2c_arm=on to $txt"
    fi
    if grep -qsx 'i2c-dev' "$R/etc/modules" "$R"/etc/modules-load.d/*.conf; then
        unchanged "i2c-dev module already loaded at boot"
    else
        printf 'i2c-dev\n' | write_if_changed "$I2C_MODULES_CONF" 0644 || true
        changed "load i2c-dev at boot ($I2C_MODULES_CONF)"
    fi
}

install_unit_and_files() {
    section "systemd unit and files"
    if install_if_changed "$SRC/systemd/hubd.service" "$UNIT" 0644; then
        UNIT_CHANGED=1; changed "unit $UNIT"
    else
        unchanged "unit $UNIT"
    fi
    if install_if_changed "$SRC/systemd/99-hubd-modem.rules" "$UDEV_RULE" 0644; then
        changed "udev rule keeping ModemManager off the modem ($UDEV_RULE)"
        if [ -z "$R" ]; then
            run_system udevadm control --reload-rules
            run_system udevadm trigger --subsystem-match=tty --action=change
        fi
    else
        unchanged "udev rule $UDEV_RULE"
    fi
    install_watchdog_dropin
    local doc
    for doc in systemd/README.md config.example.toml; do
        if install_if_changed "$SRC/$doc" "$PREFIX/$(basename "$doc")" 0644; then
            changed "$PREFIX/$(basename "$doc")"
        fi
    done
    local tool
    for tool in hubd hubctl; do
        if [ "$(readlink "$LOCAL_BIN/$tool" 2>/dev/null)" != "/opt/hubd/venv/bin/$tool" ]; then
            mkdir -p "$LOCAL_BIN"
            ln -sfn "/opt/hubd/venv/bin/$tool" "$LOCAL_BIN/$tool"
            changed "$LOCAL_BIN/$tool -> /opt/hubd/venv/bin/$tool"
        fi
    done
}

# The Pi's hardware watchdog (bcm2835_wdt, at most 15 s) reboots the board if systemd itself
# hangs; hubd's own WatchdogSec only covers the daemon. An admin's own setting wins.
install_watchdog_dropin() {
    local own
    own=$(grep -lsE '^[[:space:]]*RuntimeWatchdogSec=' "$R/etc/systemd/system.conf" \
        "$R"/etc/systemd/system.conf.d/*.conf | grep -v "$WATCHDOG_CONF" | head -n 1 || true)
    if [ -n "$own" ]; then
        unchanged "hardware watchdog already configured in $own"
        return
    fi
    if printf '%s\n' "# Installed by hubd's install.sh: the hardware watchdog (bcm2835_wdt, max 15 s)." \
        "[Manager]" "RuntimeWatchdogSec=14s" "RebootWatchdogSec=2min" | write_if_changed "$WATCHDOG_CONF" 0644; then
        REBOOT_NEEDED=1
        changed "hardware watchdog RuntimeWatchdogSec=14s ($WATCHDOG_CONF, active after reboot)"
    else
        unchanged "hardware watchdog drop-in $WATCHDOG_CONF"
    fi
}

# StateDirectory= and CacheDirectory= would create these at the first start; the numba cache
# has to exist before that, owned by hubd, so the installer can warm it as hubd.
prepare_directories() {
    section "state and cache"
    local dir mode before=${#CHANGES[@]}
    for dir in "$STATE:0750" "$CACHE:0755" "$NUMBA_CACHE:0755"; do
        mode=${dir##*:}; dir=${dir%:*}
        if [ ! -d "$dir" ]; then
            mkdir -p "$(dirname "$dir")"
            mkdir -m "$mode" "$dir"
            changed "created $dir"
        fi
        if ensure_owner "$dir" "$SERVICE_USER"; then changed "$dir owned by $SERVICE_USER"; fi
    done
    if [ ${#CHANGES[@]} -eq "$before" ]; then unchanged "$STATE, $CACHE and $NUMBA_CACHE in place"; fi
    if [ "$PROJECT_CHANGED" = 1 ] && [ -n "$(ls -A "$NUMBA_CACHE")" ]; then
        # Machine code compiled for the old sources is never reused: drop it.
        find "$NUMBA_CACHE" -mindepth 1 -delete
        changed "cleared the numba cache of the previous version"
    fi
}

# A few days of every kind of sensor, as `hubd replay` reads it (DESIGN.md's event CSV).
tiny_event_log() {
    local d h
    echo "time,sensor,kind,value"
    for d in 05 06 07 08; do
        [ "$d" = 05 ] || echo "2026-01-${d}T06:50:00,bed,presence,0"
        for h in 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21; do
            echo "2026-01-${d}T$h:05:00,hall_pir,motion,1"
            echo "2026-01-${d}T$h:06:00,hall_pir,motion,0"
            echo "2026-01-${d}T$h:30:00,fridge,door,1"
            echo "2026-01-${d}T$h:31:00,fridge,door,0"
            [ "$h" = 08 ] && echo "2026-01-${d}T$h:40:00,kettle,appliance,1500" \
                && echo "2026-01-${d}T$h:45:00,kettle,appliance,0"
            [ "$h" = 10 ] && echo "2026-01-${d}T$h:50:00,front_door,entrance,1" \
                && echo "2026-01-${d}T$h:51:00,front_door,entrance,0"
            [ "$h" = 12 ] && echo "2026-01-${d}T$h:55:00,ok_button,button,1"
        done
        echo "2026-01-${d}T22:00:00,bed,presence,1"
    done
}

# The first JIT on a Pi takes long enough to delay READY (and the watchdog): compile the
# detector kernels now, as hubd, into the unit's NUMBA_CACHE_DIR, through the same path the
# daemon takes (the engine, event by event). numba keys the cache on the CPU, so this must run
# on the Pi itself, not on a build machine.
warm_numba_cache() {
    section "numba cache $NUMBA_CACHE"
    if ! "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("hubd.detector.kernels") is None)' 2>/dev/null; then
        unchanged "no numba kernels in this build (hubd.detector.kernels): nothing to warm"
        return
    fi
    local why
    if ! why=$("$VENV/bin/python" -c 'import numba' 2>&1); then
        warn "numba cache not warmed: numba is not importable in the venv (${why##*$'\n'})"
        return
    fi
    local before after start secs out
    before=$(find "$NUMBA_CACHE" -type f | wc -l)
    start=$(date +%s)
    if ! out=$(tiny_event_log | run_as_service_user "$VENV/bin/python" -c "$WARM_PY" 2>&1); then
        # The engine's API moved: fall back to the CLI contract, which covers the event path only.
        note "restart path not warmed (${out##*$'\n'}): it compiles at the first restart"
        if ! out=$(tiny_event_log | run_as_service_user "$VENV/bin/hubd" replay - --json 2>&1 >/dev/null); then
            warn "numba cache warm-up failed, the first start will compile instead: ${out##*$'\n'}"
            return
        fi
    fi
    secs=$(($(date +%s) - start))
    after=$(find "$NUMBA_CACHE" -type f | wc -l)
    if [ "$after" -gt "$before" ]; then
        changed "numba kernels compiled into the cache as $SERVICE_USER in ${secs} s ($after files)"
    else
        unchanged "numba cache already warm ($after files, checked in ${secs} s)"
    fi
    out=$("$VENV/bin/python" -c "$UNCOMPILED_KERNELS_PY" "$NUMBA_CACHE" 2>/dev/null) || true
    if [ -n "$out" ]; then note "compiled at first use (not on the daemon's event path): $out"; fi
}

# What the daemon compiles: the event log on stdin replayed through the engine event by event
# with its ticks (as `hubd replay --per-event -` does), then a snapshot restored into a fresh
# engine (as at every start with saved state); then the bulk path `hubd replay` takes.
WARM_PY='
import io, sys
from hubd.config import parse_config
from hubd.core.engine import Engine
from hubd.events import EventReader
from hubd.replay.bulk import replay_log
from hubd.replay.loader import load_event_log
from hubd.replay.per_event import replay
config = parse_config({}, "(numba warm-up)")
text = sys.stdin.read()
events = list(EventReader(io.StringIO(text)))
engine = Engine(config)
replay(events, config, engine=engine)
snapshot = engine.snapshot(events[-1].mono, events[-1].local, "warm-up")
Engine(config).restore(snapshot, events[-1].mono, events[-1].local, "warm-up")
replay_log(load_event_log(text.encode()), config)  # the technician tool: `hubd replay` runs the bulk path
'

# Names of the kernels (numba dispatchers in hubd.detector.kernels) with no index in the cache.
UNCOMPILED_KERNELS_PY='
import os, sys
from numba.core.dispatcher import Dispatcher
from hubd.detector import kernels
cached = {name.split(".")[1].rsplit("-", 1)[0] for _, _, files in os.walk(sys.argv[1])
          for name in files if name.startswith("kernels.") and name.endswith(".nbi")}
print(", ".join(sorted(n for n, f in vars(kernels).items() if isinstance(f, Dispatcher) and n not in cached)))
'

check_config() {
    section "config check"
    local out
    if out=$(run_as_service_user "$VENV/bin/hubd" config check "$CONFIG" 2>&1); then
        note "$out"
    else
        CONFIG_OK=0
        warn "hubd config check failed: $out"
    fi
}

enable_service() {
    section "service"
    if [ "$UNIT_CHANGED" = 1 ] && [ -z "$R" ]; then
        run_system systemctl daemon-reload
    fi
    if [ -L "$WANTS" ] || [ -e "$WANTS" ]; then
        unchanged "hubd.service enabled"
    else
        run_system systemctl "${ROOT_OPT[@]}" enable hubd.service
        changed "enabled hubd.service (starts at boot)"
    fi
}

restart_if_upgraded() {
    # An upgrade of a running hub takes effect now, but only with a config the new code accepts.
    if [ -z "$R" ] && [ "$FIRST_INSTALL" = 0 ] && [ "$CONFIG_OK" = 1 ] \
        && { [ "$PROJECT_CHANGED" = 1 ] || [ "$UNIT_CHANGED" = 1 ]; }; then
        run_system systemctl try-restart hubd.service
        changed "restarted hubd.service if it was running"
    fi
}

print_summary() {
    echo
    if [ ${#CHANGES[@]} -eq 0 ]; then
        echo "hubd: nothing to do, the installation is up to date."
    else
        echo "hubd: ${#CHANGES[@]} change(s) made."
    fi
    if [ -n "$DRYRUN" ]; then echo "dry run: system commands were recorded in $DRYRUN, not run."; fi
    echo "  code  $VENV      config $CONFIG      state $STATE"
    echo "  cache $NUMBA_CACHE      logs: journalctl -u hubd"
    if [ "$FIRST_INSTALL" = 1 ]; then
        echo "next: edit $CONFIG (flat_id, modem port, recipients, sensors), then"
        echo "      hubd config check $CONFIG && systemctl start hubd && hubctl status"
        echo "      technicians: usermod -aG hubd-tech <login> to use hubctl"
    fi
    if [ "$REBOOT_NEEDED" = 1 ]; then echo "reboot to apply the I2C and watchdog settings."; fi
    if [ ${#WARNINGS[@]} -gt 0 ]; then
        echo "warnings:"; printf '  ! %s\n' "${WARNINGS[@]}"
    fi
    return 0
}

install_main() {
    check_sources
    echo "installing hubd from $SRC into ${R:-/}"
    ensure_service_user
    ensure_venv
    install_project
    ensure_lgpio
    install_config
    enable_i2c
    install_unit_and_files
    prepare_directories
    enable_service
    warm_numba_cache
    check_config
    restart_if_upgraded
    print_summary
    [ "$CONFIG_OK" = 1 ] || { echo "fix $CONFIG and run install.sh again" >&2; exit 1; }
}

# ------------------------------------------------------------------ uninstall
remove_path() {  # remove_path PATH WHAT: rm -rf with a report line
    if [ -e "$1" ] || [ -L "$1" ]; then
        rm -rf "$1"; changed "removed $2 $1"
    fi
}

uninstall_main() {
    echo "uninstalling hubd from ${R:-/}$([ "$PURGE" = 1 ] && echo ', purging state and config')"
    if [ -e "$UNIT" ] || [ -L "$WANTS" ]; then
        if [ -z "$R" ]; then
            run_system systemctl disable --now hubd.service
        else
            run_system systemctl --root="$R" disable hubd.service
        fi
        changed "stopped and disabled hubd.service"
    fi
    if [ -e "$UNIT" ]; then
        remove_path "$UNIT" "unit"
        if [ -z "$R" ]; then run_system systemctl daemon-reload; fi
    fi
    local tool
    for tool in hubd hubctl; do
        if [ "$(readlink "$LOCAL_BIN/$tool" 2>/dev/null)" = "/opt/hubd/venv/bin/$tool" ]; then
            remove_path "$LOCAL_BIN/$tool" "link"
        fi
    done
    remove_path "$PREFIX" "venv and docs"
    remove_path "$CACHE" "numba cache"
    if [ -e "$UDEV_RULE" ]; then
        remove_path "$UDEV_RULE" "udev rule"
        if [ -z "$R" ]; then run_system udevadm control --reload-rules; fi
    fi
    remove_path "$WATCHDOG_CONF" "watchdog drop-in (the hardware watchdog stays on until reboot)"
    if [ "$PURGE" = 1 ]; then
        remove_path "$STATE" "state"
        remove_path "$ETC" "configuration"
        remove_path "$SYSUSERS_CONF" "sysusers entry"
        if grep -q "^$SERVICE_USER:" "$R/etc/passwd" 2>/dev/null; then
            run_system userdel "${PREFIX_OPT[@]}" "$SERVICE_USER"
            changed "deleted user $SERVICE_USER"
        fi
        local g
        for g in "${OWN_GROUPS[@]}"; do
            if grep -q "^$g:" "$R/etc/group" 2>/dev/null; then
                run_system groupdel "${PREFIX_OPT[@]}" "$g"
                changed "deleted group $g"
            fi
        done
    else
        if [ -d "$STATE" ]; then echo "  kept state $STATE (--purge removes it)"; fi
        if [ -d "$ETC" ]; then echo "  kept configuration $ETC (--purge removes it)"; fi
        echo "  kept user $SERVICE_USER (owns the kept state)"
    fi
    echo "  left I2C enabled and the i2c-dev module (other devices may use them)"
    echo "hubd: ${#CHANGES[@]} change(s) made."
    if [ -n "$DRYRUN" ]; then echo "dry run: system commands were recorded in $DRYRUN, not run."; fi
}

# ------------------------------------------------------------------ main
if [ -z "$R" ] && [ -z "$DRYRUN" ] && [ "$(id -u)" != 0 ]; then
    die "run as root: sudo $0 $*"
fi
if [ "$MODE" = uninstall ]; then uninstall_main; else install_main; fi
