/**
 * The runner against real OpenSSH servers on loopback. Tasks work on files in a temp dir (safe on the
 * machine running the tests); the modules that touch packages, disks and services are tested in the lab.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FACTS_SCRIPT } from "../../src/engine/facts.js";
import { Runner, type Play, type Reporter } from "../../src/engine/runner.js";
import { task, type Task, type TaskResult } from "../../src/engine/types.js";
import { blockInFile, lineInFile } from "../../src/modules/line-in-file.js";
import { command } from "../../src/modules/command.js";
import { copy } from "../../src/modules/copy.js";
import { file } from "../../src/modules/file.js";
import type { ExecOptions, Host } from "../../src/transport/host.js";
import { LocalHost } from "../../src/transport/local-host.js";
import { SshHost } from "../../src/transport/ssh-host.js";
import { startSshd, type Sshd } from "../support/sshd.js";

let a: Sshd;
let b: Sshd;
let dir: string;
beforeAll(async () => {
  [a, b] = await Promise.all([startSshd(), startSshd()]);
  dir = mkdtempSync(join(tmpdir(), "powerstack-engine-"));
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Counts remote commands, to prove a no-op rerun is one round trip per host (plus facts). */
class CountingHost implements Host {
  calls = 0;
  constructor(readonly inner: Host) {}
  get name() {
    return this.inner.name;
  }
  exec(cmd: string, opts?: ExecOptions) {
    this.calls++;
    return this.inner.exec(cmd, opts);
  }
  close() {
    return this.inner.close();
  }
}

function collect(): Reporter & { results: TaskResult[] } {
  const results: TaskResult[] = [];
  return { results, playStart() {}, taskResult: (r) => results.push(r), playEnd() {} };
}

const servers = () => ({ a, b });

async function runOnce(play: Omit<Play, "hosts"> & { hosts?: string[] }, check = false) {
  const reporter = collect();
  const hosts: CountingHost[] = [];
  const runner = new Runner({
    check,
    forks: 5,
    reporter,
    connect: async (name) => {
      const s = servers()[name as "a" | "b"];
      const h = new CountingHost(
        await SshHost.connect({ name, address: "127.0.0.1", port: s.port }, s.settings()),
      );
      hosts.push(h);
      return h;
    },
  });
  await runner.runPlay({ hosts: ["a"], ...play });
  await runner.close();
  return {
    results: reporter.results,
    recap: runner.recap(),
    calls: Object.fromEntries(hosts.map((h) => [h.name, h.calls])),
  };
}

function fileTasks(root: string): Task[] {
  return [
    task({ name: "dir", module: file, params: { path: `${root}/etc`, state: "directory", mode: "0750" } }),
    task({
      name: "config",
      module: copy,
      params: { path: `${root}/etc/app.conf`, content: "port = 8080\n", mode: "0640" },
      notify: ["restart app"],
    }),
    task({
      name: "fstab line",
      module: lineInFile,
      params: {
        path: `${root}/etc/fstab`,
        line: "UUID=1 /mnt/data btrfs defaults 0 2",
        match: /\s\/mnt\/data\s/,
        mode: "0644",
      },
    }),
    task({
      name: "block",
      module: blockInFile,
      params: {
        path: `${root}/etc/exports`,
        marker: "powerstack",
        block: "/mnt/data 198.51.100.0/24(rw)",
        mode: "0644",
      },
    }),
    task({
      name: "guarded command",
      module: command,
      params: { cmd: `touch ${root}/initialised`, creates: `${root}/initialised` },
    }),
  ];
}

const handlers = (root: string) => [
  task({ name: "restart app", module: command, params: { cmd: `echo restarted >> ${root}/restarts` } }),
];

