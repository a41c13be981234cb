/**
 * /etc/rancher/k3s/config.yaml as the K3s roles write it, checked against how K3s itself reads it.
 *
 * K3s turns its config file into command-line flags in pkg/configfilearg (parser.go, readConfigFile, as of
 * k3s-io/k3s f646604): each file is read as a YAML mapping; a key seen again REPLACES the earlier value
 * (`values[k] = v`) unless written `key+:`; then a list value becomes one `--key=item` per item, anything
 * else one `--key=value`. `k3sFlags` below is that procedure, so a test can show what K3s would run with.
 * (A BOUNDARY model: no K3s binary can run here.) The files themselves are parsed with a YAML parser that
 * rejects duplicate keys, which a repeated flag written as repeated keys would be.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseDocument } from "yaml";
import { afterAll, describe, expect, test } from "vitest";
import { FactCache } from "../../src/engine/fact-cache.js";
import type { Facts } from "../../src/engine/facts.js";
import type { RoleContext } from "../../src/engine/role.js";
import { InventoryError, parseInventory } from "../../src/inventory/load.js";
import { k3s, K3S_CONFIG, type K3sParams } from "../../src/modules/k3s.js";
import { role as agentRole } from "../../roles/k3s-agent/index.js";
import { role as serverRole } from "../../roles/k3s-server/index.js";
import { RecordingHost } from "../support/recording-host.js";
import { seenOf } from "./k3s-node.js";

const TOKEN = "K10-test-token-" + "ab".repeat(16);
const tmp = mkdtempSync(join(tmpdir(), "powerstack-k3s-config-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** K3s' readConfigFile: later keys replace earlier ones (`key+` appends); lists become repeated flags. */
function k3sFlags(text: string): string[] {
  const doc = parseDocument(text, { uniqueKeys: false });
  const values = new Map<string, unknown>();
  for (const pair of (doc.contents as { items: Array<{ key: { value: unknown }; value: unknown }> }).items) {
    let key = String(pair.key.value);
    const append = key.endsWith("+");
    key = key.replace(/\+$/, "");
    const v = (pair.value as { toJSON(): unknown }).toJSON();
    const old = values.get(key);
    values.set(key, append && old !== undefined ? [...[old].flat(), ...[v].flat()] : v);
  }
  return [...values].flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `--${k}=${String(x)}`));
}

const inventory = (k3s = "", nodeExtra = "") =>
  parseInventory(
    `cluster:
  nfs_network: 198.51.100.0/24
  k3s: { version: v1.31.4+k3s1, flannel_iface: eno2, disable: [traefik, servicelb]${k3s} }
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, external_ip: 192.0.2.10, storage_disk: /dev/vdb${nodeExtra} }
  - { name: w1, role: worker, internal_ip: 198.51.100.11, external_ip: 192.0.2.11${nodeExtra} }
`,
    join(tmp, "inventory.yaml"),
  );

function ctxFor(node: "ctl" | "w1", inv = inventory()): RoleContext {
  return {
    inventory: inv,
    node: inv.nodes.find((n) => n.name === node)!,
    control: inv.nodes[0]!,
    facts: { arch: "x86_64", hostname: `${node}.lab.example.org` } as Facts,
    read: () => Promise.reject(new Error("the K3s roles read no fact while listing their tasks")),
    secret: () => TOKEN,
    hasSecret: () => true,
    storeSecret: async () => {},
  };
}

/**
 * The config file the role's K3s task writes on a fresh node: the token read from the vault as the task's
 * own fact, the file as its write action carries it.
 */
const configOf = async (node: "ctl" | "w1", inv = inventory()) => {
  const role = node === "ctl" ? serverRole : agentRole;
  const task = (await role.tasks(ctxFor(node, inv))).tasks.find((t) => t.module === k3s)!;
  const p = task.params as K3sParams;
  const tokenRef = k3s.reads(p).token!;
  const cache = new FactCache(new RecordingHost(node));
  await cache.read([tokenRef]);
  const write = k3s.plan(seenOf({ active: false }, cache.get(tokenRef)), p)[0]!;
  expect(write).toMatchObject({ kind: "write-config", diff: { path: K3S_CONFIG } });
  return write.kind === "write-config" ? write.diff.after : "";
};

