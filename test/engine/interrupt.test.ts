/**
 * An interrupted run (Ctrl-C): the runner starts no new task, the tasks that were running end as
 * `interrupted` with their commands stopped on the node, and the recap counts them. Two real OpenSSH servers
 * on loopback (the "nodes" are this machine: the test checks /proc), and a local play for the operator's
 * machine.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Runner, type Play, type Reporter } from "../../src/engine/runner.js";
import { task, type Task, type TaskResult } from "../../src/engine/types.js";
import { command } from "../../src/modules/command.js";
import { SshHost } from "../../src/transport/ssh-host.js";
import { startSshd, type Sshd } from "../support/sshd.js";

let servers: Record<string, Sshd>;
let dir: string;
beforeAll(async () => {
  const [a, b] = await Promise.all([startSshd(), startSshd()]);
  servers = { a: a!, b: b! };
  dir = mkdtempSync(join(tmpdir(), "powerstack-interrupt-"));
});
afterAll(async () => {
  for (const f of ["a", "b", "local"].map((h) => join(dir, `${h}.pid`)))
    if (existsSync(f)) {
      try {
        process.kill(Number(readFileSync(f, "utf8")), "SIGKILL");
      } catch {
        /* gone, as it should be */
      }
    }
  rmSync(dir, { recursive: true, force: true });
  await Promise.all(Object.values(servers ?? {}).map((s) => s.stop()));
});

const pidFile = (host: string) => join(dir, `${host}.pid`);
const started = (host: string) => existsSync(pidFile(host)) && readFileSync(pidFile(host), "utf8").length > 0;
const gone = (pid: number) => {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true;
  }
};

/** A slow task (a child that would run for 5 minutes) and one that must never start after the interrupt. */
const tasks = (host: string): Task[] => [
  task({
    name: "slow",
    module: command,
    params: { cmd: `sleep 300 & echo $! > ${pidFile(host)}; wait`, timeoutSec: 600 },
  }),
  task({ name: "after", module: command, params: { cmd: `touch ${join(dir, `${host}.after`)}` } }),
];

function runner(): { runner: Runner; results: TaskResult[] } {
  const results: TaskResult[] = [];
  const reporter: Reporter = { playStart() {}, taskResult: (r) => results.push(r), playEnd() {} };
  const r = new Runner({
    check: false,
    forks: 5,
    reporter,
    connect: (h) =>
      SshHost.connect({ name: h, address: "127.0.0.1", port: servers[h]!.port }, servers[h]!.settings()),
  });
  return { runner: r, results };
}

async function until(what: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("an interrupted run (real sshd on loopback)", () => {
  test("running tasks end `interrupted` with their processes gone; nothing new starts; the recap counts them", async () => {
    const { runner: run, results } = runner();
    const play: Play = { name: "slow play", hosts: ["a", "b"], tasksFor: (h) => ({ tasks: tasks(h) }) };
    const done = run.runPlay(play);
    await until(() => started("a") && started("b"));
    const pids = ["a", "b"].map((h) => Number(readFileSync(pidFile(h), "utf8")));
    await run.interrupt("SIGINT");
    await done;
    await run.runPlay({ ...play, name: "a later play" }); // skipped: the run is stopping
    await run.close();

    expect(run.interrupted).toBe("SIGINT");
    expect(results.map((r) => `${r.play}/${r.host}/${r.task}: ${r.status}`).sort()).toEqual([
      "slow play/a/slow: interrupted",
      "slow play/b/slow: interrupted",
    ]);
    expect(results[0]!.msg).toMatch(/interrupted: command stopped on the node/);
    await until(() => pids.every(gone), 3_000);
    expect(existsSync(join(dir, "a.after")) || existsSync(join(dir, "b.after"))).toBe(false);
    expect(run.recap().get("a")).toEqual({
      ok: 0,
      changed: 0,
      failed: 0,
      skipped: 0,
      unreachable: 0,
      interrupted: 1,
    });
  });

  test("a local play (the operator's machine): its command's process group is ended too", async () => {
    const { runner: run, results } = runner();
    const done = run.runPlay({
      name: "local",
      hosts: ["local"],
      local: true,
      tasksFor: (h) => ({ tasks: tasks(h) }),
    });
    await until(() => started("local"));
    const pid = Number(readFileSync(pidFile("local"), "utf8"));
    await run.interrupt("SIGTERM");
    await done;
    expect(results.map((r) => `${r.task}: ${r.status}`)).toEqual(["slow: interrupted"]);
    await until(() => gone(pid), 3_000);
  });
});