describe("runner (real sshd on loopback)", () => {
  test("first run changes, second run is all ok in one probe round trip, handlers run only on change", async () => {
    const root = join(dir, "converge");
    writeFileSync(join(dir, "seed"), "");
    execFileSync("mkdir", ["-p", root]);
    const play = { name: "files", tasksFor: () => ({ tasks: fileTasks(root), handlers: handlers(root) }) };

    const first = await runOnce(play);
    expect(first.results.filter((r) => !r.handler).map((r) => r.status)).toEqual([
      "changed",
      "changed",
      "changed",
      "changed",
      "changed",
    ]);
    expect(first.results.filter((r) => r.handler).map((r) => [r.task, r.status])).toEqual([
      ["restart app", "changed"],
    ]);
    expect(readFileSync(`${root}/etc/app.conf`, "utf8")).toBe("port = 8080\n");
    expect((statSync(`${root}/etc/app.conf`).mode & 0o777).toString(8)).toBe("640");
    expect((statSync(`${root}/etc`).mode & 0o777).toString(8)).toBe("750");
    expect(readFileSync(`${root}/etc/exports`, "utf8")).toBe(
      "# BEGIN powerstack\n/mnt/data 198.51.100.0/24(rw)\n# END powerstack\n",
    );

    const second = await runOnce(play);
    expect(second.recap.get("a")).toEqual({
      ok: 5,
      changed: 0,
      failed: 0,
      skipped: 0,
      unreachable: 0,
      interrupted: 0,
    });
    // Facts + one batched probe for all five tasks; nothing applied, no handler.
    expect(second.calls.a).toBe(2);
    expect(readFileSync(`${root}/restarts`, "utf8")).toBe("restarted\n");
  });

  test("--check on a fresh host reports the changes and changes nothing", async () => {
    const root = join(dir, "checked");
    execFileSync("mkdir", ["-p", root]);
    const r = await runOnce(
      { name: "files", tasksFor: () => ({ tasks: fileTasks(root), handlers: handlers(root) }) },
      true,
    );
    // Five tasks and the handler they notify, all "would change".
    expect(r.results.map((x) => [x.task, x.status])).toEqual([
      ...["dir", "config", "fstab line", "block", "guarded command", "restart app"].map((t) => [
        t,
        "changed",
      ]),
    ]);
    expect(r.results.find((x) => x.task === "config")!.changes[0]!.diff).toEqual({
      path: `${root}/etc/app.conf`,
      before: "",
      after: "port = 8080\n",
    });
    expect(execFileSync("find", [root], { encoding: "utf8" }).trim()).toBe(root);
  });

  test("a drifted file is put back, and only that task changes", async () => {
    const root = join(dir, "drift");
    execFileSync("mkdir", ["-p", root]);
    const play = { name: "files", tasksFor: () => ({ tasks: fileTasks(root), handlers: handlers(root) }) };
    await runOnce(play);
    writeFileSync(`${root}/etc/app.conf`, "port = 1\n");
    const r = await runOnce(play);
    expect(r.results.filter((x) => x.status === "changed").map((x) => x.task)).toEqual([
      "config",
      "restart app",
    ]);
  });

  test("a failing task stops its host only; the other host finishes", async () => {
    const root = join(dir, "fail");
    execFileSync("mkdir", ["-p", `${root}/a`, `${root}/b`]);
    const r = await runOnce({
      name: "mixed",
      hosts: ["a", "b"],
      tasksFor: (host) => ({
        tasks: [
          task({
            name: "step 1",
            module: command,
            params: { cmd: host === "b" ? "echo disk on fire >&2; exit 7" : "true" },
          }),
          task({ name: "step 2", module: copy, params: { path: `${root}/${host}/done`, content: "ok\n" } }),
        ],
      }),
    });
    expect(r.results.map((x) => `${x.host}:${x.task}:${x.status}`).sort()).toEqual([
      "a:step 1:changed",
      "a:step 2:changed",
      "b:step 1:failed",
    ]);
    expect(r.results.find((x) => x.status === "failed")!.msg).toMatch(
      /b: command failed \(exit 7\)[\s\S]*disk on fire/,
    );
    expect(existsSync(`${root}/b/done`)).toBe(false);
  });

  test("any_errors_fatal stops every host", async () => {
    const root = join(dir, "fatal");
    execFileSync("mkdir", ["-p", root]);
    const r = await runOnce({
      name: "fatal",
      hosts: ["a", "b"],
      anyErrorsFatal: true,
      tasksFor: (host) => ({
        tasks: [
          task({ name: "first", module: command, params: { cmd: host === "a" ? "exit 1" : "sleep 1" } }),
          task({ name: "second", module: copy, params: { path: `${root}/${host}`, content: "x" } }),
        ],
      }),
    });
    expect(r.results.some((x) => x.task === "second")).toBe(false);
  });

  test("a host whose connection drops mid-run is unreachable; the others finish; a rerun converges", async () => {
    const root = join(dir, "drop");
    execFileSync("mkdir", ["-p", `${root}/a`, `${root}/b`]);
    const tasks = (host: string): Task[] => [
      task({
        name: "slow",
        module: command,
        params: { cmd: `sleep 2; touch ${root}/${host}/slow`, creates: `${root}/${host}/slow` },
      }),
      task({ name: "after", module: copy, params: { path: `${root}/${host}/after`, content: "done\n" } }),
    ];
    const play = { name: "drop", hosts: ["a", "b"], tasksFor: (h: string) => ({ tasks: tasks(h) }) };
    const running = runOnce(play);
    await new Promise((r) => setTimeout(r, 1200));
    // Kill b's per-connection sshd process, as a node crashing would.
    const master = readFileSync(join(b.dir, "sshd.pid"), "utf8").trim();
    const pids = execFileSync(
      "sh",
      ["-c", `ss -tnp 'sport = :${b.port}' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u`],
      { encoding: "utf8" },
    )
      .split("\n")
      .filter((p) => p && p !== master);
    for (const p of pids) process.kill(Number(p), "SIGKILL");
    const r = await running;
    expect(r.recap.get("a")).toMatchObject({ changed: 2, failed: 0, unreachable: 0 });
    expect(r.recap.get("b")!.unreachable).toBe(1);
    expect(r.results.find((x) => x.status === "unreachable")!.msg).toMatch(/b: connection lost/);
    const again = await runOnce(play);
    expect(again.recap.get("a")).toMatchObject({ ok: 2, changed: 0 });
    // The killed session's command may or may not have finished on the node; either way b converges.
    expect(again.recap.get("b")).toMatchObject({ failed: 0, unreachable: 0 });
    expect(readFileSync(`${root}/b/after`, "utf8")).toBe("done\n");
    const third = await runOnce(play);
    expect([third.recap.get("a")!.changed, third.recap.get("b")!.changed]).toEqual([0, 0]);
  });

  test("a host whose fact gathering fails (e.g. a wrong sudo password) still has its connection closed", async () => {
    // An open SSH connection keeps the process alive after the recap: the run would never exit.
    const closed: string[] = [];
    const runner = new Runner({
      check: false,
      forks: 5,
      reporter: collect(),
      connect: async (name) => {
        const s = servers()[name as "a" | "b"];
        const inner = await SshHost.connect({ name, address: "127.0.0.1", port: s.port }, s.settings());
        return {
          name,
          exec: async (cmd: string, opts?: ExecOptions) =>
            name === "b" && cmd.includes(FACTS_SCRIPT)
              ? { code: 1, stdout: "", stderr: "sudo: incorrect password attempt" }
              : inner.exec(cmd, opts),
          close: async () => {
            closed.push(name);
            await inner.close();
          },
        };
      },
    });
    await runner.runPlay({ name: "facts", hosts: ["a", "b"], tasksFor: () => ({ tasks: [] }) });
    expect(runner.recap().get("b")).toMatchObject({ failed: 1 });
    await runner.close();
    expect(closed.sort()).toEqual(["a", "b"]);
  });
});

