#!/bin/sh
# Install or upgrade LoanDesk from this offline bundle, without containers and without the
# network (docs/onprem.md). Run as root from the unpacked bundle:
#
#   ./install.sh [--root DIR] [--python PYTHON] [--user NAME]
#
#   --root DIR      install under DIR instead of / (staging, tests): no user is created,
#                   nothing is chowned, systemd is not reloaded. Default: /
#   --python PATH   the Python the virtualenv is made with; its version must be the bundle's.
#                   Default: pythonX.Y (the bundle's version), else python3.
#   --user NAME     the system user the services run as. Default: loandesk
#
# What it does, every time (an upgrade is this script run from the newer bundle):
#   - checks every file of the bundle against SHA256SUMS;
#   - creates the system user and group (once);
#   - /opt/loandesk/venv: a virtualenv, into which pip installs the bundle's wheels with
#     --no-index (never an index, never the network; pip's own configuration is ignored);
#   - /opt/loandesk/share/templates and tenants, /opt/loandesk/static (link to the package's
#     front-end assets, for nginx), /opt/loandesk/README.md;
#   - /etc/loandesk/loandesk.env from loandesk.env.example with new random keys, mode 0640,
#     only when it does not exist: never overwritten (the example is refreshed beside it);
#   - /var/lib/loandesk (instance folder, uploaded files) and /var/backups/loandesk;
#   - the systemd units in /etc/systemd/system, then `systemctl daemon-reload`;
#   - /usr/local/bin/loandesk: runs `loandesk` as the user, with the settings file.
# It starts, stops and enables nothing: the next steps are printed at the end.
set -eu
# What is installed is readable by the services' user and nginx, whatever root's umask is;
# the settings file is made private below.
umask 022

BUNDLE=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
ROOT=""
PYTHON=""
RUN_USER=loandesk

die() {
    echo "install.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
        --root) [ $# -ge 2 ] || die "--root needs a folder"; ROOT=$2; shift 2 ;;
        --root=*) ROOT=${1#--root=}; shift ;;
        --python) [ $# -ge 2 ] || die "--python needs a path"; PYTHON=$2; shift 2 ;;
        --python=*) PYTHON=${1#--python=}; shift ;;
        --user) [ $# -ge 2 ] || die "--user needs a name"; RUN_USER=$2; shift 2 ;;
        --user=*) RUN_USER=${1#--user=}; shift ;;
        -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
done

if [ -n "$ROOT" ]; then
    mkdir -p -- "$ROOT"
    ROOT=$(CDPATH='' cd -- "$ROOT" && pwd)
    [ "$ROOT" != / ] || ROOT=""
fi
if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
    die "run as root (or stage into a folder with --root DIR)"
fi

# --- the bundle ---------------------------------------------------------------------------
if [ ! -f "$BUNDLE/BUNDLE" ] || [ ! -d "$BUNDLE/wheels" ]; then
    die "$BUNDLE is not an unpacked LoanDesk bundle (no BUNDLE file or wheels/)"
fi
bundle_value() { sed -n "s/^$1=//p" "$BUNDLE/BUNDLE"; }
VERSION=$(bundle_value version)
PY_VERSION=$(bundle_value python)
if [ -z "$VERSION" ] || [ -z "$PY_VERSION" ]; then
    die "$BUNDLE/BUNDLE names no version or python"
fi

echo "LoanDesk $VERSION ($(bundle_value platform), Python $PY_VERSION) from $BUNDLE"
if command -v sha256sum >/dev/null 2>&1; then
    (cd "$BUNDLE" && sha256sum --quiet --strict -c SHA256SUMS) \
        || die "the bundle does not match its SHA256SUMS: copy it again"
    echo "checked: every file matches SHA256SUMS"
else
    echo "warning: sha256sum not found; the bundle's files were not checked" >&2
fi

# --- Python -------------------------------------------------------------------------------
if [ -z "$PYTHON" ]; then
    if command -v "python$PY_VERSION" >/dev/null 2>&1; then
        PYTHON=python$PY_VERSION
    else
        PYTHON=python3
    fi
fi
python_version() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}
FOUND=$(python_version "$PYTHON")
[ -n "$FOUND" ] || die "cannot run $PYTHON: install Python $PY_VERSION or name it with --python"
[ "$FOUND" = "$PY_VERSION" ] \
    || die "$PYTHON is Python $FOUND; this bundle's wheels are for Python $PY_VERSION"
