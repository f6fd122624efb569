#!/usr/bin/env bash
# Brings ROS 2 into the project, idempotently (a second run does only what changed):
#   1. the Debian packages the ROS tree and the builds need (apt-get, when root and missing);
#   2. the ROS 2 Jazzy core from ../shared/ros2/ unpacked into .ros/ros2 (or $EMU_ROS_TREE if set);
#   3. emu_robotics_msgs built with colcon as an overlay in .ros/overlay;
#   4. rclnodejs (pinned in package.json's optionalDependencies, installed without scripts by npm)
#      built against the tree with node-gyp, and its message bindings generated.
# Afterwards `source bridge/ros/env.sh` gives any shell the ROS environment.
# Exit status 0 with "ROS 2 ready"; where ROS cannot be set up here it says why and exits 3.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
state="$repo/.ros"
mkdir -p "$state"
log() { echo "[ros setup] $*" >&2; }

# --- 1. Debian packages -------------------------------------------------------------------------
run_pkgs=(libddsc0debian libspdlog1.10 libyaml-0-2)
build_pkgs=(cmake g++ make pkg-config python3 python3-empy python3-lark python3-yaml python3-catkin-pkg
  python3-numpy colcon python3-colcon-cmake python3-colcon-ros cyclonedds-dev libspdlog-dev libyaml-dev zstd)
missing=()
for p in "${run_pkgs[@]}" "${build_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})"
    exit 3
  fi
  log "apt-get install ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's Humble-era ament packages shadow the Jazzy ones in the tree.
for p in ament-cmake python3-ament-package; do
  if dpkg -s "$p" >/dev/null 2>&1; then log "Debian's $p is installed and shadows the Jazzy tree: apt-get remove $p"; exit 3; fi
done

# --- 2. the ROS tree ----------------------------------------------------------------------------
tarball="$repo/../shared/ros2/ros2-jazzy-core-debian12-amd64.tar.zst"
tree="${EMU_ROS_TREE:-$state/ros2}"
if [[ ! -f "$tree/setup.bash" ]]; then
  [[ -f "$tarball" ]] || { log "no ROS tree: $tarball is absent (set EMU_ROS_TREE to an installed ROS 2 tree)"; exit 3; }
  log "unpacking $(basename "$tarball") → $tree"
  mkdir -p "$(dirname "$tree")"
  tar -C "$(dirname "$tree")" -I zstd -xf "$tarball"
  [[ "$(dirname "$tree")/ros2" == "$tree" ]] || mv "$(dirname "$tree")/ros2" "$tree"
fi
echo "$tree" > "$state/tree"

# The environment every later step (and env.sh) uses: tree, DDS on loopback only, Debian's python.
export PATH="/usr/bin:$PATH"
# shellcheck source=env.sh
source "$repo/bridge/ros/env.sh" --tree-only

# --- 3. the interface package overlay -----------------------------------------------------------
msgs="$repo/bridge/ros/emu_robotics_msgs"
stamp="$state/overlay.stamp"
if [[ ! -f "$stamp" ]] || [[ -n "$(find "$msgs" -newer "$stamp" -type f | head -1)" ]]; then
  log "colcon build emu_robotics_msgs → .ros/overlay"
  (cd "$state" && colcon --log-base "$state/log" build --base-paths "$msgs" --build-base "$state/build" --install-base "$state/overlay" \
    --merge-install --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE=/usr/bin/python3 >"$state/colcon.log" 2>&1) \
    || { log "colcon failed; see .ros/colcon.log"; tail -20 "$state/colcon.log" >&2; exit 1; }
  touch "$stamp"
fi
source "$repo/bridge/ros/env.sh"

# --- 4. rclnodejs -------------------------------------------------------------------------------
rcl="$repo/node_modules/rclnodejs"
if [[ ! -f "$rcl/package.json" ]]; then
  log "installing rclnodejs (package.json's optionalDependencies; scripts are ours to run)"
  npm install --no-save --ignore-scripts --no-audit --no-fund "rclnodejs@$(node -p "require('./package.json').optionalDependencies.rclnodejs")" >/dev/null
fi
gyp="$(dirname "$(dirname "$(command -v npm)")")/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[[ -f "$gyp" ]] || gyp="$rcl/node_modules/node-gyp/bin/node-gyp.js"
[[ -f "$gyp" ]] || gyp="$repo/node_modules/node-gyp/bin/node-gyp.js"
nodedir="$(node -p "require('path').resolve(process.execPath, '../..')")"
if [[ ! -f "$rcl/build/Release/rclnodejs.node" ]] || [[ "$state/tree" -nt "$rcl/build/Release/rclnodejs.node" && "$(cat "$state/tree.built" 2>/dev/null)" != "$tree" ]]; then
  log "building rclnodejs' native addon against the tree (node-gyp, ~30 s)"
  (cd "$rcl" && node "$gyp" rebuild -j 2 --nodedir="$nodedir" >"$state/rclnodejs-build.log" 2>&1) \
    || { log "node-gyp failed; see .ros/rclnodejs-build.log"; tail -20 "$state/rclnodejs-build.log" >&2; exit 1; }
  echo "$tree" > "$state/tree.built"
  rm -f "$state/messages.stamp"
fi
if [[ ! -f "$state/messages.stamp" ]] || [[ "$stamp" -nt "$state/messages.stamp" ]] || [[ ! -d "$rcl/generated/emu_robotics_msgs" ]] || [[ ! -f "$state/messages.stamp" ]]; then
  log "generating rclnodejs message bindings"
  (cd "$rcl" && node scripts/generate_messages.cjs >"$state/messages.log" 2>&1) \
    || { log "message generation failed; see .ros/messages.log"; tail -20 "$state/messages.log" >&2; exit 1; }
  [[ -d "$rcl/generated/emu_robotics_msgs" ]] || { log "message generation did not include emu_robotics_msgs (is the overlay on AMENT_PREFIX_PATH?)"; exit 1; }
  touch "$state/messages.stamp"
fi
node -e "require('rclnodejs')" 2>"$state/load.log" || { log "rclnodejs does not load: $(tail -3 "$state/load.log")"; exit 1; }
log "ROS 2 ready: source bridge/ros/env.sh"
