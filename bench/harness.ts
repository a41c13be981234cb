/**
 * What the benchmarks share: the lab hosts as benchmark targets, the nodes prepared for both tools, the
 * inventories and configs of powerstack and Ansible for the same hosts, and timing a whole process.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import type { LabInfo } from "../test/lab/lab.js";

const execFileAsync = promisify(execFile);
export const PORTS = [22, 2201, 2202, 2203, 2204];
export const ROOT = resolve(import.meta.dirname, "..");
export const POWERSTACK = join(ROOT, "dist/bin/powerstack.js");
export const BENCH_ROLE = join(ROOT, "dist/bench/roles/bench/index.js");
export const VAULT_PASSWORD = "bench-vault-password";

/**
 * How both tools reach the lab's sshd's: `direct` (the default) runs them inside the lab's switch
 * namespace and connects over plain TCP, as to real servers; `proxy` goes through the lab's
 * ProxyCommand (`nc` in that namespace), as the figures before 2026-12-06 did. `nc` cannot turn Nagle's
 * algorithm off on its socket, which costs both tools about 40 ms per exchange.
 */
export const VIA = flag("--via", "direct") as "direct" | "proxy";
const SWITCH_NS = "labsw";

/** A command line as the benchmark runs it: inside the switch namespace when connecting directly. */
export function viaLab(cmd: string[]): string[] {
  return VIA === "direct" ? ["ip", "netns", "exec", SWITCH_NS, ...cmd] : cmd;
}

/** `--name value` from argv, or the default. */
export function flag(name: string, def: string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : def;
}

export interface Target {
  name: string;
  ip: string;
  port: number;
}

export function sh(cmd: string, opts: { input?: string } = {}): string {
  return execFileSync("sh", ["-c", cmd], {
    encoding: "utf8",
    input: opts.input,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** A command on a lab node as root, through the lab's ssh_config. */
export function labSsh(lab: LabInfo, node: string, cmd: string): Promise<{ stdout: string }> {
  // No local shell between us and ssh: the remote command's `$p` must reach the node's shell untouched.
  return execFileAsync("ssh", ["-F", lab.sshConfigFile, node, cmd], { maxBuffer: 1 << 24 });
}

/** Run a command, return wall seconds and output; throws on a non-zero exit. */
export function timed(
  cmd: string[],
  env: Record<string, string>,
): Promise<{ seconds: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd[0]!, cmd.slice(1), {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0)
        reject(new Error(`${cmd.join(" ")} exited ${code}\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`));
      else resolvePromise({ seconds, stdout, stderr });
    });
  });
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function targets(lab: LabInfo, count: number): Target[] {
  const out: Target[] = [];
  for (const port of PORTS)
    for (const n of lab.nodes)
      if (out.length < count)
        out.push({ name: `h${String(out.length + 1).padStart(2, "0")}`, ip: n.ip, port });
  return out;
}

export async function prepareNodes(lab: LabInfo, dir: string): Promise<string> {
  // No local shell between us and ssh: the remote command's `$p` must reach the node's shell untouched.
  const ssh = (node: string, cmd: string) =>
    execFileAsync("ssh", ["-F", lab.sshConfigFile, node, cmd], { maxBuffer: 1 << 24 });
  await Promise.all(
    lab.nodes.map(async (n) => {
      // Extra sshd's for more benchmark hosts per node, python3 for Ansible's modules, and the play's package
      // (up to five benchmark hosts share a node: concurrent first installs would fight over apt's locks).
      await ssh(
        n.name,
        `for p in ${PORTS.slice(1).join(" ")}; do ss -ltn | grep -q ":$p " || /usr/sbin/sshd -p $p -o PidFile=/run/sshd-$p.pid; done`,
      );
      await ssh(
        n.name,
        "dpkg -s python3-apt bc >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-apt bc >/dev/null 2>&1 || (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-apt bc >/dev/null)",
      );
    }),
  );
  return knownHostsFor(lab, dir);
}

