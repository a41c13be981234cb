/**
 * First converge of the host layer, powerstack vs ansible-playbook, each on FRESH lab nodes (a new lab
 * per run: new root filesystems, new empty disks), same preparation, alternating which tool goes first.
 *
 *   npm run bench:converge   (= build, then tsx bench/first-converge.ts [--repeats 3] [--nodes 3] [--via direct])
 *
 * The work (powerstack: roles kernel and storage, bench/roles/converge; Ansible: bench/ansible/converge.yml):
 * on every node the sysctl tools and kernel.perf_event_paranoid (drop-in and live), a package from the
 * Debian mirror (`apt-get update` first, as powerstack's apt does), a systemd unit file and its service
 * enabled and started; on the control node btrfs-progs, a BTRFS filesystem on its empty disk (/dev/vdb,
 * a loop device), mounted by UUID from fstab, and three owned directories on it.
 * Preparation, untimed and the same for both: `apt-get update` and python3 + python3-apt (what Ansible's
 * modules need on a node). Packages come through the lab's relay to the host's mirror, so a slow mirror
 * slows both tools; the end state is checked the same way after each run.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { VaultStore } from "../src/vault/store.js";
import { labDown, labUp, type LabInfo } from "../test/lab/lab.js";
import {
  flag,
  knownHostsFor,
  labSsh,
  median,
  POWERSTACK,
  ROOT,
  sh,
  targets,
  timed,
  VAULT_PASSWORD,
  VIA,
  viaLab,
  writeAnsible,
  writePowerstack,
} from "./harness.js";

const REPEATS = Number(flag("--repeats", "3"));
const NODES = Number(flag("--nodes", "3"));
const CONVERGE_ROLE = join(ROOT, "dist/bench/roles/converge/index.js");
/** `--json-out FILE`: keep powerstack's --json output of the last run (task durations) for a closer look. */
const JSON_OUT = flag("--json-out", "");

type Tool = "powerstack" | "ansible";

/** A fresh lab, prepared the same way for either tool. */
async function freshLab(): Promise<LabInfo> {
  const lab = await labUp({ nodes: NODES, hold: true, waitSec: 1800 });
  await Promise.all(
    lab.nodes.map((n) =>
      labSsh(
        lab,
        n.name,
        "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-apt >/dev/null",
      ),
    ),
  );
  return lab;
}

