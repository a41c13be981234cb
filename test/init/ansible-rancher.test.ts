/**
 * Rancher coming from Ansible: `rancher_hostname` turns `cluster.rancher` on, the bootstrap password goes
 * to the vault like the K3s token (literal, from a nested Ansible vault, or to be entered when it cannot be
 * read), a Rancher release other than the pinned one is reported, not imported, and what is imported loads.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { importAnsible } from "../../src/init/ansible/import.js";
import { parseAnsibleInventory } from "../../src/init/ansible/parse.js";
import { reportLines } from "../../src/init/ansible/report.js";
import { openAnsibleVault, type AnsibleVault } from "../../src/init/ansible/vault-source.js";
import { emptyDraft, getIn, type Draft } from "../../src/init/draft.js";
import { inventoryData, planVault } from "../../src/init/draft-vault.js";
import { renderInventory } from "../../src/init/render-inventory.js";
import { ScriptedAsker } from "../../src/init/scripted-asker.js";
import { vaultValues } from "../../src/init/secret-names.js";
import { fillDraft } from "../../src/init/wizard.js";
import { writeInventoryFile, writeVaultFile } from "../../src/init/write-files.js";
import { loadInventory, secretReferences } from "../../src/inventory/load.js";
import { DEFAULTS } from "../../src/inventory/schema.js";
import { encryptVault } from "../../src/vault/format.js";
import { VaultStore } from "../../src/vault/store.js";
import { sandbox } from "./helpers/cli.js";

const PASSWORD = "rancher-test-vault-pw";

/** A two-node k3s-ansible inventory that loads once imported; `vars` are added to the group's. */
function inventoryText(vars: string): string {
  return `k3s_cluster:
  children:
    server:
      hosts:
        10.0.0.11:
          node_name: ctl
          internal_ip: 10.0.0.11
          storage_disk: /dev/sdb
    agent:
      hosts:
        10.0.0.12:
          node_name: w1
          internal_ip: 10.0.0.12
  vars:
    k3s_version: v1.30.2+k3s1
    nfs_network: 10.0.0.0/24
    token: "K10-inline-token"
    grafana_admin_password: "grafana-inline-pw"
${vars
  .trim()
  .split("\n")
  .map((l) => `    ${l}`)
  .join("\n")}
`;
}

function importText(vars: string, vault?: AnsibleVault) {
  const draft = emptyDraft();
  const report = importAnsible(parseAnsibleInventory(inventoryText(vars), "inline.yml"), draft, { vault });
  return { draft, lines: reportLines(report) };
}

/** Write the inventory and init's own vault as `init` does, and read both back as `up` does. */
async function writeAndLoad(draft: Draft, dir: string) {
  const file = join(dir, "inventory.yaml");
  const plan = planVault(draft, file, "vault.yaml");
  expect(plan.mode).toBe("write");
  const doc = inventoryData(draft, plan);
  await writeVaultFile(join(dir, "vault.yaml"), PASSWORD, vaultValues(draft, doc), false);
  await writeInventoryFile(file, renderInventory(doc, []), false);
  const inv = loadInventory(file);
  const store = await VaultStore.open(inv.vaultFile, PASSWORD);
  return { inv, store };
}

