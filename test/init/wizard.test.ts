/**
 * The wizard's decisions without a terminal: which keys it asks, which it keeps, how it re-asks a value
 * the schema or the loader rejects. A recording asker stands in for the person (the real prompts are
 * covered through tmux in wizard-tty.test.ts).
 */
import { describe, expect, it } from "vitest";
import { checkAnswer } from "../../src/inventory/field-check.js";
import { formatPath } from "../../src/inventory/schema-walker.js";
import { importAnsible } from "../../src/init/ansible/import.js";
import { parseAnsibleInventory } from "../../src/init/ansible/parse.js";
import type { Asker, FieldQuestion, SecretQuestion } from "../../src/init/asker.js";
import { settleDraft } from "../../src/init/draft-check.js";
import { emptyDraft, nodes, type Draft } from "../../src/init/draft.js";
import { renderInventory } from "../../src/init/render-inventory.js";
import { vaultValues, withSecretNames } from "../../src/init/secret-names.js";
import { fillDraft } from "../../src/init/wizard.js";
import { parseInventory } from "../../src/inventory/load.js";

/** Answers by key path (several answers: one per time the key is asked); records every question. */
class RecordingAsker implements Asker {
  readonly interactive = true;
  readonly asked: string[] = [];
  readonly retries: Array<{ key: string; error: string }> = [];
  constructor(
    private readonly answers: Record<string, unknown[]>,
    private readonly secrets: Record<string, string> = {},
  ) {}
  async field(q: FieldQuestion): Promise<unknown> {
    const key = formatPath(q.path);
    this.asked.push(key);
    if (q.retry) this.retries.push({ key, error: q.retry.error });
    const queue = this.answers[key];
    const answer = queue && queue.length > 0 ? queue.shift() : q.default;
    const r = checkAnswer(q.path, answer);
    if (!r.ok) throw new Error(`test answer for ${key} is invalid: ${r.message}`);
    return r.value;
  }
  async confirm(message: string, def: boolean): Promise<boolean> {
    this.asked.push(`confirm: ${message}`);
    return def;
  }
  async secret(q: SecretQuestion): Promise<string | undefined> {
    this.asked.push(`secret: ${q.what}`);
    return this.secrets[q.what];
  }
  missing(key: string): void {
    throw new Error(`missing ${key}`);
  }
  say(): void {}
}

function imported(text: string): Draft {
  const draft = emptyDraft();
  importAnsible(parseAnsibleInventory(text, "inline.yml"), draft);
  return draft;
}

describe("the wizard on an imported inventory", () => {
  const INVENTORY = `
server:
  hosts:
    c1: { ansible_host: 198.51.100.1, internal_ip: 198.51.100.1, disk: /dev/sdb, bmc_ip: "http://203.0.113.1", bmc_user: admin, bmc_password: pw }
agent:
  hosts:
    w1: { ansible_host: 198.51.100.2 }
`;

  it("asks only the keys it lacks, and re-asks an imported value the schema rejects", async () => {
    const draft = imported(INVENTORY);
    const asker = new RecordingAsker(
      { "nodes[0].bmc.address": ["https://203.0.113.1"] },
      { "Grafana admin password": "g" },
    );
    await fillDraft(draft, asker);
    expect(asker.asked).toEqual([
      "nodes[0].bmc.address", // imported as http://, refused
      "nodes[1].internal_ip", // lacking and required (offered: its ansible_host)
      "cluster.nfs_network", // lacking and required
      "secret: Grafana admin password",
    ]);
    expect(asker.retries).toEqual([
      {
        key: "nodes[0].bmc.address",
        error: "`http://203.0.113.1` is not an https URL such as `https://10.0.1.11` (Redfish requires TLS)",
      },
    ]);
    expect(nodes(draft)[1]!.internal_ip).toBe("198.51.100.2");
    expect(draft.doc.cluster).toMatchObject({
      nfs_network: "198.51.100.0/24",
      k3s: { version: "v1.31.4+k3s1" },
    });

    const data = withSecretNames(draft, "../vault/vault.yaml");
    const inv = parseInventory(renderInventory(data, []), "/x/inventory/inventory.yaml");
    expect(inv.nodes[0]!.bmc).toMatchObject({
      address: "https://203.0.113.1",
      passwordSecret: "bmc_password",
    });
    const values = vaultValues(draft, data);
    expect(Object.keys(values).sort()).toEqual(["bmc_password", "grafana_admin_password", "k3s_token"]);
    expect(values.k3s_token).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("settleDraft", () => {
  it("re-asks the keys the loader's cross-field checks name, the NFS network first for an IP outside it", async () => {
    const draft = emptyDraft();
    draft.doc.cluster = { nfs_network: "198.51.100.0/25" };
    draft.doc.nodes = [
      { name: "a", role: "control", internal_ip: "198.51.100.1", storage_disk: "/dev/sdb" },
      { name: "a", role: "worker", internal_ip: "198.51.100.130" },
    ];
    const asker = new RecordingAsker({
      "nodes[1].name": ["b"],
      "cluster.nfs_network": ["198.51.100.0/24"],
      "nodes[1].internal_ip": ["198.51.100.130"],
    });
    await settleDraft(draft, asker, "/x/inventory.yaml", "vault.yaml");
    expect(asker.asked).toEqual(["nodes[1].name", "cluster.nfs_network", "nodes[1].internal_ip"]);
    expect(asker.retries[0]!.error).toBe(
      "duplicate name `a` (also nodes[0]); fix: give every node its own name",
    );
    expect(draft.doc.cluster).toMatchObject({ nfs_network: "198.51.100.0/24" });
  });

  it("asks every role when no node is the control node", async () => {
    const draft = emptyDraft();
    draft.doc.cluster = { nfs_network: "198.51.100.0/24" };
    draft.doc.nodes = [
      { name: "a", role: "worker", internal_ip: "198.51.100.1" },
      { name: "b", role: "worker", internal_ip: "198.51.100.2" },
    ];
    const asker = new RecordingAsker({
      "nodes[0].role": ["control"],
      "nodes[1].role": ["worker"],
      "nodes[0].storage_disk": ["/dev/sdb"],
    });
    await settleDraft(draft, asker, "/x/inventory.yaml", "vault.yaml");
    // Then the new control node lacks its disk: asked in the next round.
    expect(asker.asked).toEqual(["nodes[0].role", "nodes[1].role", "nodes[0].storage_disk"]);
  });
});

describe("renderInventory", () => {
  it("orders keys as the schema does and comments each section once", () => {
    const text = renderInventory(
      {
        nodes: [
          { role: "control", name: "a", internal_ip: "198.51.100.1", storage_disk: "/dev/sdb" },
          { name: "b", role: "worker", internal_ip: "198.51.100.2" },
        ],
        ssh: { user: "root" },
        cluster: { node_ports: { grafana: 30030 }, nfs_network: "198.51.100.0/24" },
        vault_file: "../vault/vault.yaml",
      },
      ["header line"],
    );
    const top = ["vault_file", "cluster", "ssh", "nodes"].map((k) => text.search(new RegExp(`^${k}:`, "m")));
    expect(top.every((at) => at >= 0)).toBe(true);
    expect([...top].sort((x, y) => x - y)).toEqual(top);
    expect(text).toMatch(/^# header line\n/);
    expect(text).toContain("  - name: a\n    role: control\n");
    expect(text.match(/# Address on the internal network/g)).toHaveLength(1);
    expect(() => parseInventory(text, "/x/inv.yaml")).not.toThrow();
  });
});