/** The end state both tools must leave; throws naming what is missing. */
async function checkConverged(lab: LabInfo): Promise<void> {
  const control = lab.nodes[0]!.name;
  const checks: Array<[string, string, string]> = [
    [control, "findmnt -n -o FSTYPE /mnt/data", "btrfs"],
    [control, "blkid -s LABEL -o value /dev/vdb", "powerstack-data"],
    [control, "grep -c ' /mnt/data btrfs defaults,noatime ' /etc/fstab", "1"],
    [control, "stat -c %u:%g:%a /mnt/data/grafana /mnt/data/prometheus", "472:472:775\n1000:2000:775"],
    ...lab.nodes.flatMap((n): Array<[string, string, string]> => [
      [n.name, "cat /proc/sys/kernel/perf_event_paranoid", "-1"],
      [n.name, "grep -v '^#' /etc/sysctl.d/90-powerstack.conf", "kernel.perf_event_paranoid = -1"],
      [
        n.name,
        "dpkg-query -W -f '${Status}' bc btrfs-progs 2>/dev/null | grep -o 'install ok installed' | head -1",
        "install ok installed",
      ],
      [
        n.name,
        "systemctl is-enabled bench-converge.service; systemctl is-active bench-converge.service",
        "enabled\nactive",
      ],
    ]),
  ];
  for (const [node, cmd, want] of checks) {
    const got = (
      await labSsh(lab, node, cmd).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }))
    ).stdout.trim();
    // The sysctl drop-in: each tool writes it its own way (`k = v` or `k=v`).
    const norm = (s: string) => s.replace(/\s*=\s*/g, "=");
    if (norm(got) !== norm(want))
      throw new Error(`${node}: \`${cmd}\` gave ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
}

async function convergeOnce(tool: Tool, dir: string): Promise<{ seconds: number; changed: number }> {
  const lab = await freshLab();
  const knownHosts = knownHostsFor(lab, dir);
  const hosts = targets(lab, NODES);
  let result: { seconds: number; changed: number };
  if (tool === "powerstack") {
    const vault = join(dir, "vault.yaml");
    rmSync(vault, { force: true });
    await VaultStore.create(vault, VAULT_PASSWORD, {
      grafana_admin_password: "converge-grafana-pw",
      k3s_token: "converge-k3s-token",
    });
    const { inventory } = writePowerstack(dir, lab, knownHosts, hosts);
    const playbook = join(dir, "converge.yaml");
    writeFileSync(
      playbook,
      stringify([
        { name: "Host layer", hosts: "all", roles: ["kernel", CONVERGE_ROLE] },
        { name: "Storage", hosts: "control", roles: ["storage"] },
      ]),
    );
    const r = await timed(
      viaLab([
        process.execPath,
        POWERSTACK,
        "-i",
        inventory,
        "--forks",
        String(NODES),
        "--json",
        "--log-dir",
        join(dir, "logs"),
        "up",
        "--playbook",
        playbook,
      ]),
      { POWERSTACK_VAULT_PASSWORD: VAULT_PASSWORD, CI: "true" },
    );
    if (JSON_OUT) writeFileSync(JSON_OUT, r.stdout);
    const recap = JSON.parse(r.stdout.split("\n").find((l) => l.includes('"type":"recap"'))!);
    const changed = Object.values(recap.hosts as Record<string, { changed: number }>).reduce(
      (a, h) => a + h.changed,
      0,
    );
    result = { seconds: r.seconds, changed };
  } else {
    const an = writeAnsible(dir, lab, knownHosts, hosts);
    const r = await timed(
      viaLab(["ansible-playbook", "-i", an.inventory, join(ROOT, "bench/ansible/converge.yml")]),
      {
        ANSIBLE_CONFIG: an.cfg,
        ANSIBLE_LOCAL_TEMP: join(dir, "ansible-tmp"),
        ANSIBLE_NOCOLOR: "1",
      },
    );
    const changed = [...r.stdout.matchAll(/changed=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
    result = { seconds: r.seconds, changed };
  }
  await checkConverged(lab);
  return result;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "powerstack-converge-"));
  const times: Record<Tool, number[]> = { powerstack: [], ansible: [] };
  const changes: Record<Tool, number[]> = { powerstack: [], ansible: [] };
  try {
    for (let i = 0; i < REPEATS; i++) {
      const order: Tool[] = i % 2 === 0 ? ["powerstack", "ansible"] : ["ansible", "powerstack"];
      for (const tool of order) {
        const r = await convergeOnce(tool, dir);
        times[tool].push(r.seconds);
        changes[tool].push(r.changed);
        process.stderr.write(
          `[converge] run ${i + 1} ${tool}: ${r.seconds.toFixed(2)} s, ${r.changed} changed\n`,
        );
      }
    }
  } finally {
    await labDown();
    rmSync(dir, { recursive: true, force: true });
  }
  const ps = median(times.powerstack);
  const an = median(times.ansible);
  console.log(
    `\nfirst converge of the host layer on ${NODES} fresh lab nodes (${VIA}), powerstack vs ansible-playbook ${sh(
      "ansible --version 2>/dev/null | sed -n 1p",
    )
      .trim()
      .replace(/^ansible /, "")}`,
  );
  console.log(
    `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), Node ${process.version}, median of ${REPEATS}, alternating\n`,
  );
  console.log("| tool | runs (s) | median | changed tasks |");
  console.log("|---|---|---:|---:|");
  for (const t of ["powerstack", "ansible"] as const)
    console.log(
      `| ${t} | ${times[t].map((x) => x.toFixed(2)).join(", ")} | ${median(times[t]).toFixed(2)} s | ${changes[t].join(", ")} |`,
    );
  console.log(`\nansible / powerstack: ${(an / ps).toFixed(1)}x`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
