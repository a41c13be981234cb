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
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { VaultStore } from "../src/vault/store.js";
import { labDown, labUp } from "../test/lab/lab.js";
import {
  flag,
  median,
  prepareNodes,
  sh,
  targets,
  timed,
  playCommands,
  VAULT_PASSWORD,
  writeAnsible,
  writePowerstack,
} from "./harness.js";
import { formatStartup, measureStartup } from "./startup.js";

const HOST_COUNTS = flag("--hosts", "1,3,10,50").split(",").map(Number);
const REPEATS = Number(flag("--repeats", "5"));
const NODES = Math.min(10, Math.max(...HOST_COUNTS));

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
      const { powerstack, ansible } = playCommands(ps, an, dir, count);
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
    `\npowerstack vs ansible-playbook ${sh("ansible --version 2>/dev/null | sed -n 1p")
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
