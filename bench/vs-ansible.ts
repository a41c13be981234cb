/**
 * powerstack vs ansible-playbook, no-op rerun of the same five-task play on the same lab hosts, in one run.
 *
 *   npm run build && npx tsx bench/vs-ansible.ts [--hosts 1,3,10,50] [--repeats 5]
 *
 * Hosts are real sshd's in the tier-1 container lab: 10 nodes, and up to 5 sshd ports per node for more
 * hosts (the cost measured is the controller's, not the nodes'). Ansible is tuned as its users tune it:
 * pipelining, forks = hosts, ControlPersist, no fact gathering. Each tool converges once, then both
 * no-op reruns alternate `repeats` times; medians are compared. Wall time is measured around the whole
 * process (start-up included), as a user experiences it.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { VaultStore } from "../src/vault/store.js";
import { labDown, labUp, type LabInfo } from "../test/lab/lab.js";
import { formatStartup, measureStartup } from "./startup.js";

const execFileAsync = promisify(execFile);
const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : def;
};
const HOST_COUNTS = flag("--hosts", "1,3,10,50").split(",").map(Number);
const REPEATS = Number(flag("--repeats", "5"));
const NODES = Math.min(10, Math.max(...HOST_COUNTS));
const PORTS = [22, 2201, 2202, 2203, 2204];
const ROOT = resolve(import.meta.dirname, "..");
const POWERSTACK = join(ROOT, "dist/bin/powerstack.js");
const BENCH_ROLE = join(ROOT, "dist/bench/roles/bench/index.js");
const VAULT_PASSWORD = "bench-vault-password";

interface Target {
  name: string;
  ip: string;
  port: number;
}

function sh(cmd: string, opts: { input?: string } = {}): string {
  return execFileSync("sh", ["-c", cmd], {
    encoding: "utf8",
    input: opts.input,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Run a command, return wall seconds and output; throws on a non-zero exit. */
function timed(cmd: string[], env: Record<string, string>): Promise<{ seconds: number; stdout: string }> {
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
      else resolvePromise({ seconds, stdout });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function targets(lab: LabInfo, count: number): Target[] {
  const out: Target[] = [];
  for (const port of PORTS)
    for (const n of lab.nodes)
      if (out.length < count)
        out.push({ name: `h${String(out.length + 1).padStart(2, "0")}`, ip: n.ip, port });
  return out;
}

async function prepareNodes(lab: LabInfo, dir: string): Promise<string> {
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

function writePowerstack(
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
        proxy_command: lab.proxyCommand,
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

function writeAnsible(
  dir: string,
  lab: LabInfo,
  knownHosts: string,
  hosts: Target[],
): { inventory: string; cfg: string } {
  const inventory = join(dir, `ansible-${hosts.length}.yml`);
  const common = `-o ProxyCommand="${lab.proxyCommand}" -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes`;
  writeFileSync(
    inventory,
    stringify({
      all: {
        hosts: Object.fromEntries(hosts.map((h) => [h.name, { ansible_host: h.ip, ansible_port: h.port }])),
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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "powerstack-bench-"));
  process.stderr.write(`[bench] lab of ${NODES} nodes...\n`);
  const lab = await labUp({ nodes: NODES, hold: true, waitSec: 1800 });
  const rows: Array<{ hosts: number; ps: number; an: number; rss: number }> = [];
  try {
    const knownHosts = await prepareNodes(lab, dir);
    await VaultStore.create(join(dir, "vault.yaml"), VAULT_PASSWORD, {
      grafana_admin_password: "bench-grafana",
      k3s_token: "bench-token",
    });
    const env = {
      POWERSTACK_VAULT_PASSWORD: VAULT_PASSWORD,
      CI: "true",
      ANSIBLE_LOCAL_TEMP: join(dir, "ansible-tmp"),
      ANSIBLE_NOCOLOR: "1",
    };
    for (const count of HOST_COUNTS) {
      const hosts = targets(lab, count);
      const ps = writePowerstack(dir, lab, knownHosts, hosts);
      const an = writeAnsible(dir, lab, knownHosts, hosts);
      const powerstack = [
        process.execPath,
        POWERSTACK,
        "-i",
        ps.inventory,
        "--forks",
        String(count),
        "--json",
        "--log-dir",
        join(dir, "logs"),
        "up",
        "--playbook",
        ps.playbook,
      ];
      const ansible = ["ansible-playbook", "-i", an.inventory, join(ROOT, "bench/ansible/play.yml")];
      const anEnv = { ...env, ANSIBLE_CONFIG: an.cfg };
      process.stderr.write(`[bench] ${count} hosts: converge...\n`);
      // Twice each: with several benchmark hosts per node, a first converge can race on shared node state.
      for (let i = 0; i < 2; i++) {
        await timed(powerstack, env);
        await timed(ansible, anEnv);
      }
      const psTimes: number[] = [];
      const anTimes: number[] = [];
      let rss = 0;
      for (let i = 0; i < REPEATS; i++) {
        const p = await timed(powerstack, env);
        const recap = p.stdout
          .split("\n")
          .filter((l) => l.includes('"type":"recap"'))
          .map((l) => JSON.parse(l))[0];
        const changed = Object.values(recap.hosts as Record<string, { changed: number }>).reduce(
          (a, h) => a + h.changed,
          0,
        );
        if (changed !== 0) throw new Error(`powerstack rerun changed ${changed} tasks: not a no-op`);
        rss = Math.max(rss, recap.peakRssMiB);
        psTimes.push(p.seconds);
        const a = await timed(ansible, anEnv);
        if (!/changed=0\b/.test(a.stdout) || /changed=[1-9]/.test(a.stdout))
          throw new Error(`ansible rerun changed something:\n${a.stdout.slice(-1500)}`);
        anTimes.push(a.seconds);
      }
      rows.push({ hosts: count, ps: median(psTimes), an: median(anTimes), rss });
      process.stderr.write(
        `[bench] ${count} hosts: powerstack ${median(psTimes).toFixed(2)} s, ansible ${median(anTimes).toFixed(2)} s\n`,
      );
    }
  } finally {
    await labDown();
    rmSync(dir, { recursive: true, force: true }); // inventories, vault, Ansible's temp and the run logs
  }

  const startup = measureStartup();

  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `\npowerstack vs ansible-playbook ${sh("ansible --version | head -1")
      .trim()
      .replace(/^ansible /, "")}: no-op rerun of the same 5-task play`,
  );
  console.log(
    `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpu}), Node ${process.version}, median of ${REPEATS}, same lab hosts, same run\n`,
  );
  console.log("| hosts | powerstack | ansible | ansible / powerstack | powerstack peak RSS |");
  console.log("|---:|---:|---:|---:|---:|");
  for (const r of rows)
    console.log(
      `| ${r.hosts} | ${r.ps.toFixed(2)} s | ${r.an.toFixed(2)} s | ${(r.an / r.ps).toFixed(1)}x | ${r.rss.toFixed(0)} MiB |`,
    );
  console.log(`\n${formatStartup(startup)}`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