/** A known_hosts file trusting every benchmark port of every node (by address, as both tools connect). */
export function knownHostsFor(lab: LabInfo, dir: string): string {
  // Every port of a node serves the node's host keys: trust them under each [ip]:port name. The lab
  // writes `ip,name type key` lines.
  const known = readFileSync(lab.knownHostsFile, "utf8")
    .split("\n")
    .filter((l) => /^10\.77\./.test(l));
  const lines = known.flatMap((l) => {
    const [hosts, ...rest] = l.split(" ");
    const ip = hosts!.split(",")[0]!;
    return PORTS.map((p) => `${p === 22 ? ip : `[${ip}]:${p}`} ${rest.join(" ")}`);
  });
  const file = join(dir, "known_hosts");
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

export function writePowerstack(
  dir: string,
  lab: LabInfo,
  knownHosts: string,
  hosts: Target[],
): { inventory: string; playbook: string } {
  const inventory = join(dir, `inventory-${hosts.length}.yaml`);
  writeFileSync(
    inventory,
    stringify({
      vault_file: "vault.yaml",
      cluster: { nfs_network: "10.0.0.0/8" },
      ssh: {
        user: "root",
        key_file: lab.keyFile,
        known_hosts: "strict",
        known_hosts_file: knownHosts,
        ...(VIA === "proxy" ? { proxy_command: lab.proxyCommand } : {}),
      },
      // Internal IPs are placeholders (unique, as the inventory requires); the bench role does not use them.
      nodes: hosts.map((h, i) => ({
        name: h.name,
        role: i === 0 ? "control" : "worker",
        ssh_address: h.ip,
        ssh_port: h.port,
        internal_ip: `10.200.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        ...(i === 0 ? { storage_disk: "/dev/vdb" } : {}),
      })),
    }),
  );
  const playbook = join(dir, "bench-play.yaml");
  writeFileSync(playbook, stringify([{ name: "bench", hosts: "all", roles: [BENCH_ROLE] }]));
  return { inventory, playbook };
}

export function writeAnsible(
  dir: string,
  lab: LabInfo,
  knownHosts: string,
  hosts: Target[],
): { inventory: string; cfg: string } {
  const inventory = join(dir, `ansible-${hosts.length}.yml`);
  const proxy = VIA === "proxy" ? `-o ProxyCommand="${lab.proxyCommand}" ` : "";
  const common = `${proxy}-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes`;
  writeFileSync(
    inventory,
    stringify({
      all: {
        hosts: Object.fromEntries(hosts.map((h) => [h.name, { ansible_host: h.ip, ansible_port: h.port }])),
        // The same groups as powerstack's node roles: the first host is the control node.
        children: {
          control: { hosts: { [hosts[0]!.name]: null } },
          workers: { hosts: Object.fromEntries(hosts.slice(1).map((h) => [h.name, null])) },
        },
        vars: {
          ansible_user: "root",
          ansible_ssh_private_key_file: lab.keyFile,
          ansible_ssh_common_args: common,
          ansible_python_interpreter: "/usr/bin/python3",
        },
      },
    }),
  );
  const cfg = join(dir, `ansible-${hosts.length}.cfg`);
  mkdirSync("/tmp/acp", { recursive: true });
  writeFileSync(
    cfg,
    [
      "[defaults]",
      `forks = ${hosts.length}`,
      "gathering = explicit",
      "host_key_checking = True",
      "retry_files_enabled = False",
      "[ssh_connection]",
      "pipelining = True",
      "ssh_args = -o ControlMaster=auto -o ControlPersist=300s",
      "control_path = /tmp/acp/%%C",
    ].join("\n") + "\n",
  );
  return { inventory, cfg };
}

/**
 * The two commands the rerun benchmarks time: `powerstack up` of the bench play and `ansible-playbook` of
 * its Ansible twin, each through the lab (viaLab). `forks` only when the caller sets it (default 10).
 */
export function playCommands(
  ps: { inventory: string; playbook: string },
  an: { inventory: string },
  dir: string,
  forks?: number,
): { powerstack: string[]; ansible: string[] } {
  return {
    powerstack: viaLab([
      process.execPath,
      POWERSTACK,
      ...["-i", ps.inventory],
      ...(forks === undefined ? [] : ["--forks", String(forks)]),
      ...["--json", "--log-dir", join(dir, "logs"), "up", "--playbook", ps.playbook],
    ]),
    ansible: viaLab(["ansible-playbook", "-i", an.inventory, join(ROOT, "bench/ansible/play.yml")]),
  };
}
