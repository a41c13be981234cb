/**
 * End to end, for issue 16 item 5: `up --check --diff` of the K3s plays with a token that every encoding
 * changes (`"`, `\`, `'`, non-ASCII, base64 with `+`, `/` and padding), through the real reporters (plain,
 * listr, --json) and the real run log, against recording hosts that answer the facts with a config
 * holding the PREVIOUS token (one the redactor was never told about: a rotated vault). Nothing printed
 * or logged may hold either token in any form.
 *
 * The harness mirrors test/support/run-playbook.ts (the CLI's own runPlays, Runner and batched probes)
 * with the CLI's reporters in place of a collecting one.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import type { ShellFact } from "../../src/engine/fact.js";
import { FACTS_SCRIPT } from "../../src/engine/facts.js";
import { filterRoles, loadPlaybook } from "../../src/engine/playbook.js";
import { runPlays } from "../../src/engine/run-plays.js";
import { Runner, type Reporter } from "../../src/engine/runner.js";
import { task } from "../../src/engine/types.js";
import { parseInventory } from "../../src/inventory/load.js";
import { K3S_CONFIG, k3sVersion } from "../../src/facts/k3s.js";
import { copy } from "../../src/modules/copy.js";
import { SERVER_TOKEN_FILE } from "../../src/modules/k3s-token.js";
import { packageRoot } from "../../src/package-root.js";
import { k3sConfig } from "../../roles/k3s-server/config.js";
import { Output } from "../../src/ui/output.js";
import { MASK, Redactor, secretForms } from "../../src/ui/redact.js";
import { playbookReporter, type DisplayChoice } from "../../src/ui/playbook-reporter.js";
import { RunLog } from "../../src/ui/run-log.js";
import { RecordingHost } from "../support/recording-host.js";

/** In the vault (so registered with the redactor, as src/cli/context.ts does for every vault value). */
const TOKEN = `K10::srv"tok\\en'y~~~>>>?é`;
/** Only in the node's current config: the redactor has never heard of it. */
const OLD_TOKEN = `K10::old"prev\\ious'~~~>>>?ü`;

const tmp = mkdtempSync(join(tmpdir(), "powerstack-leaks-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const inventory = parseInventory(
  `cluster:
  nfs_network: 198.51.100.0/24
  k3s: { version: v1.31.4+k3s1, flannel_iface: eno2 }
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, external_ip: 192.0.2.10, storage_disk: /dev/vdb }
  - { name: w1, role: worker, internal_ip: 198.51.100.11, external_ip: 192.0.2.11 }
`,
  join(tmp, "inventory.yaml"),
);
const node = (name: string) => inventory.nodes.find((n) => n.name === name)!;
const control = node("ctl");
const kind = (name: string) => (name === "ctl" ? "server" : "agent");

/** Every form of a token, and each as it reads inside JSON text (the run log's lines, --json output). */
function leaks(text: string, secret: string): string[] {
  const forms = secretForms(secret);
  return [...forms, ...forms.map((f) => JSON.stringify(f).slice(1, -1))].filter((f) => text.includes(f));
}

/**
 * A node running K3s at the pinned version with the old token in its config (and, on the server, in
 * K3s' own token file): it answers the facts of a batch (src/engine/fact-cache.ts) the way such a node
 * would, and nothing else. A fact it does not know fails the run (exit 1 with what it was asked).
 */
function k3sNode(name: string): RecordingHost {
  const config = k3sConfig(kind(name), inventory, node(name), control, OLD_TOKEN);
  const files: Record<string, string> = {
    [K3S_CONFIG]: config,
    ...(kind(name) === "server" ? { [SERVER_TOKEN_FILE]: `${OLD_TOKEN}\n` } : {}),
  };
  const answer = (fact: string): { stdout: string; code: number } => {
    if (fact === FACTS_SCRIPT) return { stdout: `@@init\nsystemd\n@@hostname\n${name}\n`, code: 0 };
    if (fact === (k3sVersion as ShellFact<string | undefined>).command())
      return { stdout: "k3s version v1.31.4+k3s1 (a562d090)\n", code: 0 };
    if (fact.startsWith("systemctl show "))
      return {
        stdout:
          "LoadState=loaded\nUnitFileState=enabled\nActiveState=active\nSubState=running\nNeedDaemonReload=no\n",
        code: 0,
      };
    const path = /^if \[ -e '([^']+)' \] \|\| \[ -L/.exec(fact)?.[1];
    if (path !== undefined) {
      if (!(path in files)) return { stdout: "MISSING\n", code: 0 };
      return {
        stdout: `regular file|600|root|root|0|0\n${Buffer.from(files[path]!).toString("base64")}`,
        code: 0,
      };
    }
    return { stdout: `k3sNode: no answer for the fact: ${fact.slice(0, 120)}`, code: 1 };
  };
  return new RecordingHost(name, [
    [
      /@@\w+:0:begin/,
      (script) => ({
        stdout: [...script.matchAll(BATCH_FACT)]
          .map(([, nonce, i, fact]) => {
            const r = answer(fact!);
            return `\n@@${nonce}:${i}:begin\n${r.stdout}\n@@${nonce}:${i}:end:${r.code}\n`;
          })
          .join(""),
      }),
    ],
  ]);
}