describe("Rancher variables of an Ansible inventory", () => {
  let box: ReturnType<typeof sandbox>;
  beforeEach(() => {
    box = sandbox();
  });
  afterEach(() => box.remove());

  it("turns Rancher on from its URL, keeps the pinned release, and the written inventory and vault load", async () => {
    const { draft, lines } = importText(`
rancher_url: https://Rancher.Lab.Example/dashboard/
rancher_version: v${DEFAULTS.rancherVersion}
bootstrap_password: "inline-bootstrap-pw"
extra_server_args: "--disable traefik,servicelb"
`);
    expect(lines.taken).toEqual(
      expect.arrayContaining([
        "`rancher_url` (group k3s_cluster) → cluster.rancher.hostname (the host name of `https://Rancher.Lab.Example/dashboard/`) (with cluster.rancher.enabled: true)",
        "`rancher_version` (group k3s_cluster) → cluster.rancher.version",
        "`bootstrap_password` (group k3s_cluster) → the Rancher bootstrap password",
        "`extra_server_args` (group k3s_cluster) `--disable traefik,servicelb` → cluster.k3s.disable (not traefik: Rancher is imported (cluster.rancher.enabled) and served through K3s' Traefik, which therefore stays enabled; to keep Traefik off, set cluster.rancher.enabled: false and add traefik to cluster.k3s.disable)",
      ]),
    );
    // The password is a secret: never in the inventory document.
    expect(JSON.stringify(draft.doc)).not.toContain("inline-bootstrap-pw");

    const { inv, store } = await writeAndLoad(draft, box.dir);
    expect(inv.cluster.rancher).toEqual({
      enabled: true,
      hostname: "rancher.lab.example",
      bootstrapPasswordSecret: "rancher_bootstrap_password",
      version: DEFAULTS.rancherVersion,
    });
    expect(inv.cluster.k3s.disable).toEqual(["servicelb"]);
    expect(store.get(inv.cluster.rancher.bootstrapPasswordSecret)).toBe("inline-bootstrap-pw");
    // Every secret the inventory names (Rancher's among them) is in the vault, as `up` requires.
    const refs = secretReferences(inv);
    expect(refs.map((r) => r.key)).toContain("cluster.rancher.bootstrap_password_secret");
    for (const r of refs.filter((x) => !x.optional)) expect(store.has(r.secret), r.key).toBe(true);
  });

  it("reports a Rancher release other than the pinned one, with why, and keeps the pinned one", () => {
    const { draft, lines } = importText(`
rancher_hostname: rancher.lab.example
rancher_version: "2.11.2"
rancher_replicas: 3
cert_manager_version: v1.14.0
`);
    expect(lines.ignored).toContain(
      `\`rancher_version\` (group k3s_cluster): is Rancher 2.11.2, but powerstack installs only the Rancher ${DEFAULTS.rancherVersion} chart it pins and tests (vendor/charts); moving Rancher to another release is an upgrade to review and carry out by hand after \`up\`: the key keeps powerstack's default`,
    );
    expect(lines.ignored).toEqual(
      expect.arrayContaining([
        "`rancher_replicas` (group k3s_cluster): a Rancher setting powerstack does not model: it installs the pinned Rancher chart its own way (one replica in cattle-system, Rancher's own CA); its settings are cluster.rancher.hostname and the bootstrap password",
        `\`cert_manager_version\` (group k3s_cluster): powerstack installs cert-manager ${DEFAULTS.certManagerVersion}, the release it pins for Rancher; not a setting`,
      ]),
    );
    expect(getIn(draft.doc, ["cluster", "rancher", "version"])).toBeUndefined();
    expect(getIn(draft.doc, ["cluster", "rancher", "enabled"])).toBe(true);
  });

  it("ignores a bootstrap password without a Rancher host name, and keeps Traefik disabled then", () => {
    const { draft, lines } = importText(`
rancher_hostname: ""
bootstrapPassword: "orphan-pw"
extra_server_args: "--disable traefik"
`);
    expect(lines.ignored).toContain(
      "`bootstrapPassword` (group k3s_cluster): no `rancher_hostname` for this host, so Rancher is not imported and its bootstrap password is not needed",
    );
    expect(lines.ignored).toContain(
      "`rancher_hostname` (group k3s_cluster): is empty: the key keeps powerstack's default",
    );
    expect(draft.secrets.rancherBootstrapPassword).toBeUndefined();
    expect(getIn(draft.doc, ["cluster", "rancher"])).toBeUndefined();
    expect(getIn(draft.doc, ["cluster", "k3s", "disable"])).toEqual(["traefik"]);
  });

  it("asks for a password encrypted inline, and (non-interactively) names the variable that supplies it", async () => {
    const { draft, lines } = importText(`
rancher_hostname: rancher.lab.example
rancher_password: !vault |
  $ANSIBLE_VAULT;1.1;AES256
  6162636465
`);
    expect(lines.input).toEqual([
      "`rancher_password` (group k3s_cluster) is encrypted inline (`!vault`); powerstack does not decrypt inline vault values: enter the Rancher bootstrap password (a secret)",
    ]);
    const asker = new ScriptedAsker(() => undefined, {});
    await fillDraft(draft, asker);
    expect(() => asker.finish()).toThrow(
      /Rancher bootstrap password \(its first `admin` password\): the imported `rancher_password` \(group k3s_cluster\) is encrypted inline[^\n]*\n\s+set the environment variable POWERSTACK_RANCHER_BOOTSTRAP_PASSWORD/,
    );

    const supplied = new ScriptedAsker(() => undefined, {
      POWERSTACK_RANCHER_BOOTSTRAP_PASSWORD: "entered-bootstrap-pw",
    });
    await fillDraft(draft, supplied);
    expect(() => supplied.finish()).not.toThrow();
    expect(draft.secrets.rancherBootstrapPassword).toBe("entered-bootstrap-pw");
  });

  it("asks for a host name it cannot read, with Rancher on as the source meant", async () => {
    const { draft, lines } = importText(`
rancher_hostname: "rancher.{{ domain }}"
rancher_bootstrap_password: "pw-for-rancher"
extra_server_args: "--disable traefik"
`);
    expect(lines.input).toEqual([
      "`rancher_hostname` (group k3s_cluster) is a Jinja expression `rancher.{{ domain }}`; powerstack does not evaluate templates: enter cluster.rancher.hostname",
    ]);
    const asker = new ScriptedAsker(() => undefined, {});
    await fillDraft(draft, asker);
    expect(getIn(draft.doc, ["cluster", "rancher", "enabled"])).toBe(true);
    // Rancher is coming, so Traefik is not disabled, and its password is ready for the vault.
    expect(getIn(draft.doc, ["cluster", "k3s", "disable"])).toBeUndefined();
    expect(draft.secrets.rancherBootstrapPassword).toBe("pw-for-rancher");
    expect(() => asker.finish()).toThrow(
      /cluster\.rancher\.hostname: the imported `rancher_hostname` \(group k3s_cluster\) is a Jinja expression[^\n]*\n\s+pass --set cluster\.rancher\.hostname=/,
    );
  });

  it("takes the password from a nested Ansible vault by its name when no variable refers to it", async () => {
    const file = join(box.dir, "vault.yml");
    writeFileSync(
      file,
      encryptVault(
        "secrets:\n  rancher_bootstrap_password: from-the-vault-pw\n  token: K10-vault\n",
        PASSWORD,
      ),
    );
    const vault = await openAnsibleVault(file, PASSWORD);
    const { draft, lines } = importText("rancher_hostname: rancher.lab.example", vault);
    expect(lines.taken).toContain(
      `\`secrets.rancher_bootstrap_password\` (vault ${file}) → the Rancher bootstrap password (by its name: no inventory variable refers to it)`,
    );
    expect(draft.secrets.rancherBootstrapPassword).toBe("from-the-vault-pw");
    expect(draft.vaultRefs.get("secret:rancherBootstrapPassword")).toBe("secrets.rancher_bootstrap_password");

    // Without Rancher, the same vault value is not needed.
    const off = importText("k3s_flannel_iface: eth1", vault);
    expect(off.lines.ignored).toContain(
      `\`secrets.rancher_bootstrap_password\` (vault ${file}): Rancher is not imported (no host name for it), so its bootstrap password is not needed`,
    );
    expect(off.draft.secrets.rancherBootstrapPassword).toBeUndefined();
  });
});
