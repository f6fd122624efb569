#!/usr/bin/env bash
# A WebGPU adapter with no GPU: Mesa's lavapipe (a Vulkan driver that runs on the CPU), so the WebGPU
# provider and the device-resident KV cache can be tested on any Debian 12 machine. Debian 12's own
# Mesa (22.3) is refused by onnxruntime's Dawn; bookworm-backports' Mesa (25.x) gives an adapter.
# Correct, not fast: for tests, never for speed figures. Exit 3 = cannot be set up here (says why).
set -euo pipefail
cd "$(dirname "$0")/../.."
# `emu doctor` opens a real WebGPU session in a child process: the one test of an adapter.
probe() { node bin/emu.js doctor --json 2>/dev/null | node -e '
  const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
  process.exit(r.providers.find((p) => p.name === "webgpu").available ? 0 : 1);'; }
if probe; then echo "webgpu: an adapter is already there"; exit 0; fi
if ! grep -q '^ID=debian' /etc/os-release || ! grep -q 'VERSION_CODENAME=bookworm' /etc/os-release; then
  echo "webgpu: this script knows Debian 12 (bookworm) only; install Mesa >= 23 (mesa-vulkan-drivers) yourself" >&2; exit 3
fi
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
list=/etc/apt/sources.list.d/emu-bookworm-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' | $SUDO tee "$list" >/dev/null
fi
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1; } >/tmp/emu-webgpu-apt.log 2>&1; then
  tail -5 /tmp/emu-webgpu-apt.log >&2; echo "webgpu: could not install Mesa from bookworm-backports (see /tmp/emu-webgpu-apt.log)" >&2; exit 3
fi
if probe; then echo "webgpu: a software adapter (Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) lavapipe)"; exit 0; fi
echo "webgpu: Mesa installed, but still no adapter (node bin/emu.js doctor says why)" >&2; exit 3