/** One fact of a batch: nonce, index, snippet. */
const BATCH_FACT =
  /printf '\\n@@(\w+):(\d+):begin\\n'; \( ([\s\S]*?)\n\) 2>"\$E"; printf '\\n@@\1:\2:end:%d\\n' \$\?/g;

/** Collects what a stream is given. */
function sink(): NodeJS.WritableStream & { text: () => string } {
  const chunks: string[] = [];
  return Object.assign(
    { write: (s: string | Uint8Array) => (chunks.push(String(s)), true) } as unknown as NodeJS.WritableStream,
    { text: () => chunks.join("") },
  );
}

interface Captured {
  stdout: string;
  stderr: string;
  log: string;
  hosts: RecordingHost[];
}

/** The display of `up --diff` (no -v) on a pipe, --json or a terminal, with the run log beside it. */
const display = (d: "plain" | "json" | "terminal"): DisplayChoice => ({
  json: d === "json",
  diff: true,
  verbose: 0,
  terminal: d === "terminal",
});

/** One `up --check --diff` of the K3s plays, the way src/cli/run-playbook.ts wires it. */
async function upCheckDiff(
  make: (out: Output, log: RunLog) => Reporter,
  opts: { json?: boolean; plays?: "k3s" | "unmarked-copy" } = {},
): Promise<Captured> {
  const redactor = new Redactor();
  redactor.add("vault-password-1", TOKEN);
  const stdout = sink();
  const stderr = sink();
  const out = new Output(redactor, opts.json ?? false, stdout, stderr);
  const dir = mkdtempSync(join(tmp, "logs-"));
  const log = new RunLog(dir, "up", redactor);
  const hosts: RecordingHost[] = [];
  const runner = new Runner({
    check: true,
    forks: 10,
    reporter: make(out, log),
    connect: async (name) => {
      const h = k3sNode(name);
      hosts.push(h);
      return h;
    },
  });
  if (opts.plays === "unmarked-copy") {
    // A module that forgot to mark its diff sensitive: the redactor alone must still hold the line.
    await runner.runPlay({
      name: "K3s config, written by a careless module",
      hosts: ["ctl"],
      tasksFor: () => ({
        tasks: [
          task({
            name: "config",
            module: copy,
            params: {
              path: "/etc/powerstack-test.yaml",
              content: k3sConfig("server", inventory, control, control, TOKEN),
            },
          }),
        ],
      }),
    });
  } else {
    const plays = filterRoles(loadPlaybook(join(packageRoot(), "playbooks", "up.yaml")), [
      "k3s-server",
      "k3s-agent",
    ]);
    await runPlays(runner, plays, inventory, {
      secret: (k) => {
        if (k !== "k3s_token") throw new Error(`up asked for the secret ${k}`);
        return TOKEN;
      },
      hasSecret: (k) => k === "k3s_token",
      storeSecret: async () => {
        throw new Error("check mode stored a secret");
      },
    });
  }
  await runner.close();
  log.close();
  const [file] = readdirSync(dir);
  return { stdout: stdout.text(), stderr: stderr.text(), log: readFileSync(join(dir, file!), "utf8"), hosts };
}

function expectNoLeaks(c: Captured): void {
  for (const [where, text] of Object.entries({ stdout: c.stdout, stderr: c.stderr, log: c.log })) {
    expect({ where, leaks: leaks(text, TOKEN) }).toEqual({ where, leaks: [] });
    expect({ where, leaks: leaks(text, OLD_TOKEN) }).toEqual({ where, leaks: [] });
  }
}

const taskRecords = (log: string) =>
  log
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event: string; task?: string; changes?: Array<Record<string, unknown>> })
    .filter((r) => r.event === "task");

const NOTE = "(sensitive: 1 line changed)";

