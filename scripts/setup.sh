#!/usr/bin/env bash
# Installs what intuitor needs and builds its native addon. Idempotent, and quick when nothing
# changed (a stamp records what the last build was made from). `npm test` and `npm run demo` run it.
#
#   1. libtorch: $LIBTORCH, else a Python torch package's folder, else the system's libtorch-dev;
#      when none is found, installs Debian/Ubuntu libtorch-dev (+ OpenBLAS, + Gloo's headers for
#      torch.distributed) with apt as root, or
#      prints the command to run. Also fonts-dejavu-core (text in PNG charts) the same way, or a hint.
#   2. npm ci, when node_modules does not match package-lock.json.
#   3. scripts/build-addon.mjs builds native/ with node-gyp against the local Node headers.
#
# Usage: bash scripts/setup.sh [--rebuild]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[setup] $*" >&2; }
fail() {
  echo "[setup] error: $*" >&2
  exit 1
}

rebuild=0
[[ "${1:-}" == "--rebuild" ]] && rebuild=1

addon=native/build/Release/intuitor_native.node
stamp=native/build/.setup-stamp

# Everything the build depends on that can change without this script noticing otherwise.
fingerprint() {
  {
    node --version
    echo "LIBTORCH=${LIBTORCH:-} PYTHON=${PYTHON:-} CUDA_HOME=${CUDA_HOME:-} INTUITOR_NCCL=${INTUITOR_NCCL:-}"
    cat package-lock.json native/binding.gyp scripts/find-libtorch.mjs scripts/build-addon.mjs native/src/*
    ls /usr/include/gloo/algorithm.h 2>/dev/null || true  # installing libgloo-dev later turns distributed on
  } | sha256sum | cut -d' ' -f1
}

if [[ $rebuild == 0 && -f $addon && -f $stamp && -f node_modules/.intuitor-lock-hash ]] && [[ "$(cat "$stamp")" == "$(fingerprint)" ]]; then
  exit 0
fi

# ---- 1. libtorch ---------------------------------------------------------------------------------
apt_packages=(libtorch-dev libopenblas0-pthread libgloo-dev)
apt_install() {
  log "installing $* with apt (a few minutes, once)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "$@" >/dev/null
}
can_apt() { [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; }

if ! libtorch_json=$(node scripts/find-libtorch.mjs json 2>/dev/null); then
  if [[ -n "${LIBTORCH:-}" ]]; then
    node scripts/find-libtorch.mjs json >/dev/null || true  # prints why LIBTORCH is not usable
    fail "fix LIBTORCH or unset it"
  fi
  if can_apt; then
    apt_install "${apt_packages[@]}"
  else
    fail "libtorch not found. Install it with:
    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${apt_packages[*]}
  or set LIBTORCH to an unpacked libtorch folder (with include/ and lib/)."
  fi
  libtorch_json=$(node scripts/find-libtorch.mjs json) || fail "libtorch still not found after installing ${apt_packages[*]}"
fi
log "libtorch: $(node -e 'const i = JSON.parse(process.argv[1]); console.log(`${i.source}, ${i.libdir}${i.cuda ? ", with CUDA" : ""}`)' "$libtorch_json")"

# With the system's libtorch, the rest of apt_packages when missing: Debian's libtorch accepts any
# libblas.so.3 (the reference BLAS is ~100x slower than OpenBLAS), and its c10d headers need Gloo's
# (libgloo-dev) for torch.distributed; without them the addon builds with distributed disabled.
if [[ "$libtorch_json" == *'"system":true'* ]] && command -v dpkg >/dev/null; then
  missing=()
  for package in "${apt_packages[@]:1}"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
  if ((${#missing[@]} > 0)); then
    if can_apt; then
      apt_install "${missing[@]}"
      libtorch_json=$(node scripts/find-libtorch.mjs json)
    else
      [[ " ${missing[*]} " == *" libopenblas0-pthread "* ]] && log "warning: OpenBLAS is not installed; matrix products will use a slow BLAS"
      [[ " ${missing[*]} " == *" libgloo-dev "* ]] && log "warning: Gloo's headers are not installed; torch.distributed (multi-process training) will be unavailable"
      log "install what is missing with: sudo apt-get install -y --no-install-recommends ${missing[*]}"
    fi
  fi
fi
log "torch.distributed: $(node -e 'const d = JSON.parse(process.argv[1]).distributed ?? {}; console.log([d.gloo ? "gloo" : "", d.nccl ? "nccl" : ""].filter(Boolean).join(", ") + (d.why ? ` (${d.why})` : ""))' "$libtorch_json")"

# Charts are rasterised with explicit font files (src/report/fonts.ts); without any, PNGs have no
# text. Never fails the setup: the plotter falls back and says so.
if [[ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]]; then
  if can_apt; then
    apt_install fonts-dejavu-core || log "warning: fonts-dejavu-core did not install; PNG charts will have no text"
  else
    log "note: no DejaVu fonts; PNG charts will have no text unless another font is found. Install them with: sudo apt-get install -y fonts-dejavu-core"
  fi
fi

# ---- 2. npm packages -----------------------------------------------------------------------------
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ "$(cat node_modules/.intuitor-lock-hash 2>/dev/null)" != "$lock_hash" ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" >node_modules/.intuitor-lock-hash
fi

# ---- 3. the addon --------------------------------------------------------------------------------
# --rebuild starts from scratch; otherwise make recompiles only the sources that changed.
INTUITOR_LIBTORCH_JSON="$libtorch_json" node scripts/build-addon.mjs $([[ $rebuild == 1 ]] && echo --rebuild) || exit 1
fingerprint >"$stamp"
log "ready"
