/**
 * Where the wall time of a no-op rerun at ONE host goes: the benchmark play (bench/roles/bench) run with
 * POWERSTACK_TIMING=1, its phase marks (bin/powerstack.ts prints them at exit) turned into phases, median
 * of `repeats` runs, alternating with ansible-playbook on the same lab host for the ratio.
 *
 *   npm run build && npx tsx bench/breakdown.ts [--repeats 7] [--no-ansible]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VaultStore } from "../src/vault/store.js";
import { labDown, labUp } from "../test/lab/lab.js";
import {
  flag,
  median,
  prepareNodes,
  targets,
  timed,
  playCommands,
  VAULT_PASSWORD,
  writeAnsible,
  writePowerstack,
} from "./harness.js";

const REPEATS = Number(flag("--repeats", "7"));
const WITH_ANSIBLE = !process.argv.includes("--no-ansible");

interface Timing {
  bootstrapComplete: number;
  marks: Array<[string, number]>;
}

/** Phases of one run (ms), from its marks; host names are dropped (one host). */
export function phases(t: Timing, wallMs: number): Array<[string, number]> {
  const at = (name: string) => t.marks.find(([n]) => n === name)?.[1];
  const all = (re: RegExp) => t.marks.filter(([n]) => re.test(n));
  const out: Array<[string, number]> = [];
  const span = (label: string, from: number | undefined, to: number | undefined) => {
    if (from !== undefined && to !== undefined) out.push([label, to - from]);
  };
  span("node start-up (to bootstrap complete)", 0, t.bootstrapComplete);
  span("load bin/powerstack.js", t.bootstrapComplete, at("bin"));
  span("import src/cli/main.js", at("bin"), at("main-imported"));
  span("argv + import of the up command (engine, ssh2, ui)", at("main-imported"), at("inventory:start"));
  span("inventory load", at("inventory:start"), at("inventory:end"));
  const kdf = all(/^vault:kdf:/);
  span("vault: password + read + parse (without KDF)", at("inventory:end"), at("vault:open:end"));
  if (kdf.length >= 2) out.push(["  of which vault KDF (PBKDF2, 10000 rounds)", kdf[1]![1] - kdf[0]![1]]);
  const connects = all(/^ssh:connect:.*:start$/);
  const connectEnds = all(/^ssh:connect:.*:end$/);
  span("playbook + role imports + runner", at("vault:open:end"), connects[0]?.[1]);
  span("SSH connect (ProxyCommand, handshake, auth)", connects[0]?.[1], connectEnds[0]?.[1]);
  const execs = t.marks.filter(([n]) => n.startsWith("ssh:exec:"));
  let last = connectEnds[0]?.[1];
  let probeNo = 0;
  for (let i = 0; i + 1 < execs.length; i += 2) {
    const [name, start] = execs[i]!;
    const end = execs[i + 1]![1];
    const kind = name.split(":")[3];
    span(`gap before ${kind}${kind === "probe" ? ` ${++probeNo}` : ""} (engine: tasks, plan)`, last, start);
    span(kind === "probe" ? `probe batch ${probeNo} (1 round trip)` : `${kind} (1 round trip)`, start, end);
    last = end;
  }
  const closeStart = all(/^ssh:close:.*:start$/)[0]?.[1];
  const closeEnd = all(/^ssh:close:.*:end$/)[0]?.[1];
  span("plan of the last play + recap until close", last, closeStart);
  span("SSH close", closeStart, closeEnd);
  span("after close until main returns (run log)", closeEnd, at("main-done"));
  span("main returned until exit", at("main-done"), at("exit"));
  span("exit until the parent saw it", at("exit"), wallMs);
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "powerstack-breakdown-"));
  const lab = await labUp({ nodes: 1, hold: true, waitSec: 1800 });
  try {
    const knownHosts = await prepareNodes(lab, dir);
    await VaultStore.create(join(dir, "vault.yaml"), VAULT_PASSWORD, {
      grafana_admin_password: "bench-grafana",
      k3s_token: "bench-token",
    });
    const hosts = targets(lab, 1);
    const ps = writePowerstack(dir, lab, knownHosts, hosts);
    const an = writeAnsible(dir, lab, knownHosts, hosts);
    const env = { POWERSTACK_VAULT_PASSWORD: VAULT_PASSWORD, CI: "true", POWERSTACK_TIMING: "1" };
    const anEnv = {
      ANSIBLE_CONFIG: an.cfg,
      ANSIBLE_LOCAL_TEMP: join(dir, "ansible-tmp"),
      ANSIBLE_NOCOLOR: "1",
    };
    const { powerstack, ansible } = playCommands(ps, an, dir);
    await timed(powerstack, env);
    if (WITH_ANSIBLE) await timed(ansible, anEnv);
    const runs: Array<Array<[string, number]>> = [];
    const walls: number[] = [];
    const anWalls: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const r = await timed(powerstack, env);
      if (!/"changed":0[,}]/.test(r.stdout) || /"changed":[1-9]/.test(r.stdout))
        throw new Error(`powerstack rerun changed something:\n${r.stdout.slice(-1500)}`);
      const line = r.stderr.split("\n").find((l) => l.startsWith("powerstack-timing "));
      if (!line) throw new Error(`no timing line on stderr:\n${r.stderr.slice(-1500)}`);
      const t = JSON.parse(line.slice("powerstack-timing ".length)) as Timing;
      runs.push(phases(t, r.seconds * 1000));
      walls.push(r.seconds);
      if (WITH_ANSIBLE) anWalls.push((await timed(ansible, anEnv)).seconds);
    }
    console.log(`\nno-op rerun at 1 host, median of ${REPEATS} runs (ms; phases in order)\n`);
    console.log("| phase | median ms | min | max |");
    console.log("|---|---:|---:|---:|");
    for (let p = 0; p < runs[0]!.length; p++) {
      const xs = runs.map((r) => r[p]?.[1] ?? NaN);
      console.log(
        `| ${runs[0]![p]![0]} | ${median(xs).toFixed(1)} | ${Math.min(...xs).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`,
      );
    }
    console.log(`| **wall (around the process)** | **${(median(walls) * 1000).toFixed(0)}** | | |`);
    if (WITH_ANSIBLE)
      console.log(
        `\nansible-playbook: ${median(anWalls).toFixed(2)} s; powerstack ${median(walls).toFixed(2)} s; ratio ${(median(anWalls) / median(walls)).toFixed(1)}x`,
      );
  } finally {
    await labDown();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
