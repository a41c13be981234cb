/**
 * BOUNDARY tests: K3s cannot run here (no binary, no Kubernetes). These check exactly what powerstack
 * sends to a node (files, commands, environment), its install/restart decisions for every combination
 * of installed version, config and service state, the facts it reads to decide, where the cluster token
 * comes from (the k3s-token task, first of k3s-server), and that the token never appears in a command line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { FactCache } from "../../src/engine/fact-cache.js";
import type { Facts } from "../../src/engine/facts.js";
import { runPlays } from "../../src/engine/run-plays.js";
import { Runner } from "../../src/engine/runner.js";
import type { TaskResult } from "../../src/engine/types.js";
import { file } from "../../src/facts/file.js";
import { k3sVersion } from "../../src/facts/k3s.js";
import { vaultSecret } from "../../src/facts/vault.js";
import { parseInventory } from "../../src/inventory/load.js";
import { k3s, K3S_CONFIG, parseK3sVersion, type K3sParams } from "../../src/modules/k3s.js";
import { k3sToken, SERVER_TOKEN_FILE } from "../../src/modules/k3s-token.js";
import { k3sConfig } from "../../roles/k3s-server/config.js";
import { role as serverRole } from "../../roles/k3s-server/index.js";
import { RecordingHost } from "../support/recording-host.js";
import { actionCommands, factHost, fileAnswer, hostFactsAnswer, shellOf, unitAnswer } from "./fact-host.js";
import { memoryVault, seenOf, type K3sNode } from "./k3s-node.js";

const TOKEN = "K10-test-token-" + "ab".repeat(16);
const tmp = mkdtempSync(join(tmpdir(), "powerstack-k3s-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const inventory = (extra = "") =>
  parseInventory(
    `cluster:
  nfs_network: 198.51.100.0/24
  k3s: { version: v1.31.4+k3s1, flannel_iface: eno2, disable: [traefik]${extra} }
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, external_ip: 192.0.2.10, storage_disk: /dev/vdb }
  - { name: w1, role: worker, internal_ip: 198.51.100.11, external_ip: 192.0.2.11 }
`,
    join(tmp, "inventory.yaml"),
  );

// The config files themselves: test/roles/k3s-config.test.ts.

describe("k3s install/restart decisions (boundary)", () => {
  // The config is rendered from the vault's token; `x` here.
  const render = (t: string) => `token: ${t}\n`;
  const config = render("x");
  const p: K3sParams = {
    kind: "server",
    version: "v1.31.4+k3s1",
    config: render,
    token: { name: "k3s_token", vault: memoryVault({ k3s_token: "x" }) },
    source: { mode: "online" },
  };
  const plan = (node: K3sNode, token = "x") =>
    k3s.plan(seenOf(node, token), p).map((a) => k3s.describe(a, p));
  const cases: Array<[string, K3sNode, string[]]> = [
    ["fresh node", { active: false }, [`write ${K3S_CONFIG}`, "install K3s v1.31.4+k3s1 (server, online)"]],
    ["same version, same config, running", { installedVersion: p.version, config, active: true }, []],
    [
      "same version, same config, stopped",
      { installedVersion: p.version, config, active: false },
      ["start k3s"],
    ],
    [
      "same version, config changed",
      { installedVersion: p.version, config: "token: old\n", active: true },
      [`write ${K3S_CONFIG}`, "restart k3s (config changed)"],
    ],
    [
      "same version, config changed, stopped",
      { installedVersion: p.version, config: "old", active: false },
      [`write ${K3S_CONFIG}`, "restart k3s (config changed)"],
    ],
    [
      "other version, same config",
      { installedVersion: "v1.30.0+k3s1", config, active: true },
      ["install K3s v1.31.4+k3s1 (server, online), replacing v1.30.0+k3s1"],
    ],
    [
      "other version, config changed",
      { installedVersion: "v1.30.0+k3s1", config: "old", active: true },
      [`write ${K3S_CONFIG}`, "install K3s v1.31.4+k3s1 (server, online), replacing v1.30.0+k3s1"],
    ],
    [
      "other version, stopped",
      { installedVersion: "v1.30.0+k3s1", config, active: false },
      ["install K3s v1.31.4+k3s1 (server, online), replacing v1.30.0+k3s1"],
    ],
  ];
  test.each(cases)("%s", (_name, node, want) => {
    expect(plan(node)).toEqual(want);
  });

  test("never restart and reinstall together; a rerun after any apply is a no-op", () => {
    for (const [, node] of cases) {
      const summaries = plan(node);
      expect(summaries.filter((s) => /^(install|restart|start)/.test(s)).length).toBeLessThanOrEqual(1);
    }
    expect(plan({ installedVersion: p.version, config, active: true })).toEqual([]);
  });

  test("a token in the vault other than the one in the config: config rewritten, K3s restarted", () => {
    expect(plan({ installedVersion: p.version, config, active: true }, "y")).toEqual([
      `write ${K3S_CONFIG}`,
      "restart k3s (config changed)",
    ]);
  });

  test("the config's write is sensitive (it holds the token): a diff of it is never shown", () => {
    const [write] = k3s.plan(seenOf({ installedVersion: p.version, config: "old", active: true }, "x"), p);
    expect(write).toMatchObject({ kind: "write-config", sensitive: true, diff: { after: config } });
  });

  test("the facts it reads: version line, config file, unit state, the vault's token", async () => {
    const reads = k3s.reads(p);
    const version = shellOf(reads.installedVersion!);
    expect(version.command()).toContain("/usr/local/bin/k3s --version");
    expect(version.parse("k3s version v1.31.4+k3s1 (a562d090)\ngo version go1.22.9\n")).toBe("v1.31.4+k3s1");
    expect(version.parse("@@absent\n")).toBeUndefined();
    // A binary that does not run is a failed read, never "not installed".
    expect(() => version.parse("", 126)).toThrow(/cannot read \/usr\/local\/bin\/k3s --version \(exit 126\)/);
    expect(reads.installedVersion!.key).toBe(k3sVersion.of().key);

    expect(reads.config.key).toBe(file.of(K3S_CONFIG).key);
    const cfg = shellOf(reads.config);
    expect(cfg.parse(fileAnswer(config).stdout!)).toMatchObject({ exists: true, content: config });
    expect(cfg.parse(fileAnswer(undefined).stdout!)).toEqual({ exists: false });

    const unit = shellOf(reads.unit);
    expect(unit.command()).toMatch(/^systemctl show .* 'k3s'$/);
    expect(unit.parse(unitAnswer("active").stdout!)).toMatchObject({ exists: true, active: "active" });
    expect(unit.parse(unitAnswer("not-found").stdout!)).toMatchObject({ exists: false, active: "inactive" });
    expect(shellOf(k3s.reads({ ...p, kind: "agent" }).unit).command()).toMatch(/'k3s-agent'$/);

    expect(reads.token!.key).toBe(vaultSecret.of(p.token).key);
    const cache = new FactCache(new RecordingHost("ctl"));
    await cache.read([reads.token!]);
    expect(cache.get(reads.token!)).toBe("x");
    // Online: no images to look at.
    expect(reads.images).toBeUndefined();
    expect(parseK3sVersion("k3s version v1.30.2+k3s2 (faeaf1b0)")).toBe("v1.30.2+k3s2");
  });
});

describe("k3s commands sent (boundary)", () => {
  const applied = async (host: RecordingHost, p: K3sParams, node: K3sNode, token: string | undefined) => {
    const actions = k3s.plan(seenOf(node, token), p);
    await k3s.apply({ host, facts: {} as Facts, cache: new FactCache(host) }, actions, p);
    return actions;
  };

  test("online install: config written 0600 through stdin, then the install script with INSTALL_K3S_* only", async () => {
    const host = new RecordingHost("ctl");
    const p: K3sParams = {
      kind: "server",
      version: "v1.31.4+k3s1",
      config: (t) => `token: ${t}\n`,
      token: { name: "k3s_token", vault: memoryVault({ k3s_token: TOKEN }) },
      source: { mode: "online" },
    };
    await applied(host, p, { active: false }, TOKEN);
    const cmds = host.commands();
    expect(cmds[0]).toBe("mkdir -p '/etc/rancher/k3s'");
    expect(cmds[1]).toMatch(
      /mktemp '\/etc\/rancher\/k3s\/.powerstack.'XXXXXX[\s\S]*chmod '0600' "\$t"[\s\S]*mv -f "\$t" '\/etc\/rancher\/k3s\/config.yaml'/,
    );
    expect(host.sent[1]!.stdin!.toString()).toBe(`token: ${TOKEN}\n`);
    expect(cmds[2]).toBe(
      "curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION='v1.31.4+k3s1' INSTALL_K3S_EXEC=server sh -s -",
    );
    expect(cmds).toHaveLength(3);
    for (const c of cmds) expect(c).not.toContain(TOKEN);
  });

  test("config change on the same version: write then restart, no reinstall", async () => {
    const host = new RecordingHost("w1");
    const p: K3sParams = {
      kind: "agent",
      version: "v1.31.4+k3s1",
      config: () => "new\n",
      token: { name: "k3s_token", vault: memoryVault({ k3s_token: TOKEN }) },
      source: { mode: "online" },
    };
    await applied(host, p, { installedVersion: p.version, config: "old\n", active: true }, TOKEN);
    expect(host.commands().at(-1)).toBe("systemctl restart k3s-agent");
    expect(host.commands().some((c) => c.includes("INSTALL_K3S"))).toBe(false);
  });

  test("no token in the vault (an agent before the server's play): refused before anything is sent", async () => {
    const host = new RecordingHost("w1");
    const p: K3sParams = {
      kind: "agent",
      version: "v1.31.4+k3s1",
      config: (t) => `token: ${t}\n`,
      token: { name: "k3s_token", vault: memoryVault() },
      source: { mode: "online" },
    };
    await expect(applied(host, p, { active: false }, undefined)).rejects.toMatchObject({
      message: "the vault has no cluster token (k3s_token) to configure K3s with",
      fix: expect.stringMatching(/run the k3s-server role first/),
    });
    expect(host.sent).toHaveLength(0);
  });

  // Air-gapped installs (binary, images, install.sh per arch, SFTP): test/roles/k3s-airgap.boundary.test.ts.

  test("air-gapped inventory without artifacts_dir is an inventory error", () => {
    expect(() => inventory(", install: airgap")).toThrow(/needs `artifacts_dir`/);
  });
});

/**
 * The token through the real runner and the real k3s-server role (its first task is the k3s-token module,
 * the second K3s configured with the token that task left in the vault), on a recording node.
 */
