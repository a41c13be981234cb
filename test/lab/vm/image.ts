/**
 * The VM image (LAB-VM.md step 1), built once per machine and cached in IMAGE_DIR: root.img (ext4, sparse),
 * vmlinuz and initrd.img for -kernel/-initrd, the lab's SSH key, and the image's SSH host public keys.
 *
 * Atomic: the build runs in `${IMAGE_DIR}.build-<pid>` and is renamed onto IMAGE_DIR only when complete (a
 * stamp file written last marks it so), so a killed build never leaves a half-built cache that looks usable.
 * The mirror is the host's own (its apt sources); this file names no mirror host.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { hostMirror, renderSources } from "../apt-sources.js";
import { LabError, run, type Logger } from "../exec.js";
import { findProcesses, pidAlive, terminate, withLock } from "../proc.js";
import {
  BUILD_LOCK,
  BUILD_PREFIX,
  CACHE_ROOT,
  IMAGE_DIR,
  IMAGE_PACKAGES,
  IMAGE_REVISION,
  IMAGE_SIZE,
  imageFiles,
} from "./config.js";

export interface ImageStamp {
  revision: number;
  /** Hash of what the image is made from (revision, release, packages, apt entries). */
  recipe: string;
  codename: string;
  builtAt: string;
  buildSeconds: number;
}

export interface Image {
  dir: string;
  rootImg: string;
  kernel: string;
  initrd: string;
  key: string;
  hostKeys: string;
  /** Seconds spent building now; 0 when the cache was used. */
  builtSeconds: number;
}

function recipeHash(): { recipe: string; codename: string } {
  const m = hostMirror();
  const recipe = createHash("sha256")
    .update(
      JSON.stringify({
        rev: IMAGE_REVISION,
        codename: m.codename,
        pkgs: IMAGE_PACKAGES,
        entries: m.entries,
        size: IMAGE_SIZE,
      }),
    )
    .digest("hex")
    .slice(0, 16);
  return { recipe, codename: m.codename };
}

/** The cached image if it is complete and made by the current recipe. */
export function cachedImage(): Image | undefined {
  const f = imageFiles(IMAGE_DIR);
  if (![f.rootImg, f.kernel, f.initrd, f.key, f.hostKeys, f.stamp].every((p) => existsSync(p)))
    return undefined;
  try {
    const stamp = JSON.parse(readFileSync(f.stamp, "utf8")) as ImageStamp;
    if (stamp.revision !== IMAGE_REVISION || stamp.recipe !== recipeHash().recipe) return undefined;
  } catch {
    return undefined;
  }
  return { dir: IMAGE_DIR, ...f, builtSeconds: 0 };
}

/** Mount points at or below `dir` (debootstrap mounts proc, sys and maybe dev in the tree), deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ")[4]!.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Remove a build directory safely: stop a debootstrap still working in it (a killed build's orphan), unmount
 * what it mounted inside (a recursive delete must never walk into the host's /proc, /sys or /dev), then delete.
 */
async function removeBuildDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const pid of findProcesses(dir, ["sh", "bash", "debootstrap", "chroot"])) await terminate(pid, 5_000);
  for (const m of mountsUnder(dir)) await run("umount", ["-l", m], { allowFail: true });
  const left = mountsUnder(dir);
  if (left.length) throw new LabError(`cannot remove ${dir}: still mounted: ${left.join(", ")}`);
  rmSync(dir, { recursive: true, force: true });
}

/** Remove build directories left by a killed build (their pid is dead), and outdated caches moved aside. */
async function sweepBuilds(): Promise<void> {
  const parent = CACHE_ROOT;
  if (!existsSync(parent)) return;
  const base = BUILD_PREFIX.slice(parent.length + 1);
  for (const e of readdirSync(parent)) {
    const m = e.startsWith(base) ? /^(\d+)/.exec(e.slice(base.length)) : null;
    if (m && (Number(m[1]) === process.pid || !pidAlive(Number(m[1]))))
      await removeBuildDir(`${parent}/${e}`);
  }
  for (const e of readdirSync(parent))
    if (e.startsWith("vm.old-")) rmSync(`${parent}/${e}`, { recursive: true, force: true });
}