GLIBC=$(bundle_value glibc)
if [ -n "$GLIBC" ]; then
    # the wheels' compiled code needs this glibc or newer (BUNDLE, from their platform tags)
    "$PYTHON" - "$GLIBC" <<'EOF' || die "the bundle's wheels need glibc $GLIBC or newer"
import os, sys
found = os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in os.confstr_names else None
if not found:
    sys.exit("this host's C library is not glibc")
have = tuple(int(p) for p in found.split()[-1].split(".")[:2])
need = tuple(int(p) for p in sys.argv[1].split(".")[:2])
if have < need:
    sys.exit(f"this host has glibc {found.split()[-1]}")
EOF
fi
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
    || die "$PYTHON cannot make a virtualenv (Debian/Ubuntu: apt-get install python$PY_VERSION-venv)"

for wheel in "$BUNDLE"/wheels/loandesk-*.whl; do
    [ -f "$wheel" ] || die "$BUNDLE/wheels holds no LoanDesk wheel"
done

# --- user and folders ---------------------------------------------------------------------
OPT=$ROOT/opt/loandesk
VENV=$OPT/venv
ETC=$ROOT/etc/loandesk
DATA=$ROOT/var/lib/loandesk
BACKUPS=$ROOT/var/backups/loandesk
UNITS=$ROOT/etc/systemd/system

if [ -z "$ROOT" ]; then
    if ! getent group "$RUN_USER" >/dev/null; then
        groupadd --system "$RUN_USER"
    fi
    if ! getent passwd "$RUN_USER" >/dev/null; then
        useradd --system --gid "$RUN_USER" --home-dir /var/lib/loandesk --no-create-home \
            --shell /usr/sbin/nologin --comment "LoanDesk" "$RUN_USER"
        echo "created the system user $RUN_USER"
    fi
fi

# owner GROUP MODE PATH...: chown only on a real install (not under --root)
own() {
    owner=$1 group=$2 mode=$3
    shift 3
    chmod "$mode" "$@"
    if [ -z "$ROOT" ]; then
        chown "$owner:$group" "$@"
    fi
}

mkdir -p "$OPT" "$ETC" "$DATA" "$BACKUPS" "$UNITS" "$ROOT/usr/local/bin"
own root root 0755 "$OPT"
own root "$RUN_USER" 0750 "$ETC"
own "$RUN_USER" "$RUN_USER" 0750 "$DATA" "$BACKUPS"

# --- the virtualenv, from the wheels only -------------------------------------------------
if [ -x "$VENV/bin/python" ] && [ "$(python_version "$VENV/bin/python")" != "$PY_VERSION" ]; then
    echo "the virtualenv is not Python $PY_VERSION: making it again"
    rm -rf -- "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
