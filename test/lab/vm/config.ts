/**
 * Names, paths and sizes of the tier-2 VM lab (docs LAB-VM.md). The image is cached once per machine outside
 * the repository; every run gets its own directory, ports and lab-link port, so runs never share mutable state.
 */
export const CACHE_ROOT = process.env.POWERSTACK_LAB_CACHE || "/var/cache/powerstack-lab";
/** The finished image: only ever created by renaming a complete build directory onto this path. */
export const IMAGE_DIR = `${CACHE_ROOT}/vm`;
/** Builds happen in `${IMAGE_DIR}.build-<pid>`; a directory used as a lock (mkdir is atomic) serialises them. */
export const BUILD_PREFIX = `${IMAGE_DIR}.build-`;
export const BUILD_LOCK = `${IMAGE_DIR}.lock`;

/** One directory per run (`<RUN_ROOT>/<id>`): state.json, overlays, spare disks, console logs, vm.json. */
export const RUN_ROOT = process.env.POWERSTACK_VM_RUN_ROOT || "/run/powerstack-vm";

/** Bump when the image recipe changes: a cache with another revision is rebuilt. */
export const IMAGE_REVISION = 3;
export const IMAGE_PACKAGES = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "openssh-server",
  "iproute2",
  "udev",
  "kmod",
  "procps",
  "python3",
  "linux-image-amd64",
] as const;
export const IMAGE_SIZE = "2G";
export const SPARE_DISK_SIZE = "1G";

export const LAB_SUBNET = "10.88.0.0/24";
export const LAB_NETMASK = "255.255.255.0";
/** The multicast group of the lab link; the UDP port is picked per run. */
export const MCAST_GROUP = "230.0.0.1";

export interface VmSpec {
  name: string;
  role: "control" | "worker";
  labIp: string;
  /** Last byte of the lab NIC's MAC (QEMU would give every VM the same one). */
  macSuffix: string;
}

export const VMS: readonly VmSpec[] = [
  { name: "ctl", role: "control", labIp: "10.88.0.10", macSuffix: "10" },
  { name: "worker", role: "worker", labIp: "10.88.0.11", macSuffix: "11" },
];

export const VM_CPUS = 1;
export const VM_MEMORY_MB = 1024;
/** The spare disk as the guest sees it (second virtio disk). */
export const SPARE_DISK_IN_VM = "/dev/vdb";

export const imageFiles = (dir: string) => ({
  rootImg: `${dir}/root.img`,
  kernel: `${dir}/vmlinuz`,
  initrd: `${dir}/initrd.img`,
  key: `${dir}/id_ed25519`,
  /** The image's own SSH host public keys (shared by every VM until first boot replaces them). */
  hostKeys: `${dir}/image_host_keys`,
  stamp: `${dir}/stamp.json`,
});