/** The image, from the cache or built now (several processes: one builds, the others wait and reuse it). */
export async function ensureImage(log: Logger): Promise<Image> {
  const hit = cachedImage();
  if (hit) return hit;
  mkdirSync(CACHE_ROOT, { recursive: true });
  return withLock(
    BUILD_LOCK,
    "VM image build",
    async () => {
      const again = cachedImage(); // built by someone else while we waited
      if (again) return again;
      await sweepBuilds();
      const t0 = Date.now();
      const dir = `${BUILD_PREFIX}${process.pid}-${Date.now()}`;
      try {
        await buildInto(dir, log);
        const secs = (Date.now() - t0) / 1000;
        const { recipe, codename } = recipeHash();
        const stamp: ImageStamp = {
          revision: IMAGE_REVISION,
          recipe,
          codename,
          builtAt: new Date().toISOString(),
          buildSeconds: secs,
        };
        writeFileSync(imageFiles(dir).stamp, JSON.stringify(stamp, null, 1) + "\n");
        // Swap in: an outdated cache is moved aside first (running VMs keep their open root.img), then removed.
        if (existsSync(IMAGE_DIR)) {
          const old = `${CACHE_ROOT}/vm.old-${process.pid}-${Date.now()}`;
          renameSync(IMAGE_DIR, old);
          renameSync(dir, IMAGE_DIR);
          rmSync(old, { recursive: true, force: true });
        } else renameSync(dir, IMAGE_DIR);
        log(`image built in ${secs.toFixed(0)} s: ${IMAGE_DIR}`);
        return { dir: IMAGE_DIR, ...imageFiles(IMAGE_DIR), builtSeconds: secs };
      } finally {
        await removeBuildDir(dir);
      }
    },
    1_800_000,
  );
}

const w = (path: string, text: string) => writeFileSync(path, text);

