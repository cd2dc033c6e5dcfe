#!/usr/bin/env bash
# Installs `connect` from this checkout, and with --test-deps what its test
# suite needs. Safe to run again: every step checks before it acts.
#
#   ./install.sh               build and install the `connect` binary (cargo install)
#   ./install.sh --test-deps   also install the Debian packages and npm modules the tests use
#                              (redis-server, postgresql, pgbouncer, git, python3, nodejs/npm, chromium)
#   ./install.sh --test-deps --no-binary
#                              only the test dependencies (what CI needs before `cargo test`)
#   ./install.sh --bench-deps  also install the benchmark tools (wrk, hyperfine, nginx, nodemon)
set -euo pipefail

cd "$(dirname "$0")"

want_binary=1
want_test=0
want_bench=0
for arg in "$@"; do
  case "$arg" in
    --test-deps) want_test=1 ;;
    --bench-deps) want_bench=1 ;;
    --no-binary) want_binary=0 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "install.sh: cargo is not installed. Install the Rust toolchain first:" >&2
    echo "  https://rustup.rs  (then open a new shell, or run: source \"\$HOME/.cargo/env\")" >&2
    exit 1
  fi
fi

# Debian packages, installed only when a command they provide is missing.
apt_packages=()
need() { command -v "$1" >/dev/null 2>&1 || apt_packages+=("$2"); }
# Debian keeps PostgreSQL's server programs off the PATH.
have_initdb() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
if [ "$want_test" = 1 ]; then
  need redis-server redis-server
  have_initdb || apt_packages+=(postgresql)
  need psql postgresql-client
  # Debian keeps it in /usr/sbin, off a user's PATH.
  command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || apt_packages+=(pgbouncer)
  need git git
  need python3 python3
  need node nodejs
  need npm npm
  need chromium chromium
  # Without a recommended font package, text in the browser test's screenshots is unreadable.
  case " ${apt_packages[*]-} " in *" chromium "*) apt_packages+=(fonts-liberation) ;; esac
fi
if [ "$want_bench" = 1 ]; then
  need wrk wrk
  need hyperfine hyperfine
  need nginx nginx
  need curl curl
  need openssl openssl
  need python3 python3
  need redis-server redis-server
  have_initdb || apt_packages+=(postgresql)
  need node nodejs
  need npm npm
fi
if [ "${#apt_packages[@]}" -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install.sh: need root (or sudo) to install: ${apt_packages[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  say "installing Debian packages: ${apt_packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

npm_dirs=()
# The unmodified 2015 Node add-on the emulator must host, the UI add-on
# (atlassian-connect-express-hipchat 0.3.x) whose pages it shows, and the
# browser driver.
if [ "$want_test" = 1 ]; then npm_dirs+=(tests/fixtures/node-addon tests/fixtures/ui-addon tests/fixtures/browser); fi
# nodemon, which bench/dev.sh compares connect dev with (and the Node add-on it restarts).
if [ "$want_bench" = 1 ]; then npm_dirs+=(tests/fixtures/node-addon bench); fi
if [ "${#npm_dirs[@]}" -gt 0 ]; then
  for dir in "${npm_dirs[@]}"; do
    # Missing, or older than the lock file (a dependency was added).
    if [ -f "$dir/package-lock.json" ] && { [ ! -f "$dir/node_modules/.package-lock.json" ] \
        || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; }; then
      say "installing npm modules in $dir"
      (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    fi
  done
fi

if [ "$want_binary" = 1 ]; then
  # Bundled SQLite and ring (TLS) are built from C sources.
  if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1 && ! command -v clang >/dev/null 2>&1; then
    echo "install.sh: no C compiler found; connect builds SQLite and its TLS library from C sources." >&2
    echo "  Debian/Ubuntu: sudo apt-get install build-essential   Fedora: sudo dnf install gcc   macOS: xcode-select --install" >&2
    exit 1
  fi
  say "building and installing connect (cargo install --path . --locked)"
  say "the first release build takes several minutes (about 5 on 2 cores); cargo shows its progress below"
  cargo install --path . --locked
  bin_dir="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
  case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) say "add $bin_dir to your PATH to run connect (e.g. source \"\$HOME/.cargo/env\")" ;;
  esac
  say "installed: $("$bin_dir/connect" --version)"
fi
