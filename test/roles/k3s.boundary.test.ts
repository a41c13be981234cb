/**
 * BOUNDARY tests: K3s cannot run here (no binary, no Kubernetes). These check exactly what powerstack
 * sends to a node (files, commands, environment), its install/restart decisions for every combination
 * of installed version, config and service state, the air-gap upload with checksum verification, and
 * that the token never appears in a command line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import type { Facts } from "../../src/engine/facts.js";
import type { RoleContext } from "../../src/engine/role.js";
import { parseInventory } from "../../src/inventory/load.js";
import { k3s, K3S_CONFIG, parseK3sVersion, type K3sParams, type K3sSeen } from "../../src/modules/k3s.js";
import { clusterToken } from "../../roles/k3s-server/token.js";
import { RecordingHost } from "../support/recording-host.js";

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

function roleContext(
  node: "ctl" | "w1",
  opts: {
    inv?: ReturnType<typeof inventory>;
    vault?: Record<string, string>;
    host?: RecordingHost;
    check?: boolean;
  } = {},
) {
  const inv = opts.inv ?? inventory();
  const vault = { ...(opts.vault ?? { k3s_token: TOKEN }) };
  const stored: Record<string, string> = {};
  const ctx: RoleContext = {
    inventory: inv,
    node: inv.nodes.find((n) => n.name === node)!,
    control: inv.nodes[0]!,
    facts: { arch: "x86_64" } as Facts,
    host: opts.host ?? new RecordingHost(node),
    check: opts.check ?? false,
    secret: (k) => vault[k]!,
    hasSecret: (k) => k in vault,
    storeSecret: async (k, v) => {
      if (!opts.check) stored[k] = v;
    },
    state: {},
  };
  return { ctx, stored };
}

// The config files themselves: test/roles/k3s-config.test.ts.

describe("k3s install/restart decisions (boundary)", () => {
  const config = "token: x\n";
  const p: K3sParams = { kind: "server", version: "v1.31.4+k3s1", config, source: { mode: "online" } };
  const cases: Array<[string, K3sSeen, string[]]> = [
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
  test.each(cases)("%s", (_name, seen, want) => {
    expect(k3s.plan(seen, p).map((c) => c.summary)).toEqual(want);
  });

  test("never restart and reinstall together; a rerun after any apply is a no-op", () => {
    for (const [, seen] of cases) {
      const summaries = k3s.plan(seen, p).map((c) => c.summary);
      expect(summaries.filter((s) => /^(install|restart|start)/.test(s)).length).toBeLessThanOrEqual(1);
    }
    expect(k3s.plan({ installedVersion: p.version, config, active: true }, p)).toEqual([]);
  });

  test("probe output is parsed (version line, base64 config, unit state)", () => {
    const probe = k3s.probe(p);
    expect(probe.command).toContain("systemctl is-active k3s");
    expect(
      probe.parse(
        `version=k3s version v1.31.4+k3s1 (a562d090)\nconfig=${Buffer.from(config).toString("base64")}\nactive=active\n`,
        0,
      ),
    ).toEqual({ installedVersion: "v1.31.4+k3s1", config, active: true });
    expect(probe.parse("version=\nconfig=\nactive=inactive\n", 0)).toEqual({
      installedVersion: undefined,
      config: undefined,
      active: false,
    });
    expect(parseK3sVersion("k3s version v1.30.2+k3s2 (faeaf1b0)")).toBe("v1.30.2+k3s2");
  });
});

describe("k3s commands sent (boundary)", () => {
  test("online install: config written 0600 through stdin, then the install script with INSTALL_K3S_* only", async () => {
    const host = new RecordingHost("ctl");
    const p: K3sParams = {
      kind: "server",
      version: "v1.31.4+k3s1",
      config: `token: ${TOKEN}\n`,
      source: { mode: "online" },
    };
    await k3s.apply({ host, facts: {} as Facts }, p, k3s.plan({ active: false }, p), { active: false });
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
      config: "new\n",
      source: { mode: "online" },
    };
    const seen = { installedVersion: p.version, config: "old\n", active: true };
    await k3s.apply({ host, facts: {} as Facts }, p, k3s.plan(seen, p), seen);
    expect(host.commands().at(-1)).toBe("systemctl restart k3s-agent");
    expect(host.commands().some((c) => c.includes("INSTALL_K3S"))).toBe(false);
  });

  // Air-gapped installs (binary, images, install.sh per arch, SFTP): test/roles/k3s-airgap.boundary.test.ts.

  test("air-gapped inventory without artifacts_dir is an inventory error", () => {
    expect(() => inventory(", install: airgap")).toThrow(/needs `artifacts_dir`/);
  });
});

describe("cluster token (boundary)", () => {
  test("from the vault when present", async () => {
    const { ctx, stored } = roleContext("ctl");
    expect(await clusterToken(ctx)).toBe(TOKEN);
    expect(stored).toEqual({});
  });

  test("adopted from a running server when the vault lost it (k3s-ansible #294), and stored", async () => {
    const host = new RecordingHost("ctl", [[/server\/token/, { stdout: "K10existing::server:abc\n" }]]);
    const { ctx, stored } = roleContext("ctl", { vault: {}, host });
    expect(await clusterToken(ctx)).toBe("K10existing::server:abc");
    expect(stored).toEqual({ k3s_token: "K10existing::server:abc" });
  });

  test("generated once (64 hex) on a fresh cluster and stored; not stored in check mode", async () => {
    const { ctx, stored } = roleContext("ctl", {
      vault: {},
      host: new RecordingHost("ctl", [[/server\/token/, { code: 1 }]]),
    });
    const token = await clusterToken(ctx);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).toEqual({ k3s_token: token });
    const checked = roleContext("ctl", {
      vault: {},
      check: true,
      host: new RecordingHost("ctl", [[/server\/token/, { code: 1 }]]),
    });
    await clusterToken(checked.ctx);
    expect(checked.stored).toEqual({});
  });
});