async function buildInto(dir: string, log: Logger): Promise<void> {
  const mirror = hostMirror();
  const R = `${dir}/rootfs`;
  const f = imageFiles(dir);
  mkdirSync(dir, { recursive: true });
  log(
    `building the VM image (debootstrap ${mirror.codename} from the host's apt mirror, about 2 minutes) in ${dir}`,
  );
  const t = Date.now();
  // Under `timeout` (SIGTERM): debootstrap's exit traps then unmount what it mounted in the tree.
  await run(
    "timeout",
    [
      "1200",
      "debootstrap",
      "--variant=minbase",
      `--include=${IMAGE_PACKAGES.join(",")}`,
      mirror.codename,
      R,
      mirror.bootstrapUrl,
    ],
    { timeoutMs: 1_260_000 },
  ).catch((err: Error) => {
    const logFile = `${R}/debootstrap/debootstrap.log`;
    const tail = existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n") : "";
    throw new LabError(`${err.message}\n${tail}`);
  });
  log(`debootstrap: ${((Date.now() - t) / 1000).toFixed(0)} s`);

  // Kernel and initrd are booted from outside (-kernel/-initrd); the guest never rebuilds its initrd.
  const boot = readdirSync(`${R}/boot`);
  const vmlinuz = boot.find((n) => n.startsWith("vmlinuz-"));
  const initrd = boot.find((n) => n.startsWith("initrd.img-"));
  if (!vmlinuz || !initrd) throw new LabError(`no kernel or initrd in ${R}/boot (${boot.join(", ")})`);
  await run("cp", [`${R}/boot/${vmlinuz}`, f.kernel]);
  await run("cp", [`${R}/boot/${initrd}`, f.initrd]);
  await run("sh", ["-c", `rm -f "${R}"/boot/vmlinuz-* "${R}"/boot/initrd.img-* "${R}"/boot/System.map-*`]);
  await run("sed", [
    "-i",
    "s/^update_initramfs=.*/update_initramfs=no/",
    `${R}/etc/initramfs-tools/update-initramfs.conf`,
  ]);

  // Identity is made per VM at boot: hostname from the kernel command line, machine-id generated.
  rmSync(`${R}/etc/hostname`, { force: true });
  rmSync(`${R}/var/lib/dbus/machine-id`, { force: true });
  w(`${R}/etc/machine-id`, "");
  w(`${R}/etc/hosts`, "127.0.0.1 localhost\n10.88.0.10 ctl\n10.88.0.11 worker\n");
  w(`${R}/etc/fstab`, "/dev/vda / ext4 defaults 0 0\n");

  // apt: the host's Debian entries for this release, as the VM will use them through the NAT.
  rmSync(`${R}/etc/apt/sources.list`, { force: true });
  w(`${R}/etc/apt/sources.list.d/debian.sources`, renderSources(mirror.entries));
  w(
    `${R}/etc/dpkg/dpkg.cfg.d/01-nodoc`,
    ["doc", "man", "info", "locale", "lintian"].map((d) => `path-exclude /usr/share/${d}/*\n`).join(""),
  );
  w(`${R}/etc/apt/apt.conf.d/90-powerstack-vm-lab`, 'Acquire::Languages "none";\n'); // no 34 MB of translations
  await run("sh", [
    "-c",
    `cd "${R}" && rm -rf usr/share/doc/* usr/share/man/* usr/share/info/* usr/share/locale/* usr/share/lintian/* ` +
      `var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* debootstrap`,
  ]);
  // Package lists as a server in use has them: the VMs' first `apt-get update` (powerstack runs one before
  // installing) then revalidates them instead of fetching and parsing ~50 MB under TCG. Done with the
  // host's resolver (debootstrap copied it in), replaced right after.
  const tUpdate = Date.now();
  await run("chroot", [R, "apt-get", "-q", "update"], { timeoutMs: 600_000 });
  await run("sh", [
    "-c",
    `cd "${R}" && rm -rf var/lib/apt/lists/partial/* var/lib/apt/lists/lock var/cache/apt/archives/partial/*`,
  ]);
  log(`apt lists in the image: ${((Date.now() - tUpdate) / 1000).toFixed(0)} s`);
  w(`${R}/etc/resolv.conf`, "nameserver 10.0.2.3\n"); // QEMU user-mode DNS
  // Masked: apt timers (no dpkg lock taken behind powerstack's back), e2scrub (no LVM; ~20 s of a TCG boot).
  for (const unit of [
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_reap.service",
    "e2scrub_all.timer",
  ]) {
    await run("ln", ["-sf", "/dev/null", `${R}/etc/systemd/system/${unit}`]);
  }
  // Generators for hardware and features the VMs do not have: systemd runs every generator at boot and on
  // each daemon-reload (package postinsts do several), about 0.3 s each under TCG.
  mkdirSync(`${R}/etc/systemd/system-generators`, { recursive: true });
  for (const g of [
    "cryptsetup",
    "integritysetup",
    "veritysetup",
    "hibernate-resume",
    "gpt-auto",
    "system-update",
    "debug",
    "run",
    "rc-local",
  ]) {
    await run("ln", ["-sf", "/dev/null", `${R}/etc/systemd/system-generators/systemd-${g}-generator`]);
  }

  // eth0: user-mode NAT (DHCP); eth1: the lab link, addressed from `ip=` on the kernel command line.
  w(`${R}/etc/systemd/network/10-nat.network`, "[Match]\nName=eth0\n[Network]\nDHCP=ipv4\nIPv6AcceptRA=no\n");
  mkdirSync(`${R}/etc/systemd/network/90-eth1.network.d`, { recursive: true });
  w(`${R}/etc/systemd/network/90-eth1.network.d/lab.conf`, "[Network]\nIPv6AcceptRA=no\n");
  await run("chroot", [
    R,
    "systemctl",
    "enable",
    "systemd-networkd",
    "systemd-networkd-wait-online",
    "systemd-network-generator",
  ]);

  // SSH: the lab's key for root; the image's host keys are recorded so the first connection is checked too.
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "powerstack-vm-lab", "-f", f.key]);
  chmodSync(f.key, 0o600);
  mkdirSync(`${R}/root/.ssh`, { recursive: true, mode: 0o700 });
  chmodSync(`${R}/root/.ssh`, 0o700);
  w(`${R}/root/.ssh/authorized_keys`, readFileSync(`${f.key}.pub`, "utf8"));
  chmodSync(`${R}/root/.ssh/authorized_keys`, 0o600);
  const pubs = readdirSync(`${R}/etc/ssh`).filter((n) => /^ssh_host_.*_key\.pub$/.test(n));
  if (pubs.length === 0)
    throw new LabError(`no SSH host keys in ${R}/etc/ssh: was openssh-server installed?`);
  w(
    f.hostKeys,
    pubs
      .map((n) => readFileSync(`${R}/etc/ssh/${n}`, "utf8").trim().split(/\s+/).slice(0, 2).join(" ") + "\n")
      .join(""),
  );

  // Drivers QEMU has no hardware for (-185 MB).
  const kver = readdirSync(`${R}/lib/modules`)[0]!;
  const M = `${R}/lib/modules/${kver}/kernel`;
  for (const d of [
    "sound",
    "drivers/gpu",
    "drivers/media",
    "drivers/staging",
    "drivers/net/wireless",
    "drivers/net/ethernet",
    "drivers/infiniband/hw",
    "net/wireless",
    "net/mac80211",
  ]) {
    rmSync(`${M}/${d}`, { recursive: true, force: true });
  }
  await run("chroot", [R, "depmod", kver]);

  const mounted = mountsUnder(R);
  if (mounted.length) throw new LabError(`debootstrap left mounts in the tree: ${mounted.join(", ")}`);
  await run("mkfs.ext4", ["-q", "-F", "-L", "root", "-d", R, f.rootImg, IMAGE_SIZE], { timeoutMs: 600_000 });
  await removeBuildDir(R);
}
