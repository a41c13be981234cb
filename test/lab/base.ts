/**
 * The base root filesystem every node overlays: Debian minbase + systemd + sshd, bootstrapped once from
 * the host's mirror and cached in CACHE_DIR (outside the repository, so a fresh clone on the same machine
 * reuses it). Built in a temporary directory and renamed into place when complete: an interrupted build
 * is never mistaken for a good one. The directory name carries a hash of the recipe, so changing the
 * recipe (or the host's sources) builds a new base.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { CACHE_DIR } from "./config.js";
import { LabError, run, type Logger } from "./exec.js";
import { hostMirror, renderSources, type HostMirror } from "./apt-sources.js";
import { pidAlive, withLock } from "./proc.js";

/** Bump when the customisation below changes. */
const RECIPE_VERSION = 1;
const INCLUDE = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "openssh-server",
  "iproute2",
  "procps",
  "kmod",
  "netcat-openbsd",
];
const COMPLETE = ".powerstack-lab-base";

export function baseDir(mirror: HostMirror = hostMirror()): string {
  const recipe = JSON.stringify({
    RECIPE_VERSION,
    INCLUDE,
    codename: mirror.codename,
    url: mirror.bootstrapUrl,
    entries: mirror.entries,
  });
  const hash = createHash("sha256").update(recipe).digest("hex").slice(0, 12);
  return `${CACHE_DIR}/base-${mirror.codename}-${hash}`;
}

export function baseReady(dir: string): boolean {
  return existsSync(`${dir}/${COMPLETE}`);
}

/** Return the cached base, building it first if needed (about 30-60 s, 270 MB). */
export async function ensureBase(log: Logger): Promise<string> {
  const mirror = hostMirror();
  const dir = baseDir(mirror);
  if (baseReady(dir)) return dir;
  mkdirSync(CACHE_DIR, { recursive: true });
  return withLock(`${CACHE_DIR}/.build.lock`, "building the lab base", async () => {
    if (baseReady(dir)) return dir; // built by whoever held the lock
    removeStaleTemps();
    const tmp = `${CACHE_DIR}/.tmp-${process.pid}-${dir.split("/").pop()}`;
    rmSync(tmp, { recursive: true, force: true });
    const started = Date.now();
    log(`building the base root filesystem (debootstrap ${mirror.codename}, once; cached in ${CACHE_DIR})`);
    try {
      const r = await run(
        "debootstrap",
        ["--variant=minbase", `--include=${INCLUDE.join(",")}`, mirror.codename, tmp, mirror.bootstrapUrl],
        { allowFail: true, timeoutMs: 1_200_000 },
      );
      writeFileSync(`${CACHE_DIR}/debootstrap.log`, r.stdout + r.stderr);
      if (r.code !== 0) {
        const tail = (r.stdout + r.stderr).trim().split("\n").slice(-8).join("\n");
        throw new LabError(
          `debootstrap failed (exit ${r.code}); log in ${CACHE_DIR}/debootstrap.log:\n${tail}`,
        );
      }
      customise(tmp, mirror);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      writeFileSync(
        `${tmp}/${COMPLETE}`,
        JSON.stringify({ builtAt: new Date().toISOString(), seconds: Number(seconds) }) + "\n",
      );
      renameSync(tmp, dir);
      log(`base ready in ${seconds} s: ${dir}`);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    return dir;
  });
}

/** Leftovers of builds whose process died (the pid is in the name). */
function removeStaleTemps(): void {
  for (const name of readdirSync(CACHE_DIR)) {
    const m = /^\.tmp-(\d+)-/.exec(name);
    if (m && !pidAlive(Number(m[1]))) rmSync(`${CACHE_DIR}/${name}`, { recursive: true, force: true });
  }
}

function write(root: string, path: string, text: string, mode = 0o644): void {
  mkdirSync(`${root}${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
  writeFileSync(`${root}${path}`, text, { mode });
}

/** Everything the nodes share, done once in the base. Per-node files are written into each overlay. */
function customise(root: string, mirror: HostMirror): void {
  // Per-node identity: host keys and machine-id are made for each node (an empty machine-id is a valid "unset").
  for (const f of readdirSync(`${root}/etc/ssh`))
    if (f.startsWith("ssh_host_")) rmSync(`${root}/etc/ssh/${f}`);
  writeFileSync(`${root}/etc/machine-id`, "");
  // Ed25519 and ECDSA host keys only: an RSA key costs 1.5 s of CPU per node.
  write(
    root,
    "/etc/ssh/sshd_config.d/powerstack-lab.conf",
    [
      "# powerstack lab node",
      "HostKey /etc/ssh/ssh_host_ed25519_key",
      "HostKey /etc/ssh/ssh_host_ecdsa_key",
      "PasswordAuthentication no",
      "",
    ].join("\n"),
  );

  // apt: the host's Debian entries; the mirror host names resolve to the relay (per-node /etc/hosts).
  rmSync(`${root}/etc/apt/sources.list`, { force: true });
  write(root, "/etc/apt/sources.list.d/debian.sources", renderSources(mirror.entries));
  write(root, "/etc/apt/apt.conf.d/90powerstack-lab", 'Acquire::Languages "none";\n');
  // No DNS in the lab: every name a node needs is in its /etc/hosts.
  write(root, "/etc/resolv.conf", "# powerstack lab: no DNS; names are in /etc/hosts\n");

  // Sysctls: /proc/sys is read-only in a container except the per-node stand-ins bound over single keys
  // (kernel.perf_event_paranoid). Mask the distribution's global defaults (they would fail read-only and
  // fail `sysctl --system`), and let systemd-sysctl run at boot so sysctl.d drop-ins reach the stand-ins
  // the way they reach the kernel on a real machine.
  for (const d of ["/usr/lib/sysctl.d", "/lib/sysctl.d"]) {
    if (!existsSync(`${root}${d}`)) continue;
    for (const f of readdirSync(`${root}${d}`)) {
      if (f.endsWith(".conf") && !existsSync(`${root}/etc/sysctl.d/${f}`)) {
        mkdirSync(`${root}/etc/sysctl.d`, { recursive: true });
        symlinkSync("/dev/null", `${root}/etc/sysctl.d/${f}`);
      }
    }
  }
  write(
    root,
    "/etc/systemd/system/systemd-sysctl.service.d/powerstack-lab.conf",
    "[Unit]\n# The lab binds per-node files over the sysctls nodes may set; apply sysctl.d to them at boot.\nConditionPathIsReadWrite=\n",
  );
  const units = readFileSync(`${root}/etc/passwd`, "utf8"); // sanity: a usable root filesystem
  if (!units.startsWith("root:")) throw new LabError(`${root}/etc/passwd looks wrong after debootstrap`);
}