describe("k3s config files: repeatable flags and node names (boundary: K3s' own config reading, modelled)", () => {
  test("the model reproduces the defect: `disable:` written twice disables only the last add-on", () => {
    expect(k3sFlags('disable: "traefik"\ndisable: "servicelb"\n')).toEqual(["--disable=servicelb"]);
    expect(() => parse('disable: "traefik"\ndisable: "servicelb"\n')).toThrow(/unique/);
  });

  test("server: every repeatable flag is one key with a list, so K3s gets every entry", async () => {
    const inv = inventory(
      ", tls_san: [k3s.example.org, 203.0.113.5], kubelet_args: [max-pods=200, eviction-hard=memory.available<5%]",
      ", labels: [powerstack.io/rack=a1, tier=gpu], taints: [dedicated=energy:NoSchedule, gpu:PreferNoSchedule]",
    );
    const text = await configOf("ctl", inv);
    // Parsing with duplicate keys rejected: no key is written twice.
    const config = parse(text) as Record<string, unknown>;
    expect(config).toEqual({
      "node-name": "ctl",
      "write-kubeconfig-mode": "0600",
      "node-ip": "198.51.100.10",
      "node-external-ip": "192.0.2.10",
      token: TOKEN,
      "flannel-iface": "eno2",
      "tls-san": ["192.0.2.10", "k3s.example.org", "203.0.113.5"],
      disable: ["traefik", "servicelb"],
      "node-label": ["powerstack.io/rack=a1", "tier=gpu"],
      "node-taint": ["dedicated=energy:NoSchedule", "gpu:PreferNoSchedule"],
      "kubelet-arg": ["max-pods=200", "eviction-hard=memory.available<5%"],
    });
    expect(k3sFlags(text)).toEqual(
      expect.arrayContaining([
        "--disable=traefik",
        "--disable=servicelb",
        "--tls-san=192.0.2.10",
        "--tls-san=k3s.example.org",
        "--tls-san=203.0.113.5",
        "--node-label=powerstack.io/rack=a1",
        "--node-label=tier=gpu",
        "--node-taint=dedicated=energy:NoSchedule",
        "--node-taint=gpu:PreferNoSchedule",
        "--kubelet-arg=max-pods=200",
        "--kubelet-arg=eviction-hard=memory.available<5%",
        "--node-name=ctl",
      ]),
    );
  });

  test("agent: its own node name and agent flags only (k3s-ansible #342), lists as lists", async () => {
    const inv = inventory(", kubelet_args: [max-pods=200]", ", labels: [tier=gpu, zone=b]");
    const config = parse(await configOf("w1", inv)) as Record<string, unknown>;
    expect(config).toEqual({
      "node-name": "w1",
      server: "https://198.51.100.10:6443",
      "node-ip": "198.51.100.11",
      "node-external-ip": "192.0.2.11",
      token: TOKEN,
      "flannel-iface": "eno2",
      "node-label": ["tier=gpu", "zone=b"],
      "kubelet-arg": ["max-pods=200"],
    });
    for (const serverKey of ["tls-san", "disable", "write-kubeconfig-mode"])
      expect(config).not.toHaveProperty(serverKey);
  });

  test("node-name is the inventory name even when the host calls itself by an FQDN", async () => {
    // The facts say `ctl.lab.example.org`; k3s-ready, Kepler's Redfish map and the legacy CSV use `ctl`.
    expect(k3sFlags(await configOf("ctl"))).toContain("--node-name=ctl");
    expect(k3sFlags(await configOf("w1"))).toContain("--node-name=w1");
  });

  test("empty lists are left out rather than written as `key: []`", async () => {
    const inv = parseInventory(
      `cluster: { nfs_network: 198.51.100.0/24 }
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, storage_disk: /dev/vdb }
`,
      join(tmp, "plain.yaml"),
    );
    const config = parse(await configOf("ctl", inv)) as Record<string, unknown>;
    expect(Object.keys(config).sort()).toEqual(
      ["node-name", "write-kubeconfig-mode", "node-ip", "node-external-ip", "token", "tls-san"].sort(),
    );
  });

  test("malformed labels, taints and kubelet args are refused with the key and the fix", () => {
    let err: InventoryError | undefined;
    try {
      inventory(", kubelet_args: [--max-pods=200]", ", labels: [rack a1], taints: [gpu:Sometimes]");
    } catch (e) {
      err = e as InventoryError;
    }
    expect(err).toBeInstanceOf(InventoryError);
    const text = err!.message;
    expect(text).toMatch(/nodes\[0\]\.labels\[0\].*not a node label/);
    expect(text).toMatch(/nodes\[0\]\.taints\[0\].*not a node taint/);
    expect(text).toMatch(/cluster\.k3s\.kubelet_args\[0\][\s\S]*without leading dashes/);
  });
});
