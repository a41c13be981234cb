/**
 * Wall time of a no-op rerun of the host layer (roles kernel and storage: what the container lab can
 * run) on the 3-node lab, through the built CLI as a user runs it.
 *
 *   npm run build && npx tsx bench/rerun.ts [--repeats 7]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { VaultStore } from "../src/vault/store.js";
import { labDown, labUp } from "../test/lab/lab.js";

const i = process.argv.indexOf("--repeats");
const REPEATS = i > 0 ? Number(process.argv[i + 1]) : 7;
const ROOT = resolve(import.meta.dirname, "..");
const PASSWORD = "bench-rerun-vault";

async function main(): Promise<void> {
  const lab = await labUp({ hold: true, waitSec: 1800 });
  const logs = mkdtempSync(join(tmpdir(), "powerstack-rerun-"));
  try {
    await VaultStore.create(lab.vaultFile, PASSWORD, {
      grafana_admin_password: "bench-grafana",
      k3s_token: "bench-token",
    });
    const up = () => {
      const started = process.hrtime.bigint();
      const r = spawnSync(
        process.execPath,
        [
          join(ROOT, "dist/bin/powerstack.js"),
          "-i",
          lab.inventoryFile,
          "--log-dir",
          logs,
          "--json",
          "up",
          "--only",
          "kernel,storage",
        ],
        {
          env: { ...process.env, POWERSTACK_VAULT_PASSWORD: PASSWORD, CI: "true" },
          encoding: "utf8",
        },
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (r.status !== 0) throw new Error(`up failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
      const recap = JSON.parse(r.stdout.split("\n").find((l) => l.includes('"type":"recap"'))!);
      const changed = Object.values(recap.hosts as Record<string, { changed: number }>).reduce(
        (a, h) => a + h.changed,
        0,
      );
      return { seconds, changed };
    };
    const first = up();
    const times: number[] = [];
    for (let k = 0; k < REPEATS; k++) {
      const r = up();
      if (r.changed !== 0) throw new Error(`rerun ${k + 1} changed ${r.changed} tasks: not idempotent`);
      times.push(r.seconds);
    }
    times.sort((a, b) => a - b);
    console.log(
      `host layer (kernel, storage) on 3 lab nodes: first run ${first.seconds.toFixed(2)} s (${first.changed} changes)`,
    );
    console.log(
      `no-op rerun: median ${times[Math.floor(times.length / 2)]!.toFixed(2)} s, min ${times[0]!.toFixed(2)} s, max ${times.at(-1)!.toFixed(2)} s over ${REPEATS} runs, 0 changes each`,
    );
  } finally {
    await labDown();
    rmSync(logs, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