# Exactly the bundle's wheels: each distribution pinned to the version of its wheel (an
# upgrade or a downgrade to the bundle's; one already at that version is left alone).
# --no-index: pip looks at no index; PIP_CONFIG_FILE=/dev/null and --isolated keep any pip.conf
# or PIP_* variable (an index, more find-links, constraints) out.
PINS=$(mktemp)
trap 'rm -f -- "$PINS"' EXIT
count=0
for wheel in "$BUNDLE"/wheels/*.whl; do
    base=$(basename -- "$wheel" .whl)
    rest=${base#*-}
    echo "${base%%-*}==${rest%%-*}" >>"$PINS"
    count=$((count + 1))
done
echo "+ pip install --no-index --find-links $BUNDLE/wheels ($count wheels, each pinned)"
PIP_CONFIG_FILE=/dev/null "$VENV/bin/python" -m pip --isolated install \
    --no-index --find-links "$BUNDLE/wheels" --no-cache-dir --disable-pip-version-check \
    --quiet --requirement "$PINS" \
    || die "pip could not install the bundle's wheels"
# LoanDesk itself always from this bundle's wheel, even at an unchanged version number
PIP_CONFIG_FILE=/dev/null "$VENV/bin/python" -m pip --isolated install \
    --no-index --no-deps --force-reinstall --no-cache-dir --disable-pip-version-check \
    --quiet "$BUNDLE"/wheels/loandesk-*.whl \
    || die "pip could not install the LoanDesk wheel"
INSTALLED=$("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("loandesk"))')
[ "$INSTALLED" = "$VERSION" ] || die "the virtualenv has LoanDesk $INSTALLED, not $VERSION"
"$VENV/bin/loandesk" --help >/dev/null || die "the installed loandesk command does not start"
echo "installed LoanDesk $INSTALLED into $VENV"

# --- shared files: templates, the tenant-bundle schema, static assets, README --------------
replace_tree() { # SOURCE TARGET: TARGET becomes a copy of SOURCE
    rm -rf -- "$2.new"
    cp -R -- "$1" "$2.new"
    rm -rf -- "$2"
    mv -- "$2.new" "$2"
}
mkdir -p "$OPT/share"
replace_tree "$BUNDLE/share/templates" "$OPT/share/templates"
replace_tree "$BUNDLE/share/tenants" "$OPT/share/tenants"
cp -- "$BUNDLE/README.md" "$OPT/README.md"
cp -- "$BUNDLE/BUNDLE" "$OPT/BUNDLE"
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
STATIC=${SITE#"$OPT/"}/loandesk/web/static
[ -f "$OPT/$STATIC/css/loandesk.css" ] || die "the package has no static assets at $OPT/$STATIC"
ln -sfn -- "$STATIC" "$OPT/static"

# --- settings: written once, never overwritten --------------------------------------------
cp -- "$BUNDLE/loandesk.env.example" "$ETC/loandesk.env.example"
own root root 0644 "$ETC/loandesk.env.example"
ENV_FILE=$ETC/loandesk.env
if [ -e "$ENV_FILE" ]; then
    echo "kept $ENV_FILE (the new template is $ETC/loandesk.env.example)"
else
    key() { "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(48))'; }
    secret_key=$(key)
    master_key=$(key)
    (
        umask 077
        sed -e "s|@SECRET_KEY@|$secret_key|" -e "s|@MASTER_KEY@|$master_key|" \
            "$BUNDLE/loandesk.env.example" >"$ENV_FILE.new"
    )
    own root "$RUN_USER" 0640 "$ENV_FILE.new"
    mv -- "$ENV_FILE.new" "$ENV_FILE"
    echo "wrote $ENV_FILE with new random LOANDESK_SECRET_KEY and LOANDESK_MASTER_KEY"
    NEW_ENV=yes
fi

# --- systemd units ------------------------------------------------------------------------
for unit in "$BUNDLE"/systemd/*; do
    cp -- "$unit" "$UNITS/"
    own root root 0644 "$UNITS/$(basename -- "$unit")"
done
if [ -z "$ROOT" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload
fi

# --- /usr/local/bin/loandesk --------------------------------------------------------------
# The settings are read as root (the file is not the user's to change), then the command
# runs as the user. Under --root the paths are the staged ones and no user is switched to.
WRAPPER=$ROOT/usr/local/bin/loandesk.new
cat >"$WRAPPER" <<EOF
#!/bin/sh
# loandesk with the settings of $ETC/loandesk.env (written by install.sh).
set -eu
set -a
# shellcheck source=/dev/null
. "$ETC/loandesk.env"
set +a
cd "$DATA"
EOF
if [ -z "$ROOT" ]; then
    cat >>"$WRAPPER" <<EOF
if [ "\$(id -u)" = 0 ]; then
    exec runuser -u "$RUN_USER" -- "$VENV/bin/loandesk" "\$@"
fi
EOF
fi
echo "exec \"$VENV/bin/loandesk\" \"\$@\"" >>"$WRAPPER"
own root root 0755 "$WRAPPER"
mv -- "$WRAPPER" "$ROOT/usr/local/bin/loandesk"

# --- next steps ---------------------------------------------------------------------------
cat <<EOF

LoanDesk $VERSION is installed${ROOT:+ under $ROOT}. Next steps (docs/onprem.md):
EOF
if [ "${NEW_ENV:-}" = yes ]; then
    cat <<EOF
  1. Edit $ENV_FILE: the database URLs, LOANDESK_REDIS_URL,
     LOANDESK_BASE_URL. Copy LOANDESK_SECRET_KEY and LOANDESK_MASTER_KEY to your secret store.
  2. loandesk db upgrade
  3. loandesk tenant create --slug firm --name "..." --admin-email ... --admin-password -
  4. systemctl enable --now loandesk.target loandesk-web.service loandesk-scheduler.service \\
         loandesk-worker@1.service loandesk-worker@2.service loandesk-backup.timer
  5. nginx in front: TLS, /static/ from /opt/loandesk/static/, the rest to 127.0.0.1:8000.
EOF
else
    cat <<EOF
  Upgrade: systemctl restart loandesk.target
  (loandesk-migrate.service runs \`loandesk db upgrade\` before the web, workers and scheduler
  start again). Compare $ETC/loandesk.env with $ETC/loandesk.env.example for new settings.
EOF
fi
