/**
 * Fixed names and addresses of the tier-1 lab. There is one lab per machine: the switch namespace, the
 * cgroup and the run directory are global names, and `labUp` replaces whatever lab was there before.
 */
export const CACHE_DIR = process.env.POWERSTACK_LAB_CACHE || "/var/cache/powerstack-lab";
export const RUN_DIR = "/run/powerstack-lab";
export const STATE_FILE = `${RUN_DIR}/state.json`;
/** A directory used as a lock (mkdir is atomic); holds the owner's pid. Outside RUN_DIR, which labDown removes. */
export const LOCK_DIR = "/run/powerstack-lab.lock";

export const SUBNET = "10.77.0.0/24";
export const PREFIX_LEN = 24;
/** The switch namespace's bridge address: apt relays listen here (and on .2.. for further mirror hosts). */
export const GATEWAY_IP = "10.77.0.1";
export const SWITCH_NS = "labsw";
export const BRIDGE = "br0";
export const FIRST_NODE_HOST = 10; // ctl = 10.77.0.10, w1 = .11, ...
export const MAX_RELAY_HOSTS = 8; // 10.77.0.1 .. 10.77.0.8

export const DEFAULT_NAMES = ["ctl", "w1", "w2"] as const;
export const DISK_SIZE = "2G";
export const DISK_IN_NODE = "/dev/vdb";
/** The kernel sysctl the per-node stand-in file replaces inside nodes. */
export const PERF_SYSCTL = "/proc/sys/kernel/perf_event_paranoid";

/** cgroup name under every hierarchy that nspawn needs (`/sys/fs/cgroup/<h>/powerstack-lab/<node>`). */
export const CGROUP_NAME = "powerstack-lab";
export const CGROUP_HIERARCHIES = ["systemd", "unified"] as const;

/** nspawn's runtime directory; the lab mounts a tmpfs there (marked, so a sweep knows it is the lab's). */
export const NSPAWN_RUNTIME = "/run/systemd/nspawn";
export const NSPAWN_RUNTIME_MARK = `${NSPAWN_RUNTIME}/.powerstack-lab`;

export const PROXY_COMMAND = `ip netns exec ${SWITCH_NS} nc %h %p`;

export const nodeNetns = (name: string): string => `lab-${name}`;
export const nodeDir = (name: string): string => `${RUN_DIR}/nodes/${name}`;
export const nodeIp = (index: number): string => `10.77.0.${FIRST_NODE_HOST + index}`;
/** Switch-side end of a node's veth pair (interface names are at most 15 bytes). */
export const switchVeth = (name: string): string => `v-${name}`;