describe("cluster token: the k3s-token task of k3s-server (boundary)", () => {
  const VERSION = "v1.31.4+k3s1";
  const inv = inventory();
  const ctl = inv.nodes[0]!;

  /** A control node: its server token file (undefined: none), and K3s as it is. */
  function controlNode(serverToken: string | undefined, k3sState: K3sNode) {
    return factHost("ctl", [
      [/echo @@os;/, hostFactsAnswer("ctl")],
      [new RegExp(SERVER_TOKEN_FILE), fileAnswer(serverToken)],
      [/config\.yaml/, fileAnswer(k3sState.config)],
      [
        /k3s --version/,
        {
          stdout: k3sState.installedVersion
            ? `k3s version ${k3sState.installedVersion} (a562d090)\n`
            : "@@absent\n",
        },
      ],
      [
        /^systemctl show /,
        unitAnswer(k3sState.installedVersion ? (k3sState.active ? "active" : "inactive") : "not-found"),
      ],
    ]);
  }

  async function up(host: RecordingHost, vault: Record<string, string>, check = false) {
    const secrets = { ...vault };
    const stored: Record<string, string> = {};
    const results: TaskResult[] = [];
    const runner = new Runner({
      check,
      forks: 1,
      connect: async () => host,
      reporter: { playStart() {}, taskResult: (r) => void results.push(r), playEnd() {} },
    });
    await runPlays(
      runner,
      [{ name: "K3s server", hosts: ["control"], roles: ["k3s-server"], anyErrorsFatal: true, local: false }],
      inv,
      {
        secret: (k) => secrets[k]!,
        hasSecret: (k) => k in secrets,
        // As the CLI's: nothing is stored in check mode (src/cli/run-playbook.ts); here it never gets asked.
        storeSecret: async (k, v) => {
          if (check) return;
          secrets[k] = v;
          stored[k] = v;
        },
      },
    );
    await runner.close();
    const summaries = (i: number) => results[i]!.changes.map((c) => c.summary);
    /** What was written to the config file (the atomic write's stdin). */
    const written = host.sent
      .find((s) => s.command.includes(`mv -f "$t" '${K3S_CONFIG}'`))
      ?.stdin?.toString();
    return { results, summaries, stored, written };
  }

  test("the token task is the first task of k3s-server, on the vault key of the inventory", async () => {
    const { tasks } = await serverRole.tasks({
      inventory: inv,
      node: ctl,
      control: ctl,
      facts: { arch: "x86_64" } as Facts,
      read: () => Promise.reject(new Error("no read expected")),
      secret: () => TOKEN,
      hasSecret: () => true,
      storeSecret: async () => {},
    });
    expect(tasks.map((t) => t.module.name)).toEqual([k3sToken.name, k3s.name]);
    expect(tasks[0]!.params).toMatchObject({ name: "k3s_token" });
  });

  test("from the vault when present: nothing stored, K3s configured with it", async () => {
    const host = controlNode("K10some-other-token", { active: false });
    const { results, stored, written } = await up(host, { k3s_token: TOKEN });
    expect(results.map((r) => [r.task, r.status])).toEqual([
      ["k3s-server: cluster token in the vault", "ok"],
      [`k3s-server: K3s server ${VERSION}`, "changed"],
    ]);
    expect(stored).toEqual({});
    expect(written).toContain(`token: "${TOKEN}"\n`);
    for (const c of host.commands()) expect(c).not.toContain(TOKEN);
  });

  test("adopted from a running server when the vault lost it (k3s-ansible #294), and stored; K3s left as it is", async () => {
    const running = "K10existing::server:abc";
    const config = k3sConfig("server", inv, ctl, ctl, running);
    const host = controlNode(`${running}\n`, { installedVersion: VERSION, config, active: true });
    const { results, summaries, stored } = await up(host, {});
    expect(results.map((r) => r.status)).toEqual(["changed", "ok"]);
    expect(summaries(0)).toEqual(["store the running server's token in the vault as k3s_token"]);
    expect(stored).toEqual({ k3s_token: running });
    // The same token as the running server's config: no rewrite, no restart, nothing sent but fact reads.
    expect(actionCommands(host)).toEqual([]);
  });

  test("generated once (64 hex) on a fresh cluster and stored; K3s configured with that one", async () => {
    const host = controlNode(undefined, { active: false });
    const { results, summaries, stored, written } = await up(host, {});
    expect(results.map((r) => r.status)).toEqual(["changed", "changed"]);
    expect(summaries(0)).toEqual(["generate a cluster token into the vault as k3s_token"]);
    expect(stored.k3s_token).toMatch(/^[0-9a-f]{64}$/);
    expect(written).toContain(`token: "${stored.k3s_token}"\n`);
    for (const c of host.commands()) expect(c).not.toContain(stored.k3s_token!);
    for (const r of results) for (const c of r.changes) expect(c.summary).not.toContain(stored.k3s_token!);
  });

  test("check mode stores nothing and sends nothing but fact reads", async () => {
    const host = controlNode(undefined, { active: false });
    const { results, summaries, stored } = await up(host, {}, true);
    expect(results.map((r) => r.status)).toEqual(["changed", "changed"]);
    expect(summaries(0)).toEqual(["generate a cluster token into the vault as k3s_token"]);
    expect(summaries(1)).toEqual([`write ${K3S_CONFIG}`, `install K3s ${VERSION} (server, online)`]);
    expect(stored).toEqual({});
    expect(actionCommands(host)).toEqual([]);
  });
});
