#!/usr/bin/env bash
# GPU check and benchmark on a fresh Linux machine with an NVIDIA GPU, Node >= 20.19 and Debian
# packages; needs nothing but the package registries (npm; apt for Mesa's Vulkan loader).
#   scripts/gpu/run.sh                 install, build, parity, benchmarks (about 5-8 minutes)
#   scripts/gpu/run.sh --quick         smaller benchmarks
#   scripts/gpu/run.sh --allow-software  also run WebGPU on a software adapter (no GPU: a dry run)
#   scripts/gpu/run.sh --no-install    skip install and build (already done)
# Prints JSON lines on stdout (progress on stderr); exits 1 when the WebGPU step parity fails.
set -uo pipefail
cd "$(dirname "$0")/../.."
QUICK=""; INSTALL=1
for a in "$@"; do
  case "$a" in
    --quick) QUICK=--quick ;;
    --allow-software) export DINO_WEBGPU_SOFTWARE=1 ;;
    --no-install) INSTALL=0 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
say() { echo "== $*" >&2; }
# Each step has a time budget, so the whole run ends within 8 minutes even when one hangs.
step() { local limit=$1; shift; timeout --kill-after=10 "$limit" "$@"; local rc=$?; [ $rc -eq 124 ] && say "timed out after ${limit}s: $*"; return $rc; }

say "machine"
GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
node -e 'console.log(JSON.stringify({name: "machine", node: process.version, cpus: require("os").cpus().length, gpu: process.argv[1] || null}))' "$GPU"

if [ "$INSTALL" = 1 ]; then
  # Dawn reaches NVIDIA through Vulkan: the loader (and, for a dry run, Mesa's drivers).
  if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 && command -v apt-get >/dev/null; then
    say "apt-get install libvulkan1 mesa-vulkan-drivers"
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    step 120 $SUDO apt-get update -qq >&2 && step 120 $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvulkan1 mesa-vulkan-drivers >&2
  fi
  PNPM_VERSION=$(node -p 'require("./package.json").packageManager.split("@")[1]')
  if ! pnpm --version 2>/dev/null | grep -qx "$PNPM_VERSION"; then
    say "installing pnpm $PNPM_VERSION"
    step 90 npm install -g "pnpm@$PNPM_VERSION" >&2 || COREPACK_INTEGRITY_KEYS=0 step 60 corepack prepare "pnpm@$PNPM_VERSION" --activate >&2
  fi
  say "pnpm install --frozen-lockfile"
  step 180 pnpm install --frozen-lockfile >&2 || { say "install failed"; exit 1; }
  say "build"
  step 180 pnpm build >&2 || { say "build failed"; exit 1; }
fi

say "backends"
node apps/trainer/dist/bin.js info --backend cpu 2>/dev/null | sed -n '/^backends:/,/^  cpu/p' | node -e '
  const lines = require("fs").readFileSync(0, "utf8").trim().split("\n").slice(1);
  for (const l of lines) { const m = /^\s*(.+?): (.*)$/.exec(l); if (m) console.log(JSON.stringify({ name: "backend", backend: m[1], status: m[2] })); }'

FAIL=0
say "parity: one DINO training step on webgpu against cpu"
step 120 node scripts/gpu/bench.mjs parity webgpu 2>/dev/null || { say "webgpu parity failed or unavailable"; FAIL=1; }
for m in vit-s16-infer dino-step; do
  for b in webgpu wasm; do
    say "$m on $b"
    step 150 node scripts/gpu/bench.mjs "$m" "$b" $QUICK 2>/dev/null || say "$m on $b failed"
  done
done
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  say "PyTorch CUDA"
  step 120 python3 scripts/gpu/torch_cuda.py || say "PyTorch CUDA failed"
else
  echo '{"name":"pytorch-cuda","skipped":"python3 torch with CUDA not available"}'
fi
exit $FAIL