describe("up --check --diff with a token every encoding changes (real reporters, real run log)", () => {
  test("the token is as awkward as meant", () => {
    const b64 = Buffer.from(TOKEN).toString("base64");
    expect(b64).toMatch(/\+/);
    expect(b64).toMatch(/\//);
    expect(b64).toMatch(/=$/);
    // What the template writes is an escaped form, not the value: the case the old redactor missed.
    const config = k3sConfig("server", inventory, control, control, TOKEN);
    expect(config).not.toContain(TOKEN);
    expect(config).toContain(`token: ${JSON.stringify(TOKEN)}`);
  });

  test("plain output: each K3s config diff is `(sensitive: 1 line changed)`; neither token in output or log", async () => {
    const c = await upCheckDiff((out, log) => playbookReporter(out, log, display("plain")));
    expect(c.stdout).toContain(
      "changed     ctl   k3s-server: K3s server v1.31.4+k3s1: write /etc/rancher/k3s/config.yaml",
    );
    expect(c.stdout).toContain(
      "changed     w1    k3s-agent: K3s agent v1.31.4+k3s1: write /etc/rancher/k3s/config.yaml",
    );
    expect(c.stdout.split(NOTE).length - 1).toBe(2);
    expect(c.stdout).toContain("      --- /etc/rancher/k3s/config.yaml (before)");
    expect(c.stdout).not.toMatch(/^\s+[-+]token/m);
    expectNoLeaks(c);
    // The records of the tasks that changed something (the vault's token task is ok: it has the token).
    const records = taskRecords(c.log).filter((r) => r.changes?.length);
    expect(records.map((r) => r.changes![0])).toEqual(
      ["ctl", "w1"].map(() => ({
        kind: "write-config",
        summary: "write /etc/rancher/k3s/config.yaml",
        sensitive: true,
        diff: `--- /etc/rancher/k3s/config.yaml (before)\n+++ /etc/rancher/k3s/config.yaml (after)\n${NOTE}`,
      })),
    );
    // Check mode: the fact batches were the only commands, and no command line held the token either.
    for (const h of c.hosts) for (const cmd of h.commands()) expect(leaks(cmd, TOKEN)).toEqual([]);
  });

  test("--json: the diff field is the note, marked sensitive; neither token on stdout, stderr or in the log", async () => {
    const c = await upCheckDiff((out, log) => playbookReporter(out, log, display("json")), { json: true });
    const tasks = c.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; changes?: Array<Record<string, unknown>> })
      .filter((o) => o.type === "task" && o.changes?.length);
    expect(tasks.map((t) => t.changes![0])).toEqual(
      ["ctl", "w1"].map(() => ({
        summary: "write /etc/rancher/k3s/config.yaml",
        diff: `--- /etc/rancher/k3s/config.yaml (before)\n+++ /etc/rancher/k3s/config.yaml (after)\n${NOTE}`,
        sensitive: true,
      })),
    );
    expectNoLeaks(c);
  });

  test("listr (a terminal): its progress and the lines it replays hold the note, never a token", async () => {
    const written: string[] = [];
    // listr2 writes to the process's streams itself (a failed entry to stderr): both are read.
    const spies = [process.stdout, process.stderr].map((stream) =>
      vi.spyOn(stream, "write").mockImplementation((s: string | Uint8Array) => {
        written.push(String(s));
        return true;
      }),
    );
    let c: Captured;
    try {
      c = await upCheckDiff((out, log) => playbookReporter(out, log, display("terminal")));
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    // listr2's own lines (non-TTY renderer): each host's entry as it ends, with its counts (ok 1: the
    // k3s-server play's first task, the cluster token, is in the vault already).
    expect(written.join("")).toContain("ctl   [ok 1, changed 1]");
    expect(c.stdout.split(NOTE).length - 1).toBe(2);
    expectNoLeaks({ ...c, stderr: c.stderr + written.join("") });
  });

  test("a diff a module forgot to mark sensitive: the redactor masks the token's JSON form in output and log", async () => {
    const plain = await upCheckDiff((out, log) => playbookReporter(out, log, display("plain")), {
      plays: "unmarked-copy",
    });
    expect(plain.stdout).toContain(`      +token: "${MASK}"`);
    expectNoLeaks(plain);
    const json = await upCheckDiff((out, log) => playbookReporter(out, log, display("json")), {
      json: true,
      plays: "unmarked-copy",
    });
    expect(json.stdout).toContain(`+token: \\"${MASK}\\"`);
    expect(json.log).toContain(`token: \\"${MASK}\\"`);
    expectNoLeaks(json);
  });
});