/** The fact snippets of each fact batch a host was sent (a batch is one remote command). */
class BatchRecordingHost extends LocalHost {
  readonly batches: string[][] = [];
  others = 0;
  override exec(cmd: string, opts?: ExecOptions) {
    const snippets = [...cmd.matchAll(/:\d+:begin\\n'; \( ([\s\S]*?)\n\) 2>"\$E"/g)].map((m) => m[1]!);
    if (snippets.length > 0) this.batches.push(snippets);
    else this.others++;
    return super.exec(cmd, opts);
  }
}

describe("fact batches of the runner (this machine, files in a temp dir)", () => {
  const N = 8;
  /** N files written, then each checked again by a later task (which reads the same file fact). */
  const tasks = (root: string): Task[] => [
    ...Array.from({ length: N }, (_, i) =>
      task({ name: `write f${i}`, module: copy, params: { path: `${root}/f${i}`, content: `line ${i}\n` } }),
    ),
    ...Array.from({ length: N }, (_, i) =>
      task({
        name: `line in f${i}`,
        module: lineInFile,
        params: { path: `${root}/f${i}`, line: `line ${i}` },
      }),
    ),
  ];

  async function pass(root: string) {
    const host = new BatchRecordingHost("local");
    const reporter = collect();
    const runner = new Runner({ check: false, forks: 1, reporter, connect: async () => host });
    await runner.runPlay({ name: "files", hosts: ["local"], tasksFor: () => ({ tasks: tasks(root) }) });
    await runner.close();
    // The first batch of a host is its host facts (alone); the tasks' facts follow.
    expect(host.batches[0]).toEqual([FACTS_SCRIPT]);
    return { host, taskBatches: host.batches.slice(1), results: reporter.results };
  }

  test("a no-op pass over N tasks costs exactly one fact batch, and nothing else", async () => {
    const root = join(dir, "noop-batches");
    execFileSync("mkdir", ["-p", root]);
    await pass(root);
    const second = await pass(root);
    expect(second.results.map((r) => r.status)).toEqual(Array(2 * N).fill("ok"));
    expect(second.taskBatches).toHaveLength(1);
    // One snippet per distinct file: the N later tasks read the facts the first N read.
    expect(second.taskBatches[0]).toHaveLength(N);
    expect(second.host.others).toBe(0);
  });

  test("after a change that touches one file fact, only that fact is read again", async () => {
    const root = join(dir, "one-touched");
    execFileSync("mkdir", ["-p", root]);
    await pass(root);
    writeFileSync(join(root, "f3"), "drifted\n");
    const r = await pass(root);
    expect(r.results.filter((x) => x.status === "changed").map((x) => x.task)).toEqual(["write f3"]);
    expect(readFileSync(join(root, "f3"), "utf8")).toBe("line 3\n");
    expect(r.taskBatches.map((b) => b.length)).toEqual([N, 1]);
    expect(r.taskBatches[1]![0]).toContain(`${root}/f3`);
  });
});
