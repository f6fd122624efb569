# Source me: `source bridge/ros/env.sh` gives this shell the project's ROS 2 environment (the tree
# bridge/ros/setup.sh unpacked, the emu_robotics_msgs overlay, DDS kept on loopback). Users, tests
# and CI run ROS the same way. Set EMU_ROS_DOMAIN to choose the DDS domain (default 73, test-only);
# set EMU_ROS_NETWORK=1 to talk beyond this machine (a real robot), which drops the loopback limits.
_emu_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_emu_tree="${EMU_ROS_TREE:-$(cat "$_emu_repo/.ros/tree" 2>/dev/null || echo "$_emu_repo/.ros/ros2")}"
if [[ ! -f "$_emu_tree/setup.bash" ]]; then
  echo "[ros env] no ROS tree at $_emu_tree: run bridge/ros/setup.sh first" >&2
  return 3 2>/dev/null || exit 3
fi
# The tree's setup scripts read unset variables; do not let a caller's `set -u` trip on them.
_emu_u="$(set +o | grep nounset)"
set +u
source "$_emu_tree/setup.bash"
if [[ "${1:-}" != "--tree-only" && -d "$_emu_repo/.ros/overlay" ]]; then
  # colcon writes local_setup.bash only with its bash extension; the POSIX one needs its prefix given.
  if [[ -f "$_emu_repo/.ros/overlay/local_setup.bash" ]]; then
    source "$_emu_repo/.ros/overlay/local_setup.bash"
  else
    COLCON_CURRENT_PREFIX="$_emu_repo/.ros/overlay" source "$_emu_repo/.ros/overlay/local_setup.sh"
  fi
fi
eval "$_emu_u"
export RMW_IMPLEMENTATION=rmw_cyclonedds_cpp
export ROS_DOMAIN_ID="${EMU_ROS_DOMAIN:-${ROS_DOMAIN_ID:-73}}"
if [[ "${EMU_ROS_NETWORK:-0}" != 1 ]]; then
  export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
  export CYCLONEDDS_URI='<CycloneDDS><Domain><General><Interfaces><NetworkInterface name="lo"/></Interfaces></General></Domain></CycloneDDS>'
fi
unset _emu_repo _emu_tree _emu_u
