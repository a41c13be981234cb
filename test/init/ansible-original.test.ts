/**
 * Migration from the original research cluster's Ansible setup (issue 18, items 1-4): its inventory and its
 * nested vault (fixtures/original: an `ansible-vault encrypt` of vault.plain.yml, password in
 * vault-password.txt), and k3s-ansible's sample inventory with its optional K3s flags turned on.
 * Each imported field is checked one by one on the inventory the loader reads back, and the report is exact.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { importAnsible, type ImportReport } from "../../src/init/ansible/import.js";
import { readAnsibleInventory } from "../../src/init/ansible/parse.js";
import { reportLines } from "../../src/init/ansible/report.js";
import { openAnsibleVault, type AnsibleVault } from "../../src/init/ansible/vault-source.js";
import { emptyDraft, getIn, nodes, type Draft } from "../../src/init/draft.js";
import { inventoryData, planVault } from "../../src/init/draft-vault.js";
import { renderInventory } from "../../src/init/render-inventory.js";
import { loadInventory, parseInventory } from "../../src/inventory/load.js";
import { DEFAULTS } from "../../src/inventory/schema.js";
import { decryptVault, encryptVault } from "../../src/vault/format.js";
import { VaultStore } from "../../src/vault/store.js";
import { FIXTURES, runCli, sandbox } from "./helpers/cli.js";
import { importOriginal, ORIGINAL, ORIGINAL_VAULT_PASSWORD } from "./helpers/original-import.js";

const CLI_TIMEOUT_MS = 120_000;
const VAULT = join(ORIGINAL, "vault.yml");

async function importFixture(file: string, vault?: AnsibleVault) {
  const parsed = readAnsibleInventory(file);
  const draft = emptyDraft();
  const report = importAnsible(parsed, draft, { vault });
  if (vault) draft.ansibleVault = resolve(vault.file);
  return { parsed, draft, report };
}

/** The inventory as init would write it next to the fixture, read back by the loader (which must accept it). */
function written(draft: Draft, at: string) {
  const file = join(at, "powerstack/inventory.yaml");
  const plan = planVault(draft, file, "vault.yaml");
  return { plan, inventory: parseInventory(renderInventory(inventoryData(draft, plan), []), file) };
}

/**
 * Exactness: every variable as written (each place it is defined, each vault leaf) is in the report, and
 * each one (each K3s flag of it) in exactly one section.
 */
function expectEveryVariableOnce(report: ImportReport, definitions: Array<{ name: string; where: string }>) {
  const sections = new Map<string, Set<string>>();
  for (const e of report.entries) {
    const key = `${e.name} @ ${e.where}${e.part ? ` ${e.part}` : ""}`;
    if (!sections.has(key)) sections.set(key, new Set());
    sections.get(key)!.add(e.section);
  }
  for (const d of definitions) {
    const keys = [...sections.keys()].filter((k) => k.startsWith(`${d.name} @ ${d.where}`));
    expect(keys, `${d.name} (${d.where}) is reported`).not.toEqual([]);
    for (const k of keys) expect([...sections.get(k)!], `${k} is in one section`).toHaveLength(1);
  }
  const known = new Set(definitions.map((d) => `${d.name} @ ${d.where}`));
  for (const e of report.entries) expect(known.has(`${e.name} @ ${e.where}`)).toBe(true);
}

describe("the original research cluster's inventory, with its Ansible vault", () => {
  it("uses a fixture vault that is an ansible-vault encryption of the nested mapping beside it", () => {
    const text = readFileSync(VAULT, "utf8");
    expect(text.split("\n")[0]).toBe("$ANSIBLE_VAULT;1.1;AES256");
    const { plaintext } = decryptVault(text, ORIGINAL_VAULT_PASSWORD, VAULT);
    expect(plaintext).toBe(readFileSync(join(ORIGINAL, "vault.plain.yml"), "utf8"));
  });

  it("takes over every field it has a meaning for, checked one by one on the validated inventory", async () => {
    const vault = await openAnsibleVault(VAULT, ORIGINAL_VAULT_PASSWORD);
    const { draft } = await importFixture(join(ORIGINAL, "inventory.yml"), vault);
    const { plan, inventory: inv } = written(draft, ORIGINAL);

    // Every secret came from the Ansible vault: the inventory refers to it there, by dotted path.
    expect(plan).toEqual({ mode: "reference", file: "../vault.yml" });
    expect(inv.vaultFile).toBe(VAULT);
    const c = inv.cluster;
    const fields: Array<[string, unknown, unknown]> = [
      ["nodes[].name (node_name)", inv.nodes.map((n) => n.name), ["rs1", "rs2", "rs3"]],
      ["nodes[].role (server/agent groups)", inv.nodes.map((n) => n.role), ["control", "worker", "worker"]],
      [
        "nodes[].ssh_address (host alias)",
        inv.nodes.map((n) => n.sshAddress),
        ["198.51.100.21", "198.51.100.22", "198.51.100.23"],
      ],
      ["nodes[].ssh_port (ansible_port)", inv.nodes.map((n) => n.sshPort), [22, 22, 22]],
      [
        "nodes[].internal_ip (internal_ip, --node-ip)",
        inv.nodes.map((n) => n.internalIp),
        ["192.0.2.21", "192.0.2.22", "192.0.2.23"],
      ],
      [
        "nodes[].external_ip (external_ip; default internal)",
        inv.nodes.map((n) => n.externalIp),
        ["198.51.100.21", "192.0.2.22", "192.0.2.23"],
      ],
      [
        "nodes[].storage_disk (disk_for_persistent_storage)",
        inv.nodes.map((n) => n.storageDisk),
        ["/dev/disk/by-id/ata-DATA-rs1", undefined, undefined],
      ],
      [
        "nodes[].bmc.address (BMC_ip)",
        inv.nodes.map((n) => n.bmc?.address),
        ["https://198.51.100.11", "https://198.51.100.12", "https://198.51.100.13"],
      ],
      [
        "nodes[].bmc.username_secret (vault xclarityUser)",
        inv.nodes.map((n) => (n.bmc as { usernameSecret?: string } | undefined)?.usernameSecret),
        Array(3).fill("ansible_vault.xclarityUser"),
      ],
      [
        "nodes[].bmc.password_secret (vault xclarityPassword)",
        inv.nodes.map((n) => n.bmc?.passwordSecret),
        Array(3).fill("ansible_vault.xclarityPassword"),
      ],
      [
        "nodes[].labels (--node-label)",
        inv.nodes.map((n) => n.labels),
        [[], ["powerstack.io/rack=b2"], ["powerstack.io/rack=b2"]],
      ],
      ["ssh.user (ansible_user)", inv.ssh.user, "ubuntu"],
      ["cluster.k3s.version (k3s_version)", c.k3s.version, "v1.30.2+k3s1"],
      ["cluster.k3s.token_secret (token)", c.k3s.tokenSecret, "ansible_vault.token"],
      // `--disable traefik` is left out: Rancher is imported, and Traefik serves its Ingress.
      ["cluster.k3s.disable (--disable traefik, left out for Rancher)", c.k3s.disable, []],
      ["cluster.k3s.tls_san (--tls-san: the server's own external IP)", c.k3s.tlsSan, []],
      ["cluster.k3s.kubelet_args (--kubelet-arg)", c.k3s.kubeletArgs, ["max-pods=150"]],
      ["cluster.nfs_network (nfs_network)", c.nfsNetwork, "192.0.2.0/24"],
      ["cluster.data_path (export_path)", c.dataPath, "/mnt/data"],
      [
        "cluster.volumes (pv_size_*, pvc_size_*)",
        c.volumes,
        {
          prometheus: { size: "60Gi", claim: "55Gi" },
          grafana: { size: "12Gi", claim: "10Gi" },
          alertmanager: { size: "6Gi", claim: "5Gi" },
        },
      ],
      [
        "cluster.node_ports (*_custom_nodeport): the bookmarked ports",
        c.nodePorts,
        { prometheus: 30002, grafana: 30003, alertmanager: 30004 },
      ],
      ["cluster.monitoring.namespace (monitoring_namespace)", c.monitoring.namespace, "observability"],
      ["cluster.monitoring.scrape_interval (prometheus_scrape_interval)", c.monitoring.scrapeInterval, "10s"],
      [
        "cluster.monitoring.grafana_admin_password_secret (vault grafanaAdminPassword)",
        c.monitoring.grafanaAdminPasswordSecret,
        "ansible_vault.grafanaAdminPassword",
      ],
      ["cluster.kepler.flavour (kepler_repo_url: kepler-helm-chart)", c.kepler.flavour, "legacy"],
      [
        "cluster.kepler.chart_version (the legacy line's pin)",
        c.kepler.chartVersion,
        DEFAULTS.keplerChartVersion.legacy,
      ],
      ["cluster.kepler.namespace (kepler_namespace)", c.kepler.namespace, "kepler-system"],
      ["cluster.rancher.enabled (rancher_hostname)", c.rancher.enabled, true],
      ["cluster.rancher.hostname (rancher_hostname)", c.rancher.hostname, "rancher.lab.example"],
      [
        "cluster.rancher.bootstrap_password_secret (bootstrapPassword → vault bootstrapPassword)",
        c.rancher.bootstrapPasswordSecret,
        "ansible_vault.bootstrapPassword",
      ],
      ["cluster.rancher.version (the pinned one)", c.rancher.version, DEFAULTS.rancherVersion],
    ];
    for (const [what, got, want] of fields) expect(got, what).toEqual(want);

    // The values stay in the vault: the inventory's names find them there.
    const store = await VaultStore.open(inv.vaultFile, ORIGINAL_VAULT_PASSWORD);
    expect(store.get(c.k3s.tokenSecret)).toBe("K10-test-token-0123456789abcdef");
    expect(store.get(c.monitoring.grafanaAdminPasswordSecret)).toBe("grafana-test-pw");
    expect(store.get(inv.nodes[0]!.bmc!.passwordSecret)).toBe("xcc-test-pw");
    expect(store.get("ansible_vault.xclarityUser")).toBe("USERID");
    expect(store.get(c.rancher.bootstrapPasswordSecret)).toBe("rancher-bootstrap-test");
  });

  it("reports every variable of the inventory and every value of the vault exactly once", async () => {
    const vault = await openAnsibleVault(VAULT, ORIGINAL_VAULT_PASSWORD);
    const { parsed, report } = await importFixture(join(ORIGINAL, "inventory.yml"), vault);
    expectEveryVariableOnce(report, [
      ...parsed.definitions,
      ...vault.leafPaths().map((p) => ({ name: p, where: `vault ${VAULT}` })),
    ]);
    const lines = reportLines(report);
    // Nothing the inventory or its vault holds is left to be entered.
    expect(lines.input).toEqual([]);
    expect(lines.ignored.map((l) => l.split(" ")[0])).toEqual([
      "`control_node_name`",
      "`api_endpoint`",
      "`cluster_context`",
      "`storageclass_name`",
      "`storage_accessmode`",
      "`pv_name`",
      "`pvc_name`",
      "`storageclass_size`",
      "`monitoring_stack_repo_url`",
      "`testing_namespace`",
      "`benchmarking_namespace`",
      "`k_bench_repo`",
      "`perf_tests_repo`",
      "`kubectl_version`",
      "`disk_for_testing`",
      "`extra_server_args`",
      "`extra_server_args`",
      "`extra_server_args`",
    ]);
    expect(lines.ignored).toContain(
      "`extra_server_args` (group k3s_cluster) `--disable traefik`: Rancher is imported (cluster.rancher.enabled) and served through K3s' Traefik, which therefore stays enabled; to keep Traefik off, set cluster.rancher.enabled: false and add traefik to cluster.k3s.disable",
    );
    expect(lines.taken).toEqual(
      expect.arrayContaining([
        "`rancher_hostname` (group k3s_cluster) → cluster.rancher.hostname (with cluster.rancher.enabled: true)",
        "`bootstrapPassword` (group k3s_cluster) → the Rancher bootstrap password (from the Ansible vault's `ansible_vault.bootstrapPassword`)",
        "`ansible_vault.bootstrapPassword` (vault configs/vault.yml): used through `bootstrapPassword` (group k3s_cluster)".replace(
          "configs/vault.yml",
          VAULT,
        ),
      ]),
    );
  });

  it("without the vault, each reference to it needs input, saying how to read the vault", async () => {
    const { draft, report } = await importFixture(join(ORIGINAL, "inventory.yml"));
    const lines = reportLines(report);
    expect(lines.input).toEqual([
      "`token` (group k3s_cluster) refers to the Ansible vault (`ansible_vault.token`), which was not read (pass --ansible-vault <file>): enter the K3s token (a secret)",
      "`bootstrapPassword` (group k3s_cluster) refers to the Ansible vault (`ansible_vault.bootstrapPassword`), which was not read (pass --ansible-vault <file>): enter the Rancher bootstrap password (a secret)",
    ]);
    expect(draft.mustEnter.get("secret:k3sToken")).toContain("pass --ansible-vault <file>");
    expect(draft.mustEnter.get("secret:rancherBootstrapPassword")).toContain("pass --ansible-vault <file>");
    // Rancher itself needs no vault: its host name is taken all the same.
    expect(getIn(draft.doc, ["cluster", "rancher"])).toEqual({
      hostname: "rancher.lab.example",
      enabled: true,
    });
    expect(planVault(draft, join(ORIGINAL, "x.yaml"), "vault.yaml").mode).toBe("write");
  });

  it("copies the values into a vault of its own when the Ansible vault lacks one the inventory needs", async () => {
    const vault = await openAnsibleVault(VAULT, ORIGINAL_VAULT_PASSWORD);
    const { draft } = await importFixture(join(ORIGINAL, "inventory.yml"), vault);
    draft.secrets.slackWebhook = "https://hooks.slack.com/services/T/B/X"; // entered, not in the vault
    const { plan, inventory } = written(draft, ORIGINAL);
    expect(plan).toEqual({
      mode: "write",
      file: "vault.yaml",
      why: "the Ansible vault does not hold the Slack webhook, and an inventory names one vault: the values are copied into vault.yaml",
    });
    expect(inventory.cluster.k3s.tokenSecret).toBe("k3s_token");
    expect(inventory.nodes[0]!.bmc!.passwordSecret).toBe("bmc_password");
    expect(inventory.cluster.rancher.bootstrapPasswordSecret).toBe("rancher_bootstrap_password");
  });
});

describe("k3s-ansible's sample inventory with its optional K3s flags", () => {
  it("parses the flags into inventory keys and reports the rest one by one with where they go", async () => {
    const { parsed, draft, report } = await importFixture(join(FIXTURES, "k3s-ansible-sample.yml"));
    expectEveryVariableOnce(report, parsed.definitions);
    const list = nodes(draft);
    const fields: Array<[string, unknown, unknown]> = [
      ["--flannel-iface → nodes[].flannel_iface", list.map((n) => n.flannel_iface), ["eth1", "eth1", "eth1"]],
      [
        "--tls-san → cluster.k3s.tls_san",
        getIn(draft.doc, ["cluster", "k3s", "tls_san"]),
        ["k3s.lab.example"],
      ],
      [
        "--disable a,b → cluster.k3s.disable",
        getIn(draft.doc, ["cluster", "k3s", "disable"]),
        ["traefik", "servicelb"],
      ],
      [
        "--node-taint → nodes[0].taints",
        list.map((n) => n.taints),
        [["CriticalAddonsOnly=true:NoExecute"], undefined, undefined],
      ],
      [
        "--node-label → nodes[].labels (agents)",
        list.map((n) => n.labels),
        [undefined, ["tier=batch"], ["tier=batch"]],
      ],
      [
        "--kubelet-arg → cluster.k3s.kubelet_args",
        getIn(draft.doc, ["cluster", "k3s", "kubelet_args"]),
        ["max-pods=200"],
      ],
      ["token → the K3s token", draft.secrets.k3sToken, "changeme!"],
      ["k3s_version", getIn(draft.doc, ["cluster", "k3s", "version"]), "v1.31.4+k3s1"],
    ];
    for (const [what, got, want] of fields) expect(got, what).toEqual(want);

    const lines = reportLines(report);
    expect(lines.ignored.filter((l) => l.includes("_args"))).toEqual([
      "`extra_server_args` (group k3s_cluster) `--cluster-init`: powerstack runs a single K3s server, so there is no embedded-etcd cluster to initialise",
      '`extra_server_args` (group k3s_cluster) `--data-dir /srv/k3s`: not modelled by powerstack (`up` rewrites /etc/rancher/k3s/config.yaml): put `data-dir: "/srv/k3s"` in /etc/rancher/k3s/config.yaml.d/50-site.yaml on the control node (K3s merges drop-in files), then restart k3s',
      "`extra_agent_args` (group k3s_cluster) `--node-name`: has no value; K3s would refuse it",
    ]);
    // The draft validates once the node names (IP aliases) are given.
    list.forEach((n, i) => (n.name = `n${i + 1}`));
    list[0]!.storage_disk = "/dev/sdb";
    (draft.doc.cluster as Record<string, unknown>).nfs_network = "192.16.35.0/24";
    list.forEach((n) => (n.internal_ip = n.ssh_address));
    expect(() => written(draft, FIXTURES)).not.toThrow();
  });
});

describe(
  "powerstack init --defaults --from-ansible on the original setup",
  { timeout: CLI_TIMEOUT_MS },
  () => {
    let box: ReturnType<typeof sandbox>;
    beforeEach(() => {
      box = sandbox();
    });
    afterEach(() => box.remove());

    it("needs no flag but the vault password, prints the exact report, and refers to the untouched vault", async () => {
      const before = readFileSync(VAULT, "utf8");
      const run = await importOriginal(box.dir);
      expect(run.result.stderr).toBe("");
      expect(run.result.code).toBe(0);
      const report = run.result.stdout.split("\n");
      const end = report.findIndex((l) => l.startsWith("Wrote "));
      expect(report.slice(0, end).join("\n") + "\n").toBe(
        readFileSync(join(ORIGINAL, "import-report.txt"), "utf8"),
      );
      expect(run.result.stdout).toContain(
        "Vault: configs/vault.yml, the Ansible vault, left untouched: the inventory refers to 5 of its values by dotted path",
      );

      // The written inventory validates as `up` reads it, and names the user's vault, byte for byte unchanged.
      const inv = loadInventory(run.inventory);
      expect(inv.vaultFile).toBe(run.vault);
      expect(readFileSync(run.vault, "utf8")).toBe(before);
      expect(existsSync(join(box.dir, "vault"))).toBe(false);
      expect(readFileSync(run.inventory, "utf8")).toContain("token_secret: ansible_vault.token");
      const store = await VaultStore.open(inv.vaultFile, ORIGINAL_VAULT_PASSWORD);
      expect(store.get(inv.cluster.k3s.tokenSecret)).toBe("K10-test-token-0123456789abcdef");
      expect(inv.cluster.nodePorts).toEqual({ prometheus: 30002, grafana: 30003, alertmanager: 30004 });
      // Rancher is on, its password read from the Ansible vault by the name the inventory gives.
      expect(inv.cluster.rancher).toMatchObject({ enabled: true, hostname: "rancher.lab.example" });
      expect(store.get(inv.cluster.rancher.bootstrapPasswordSecret)).toBe("rancher-bootstrap-test");
    });

    it("without a vault password, names the Ansible vault's password as missing and writes nothing", async () => {
      const run = await runCli(
        ["init", "--defaults", "--from-ansible", join(ORIGINAL, "inventory.yml"), "--output", "inv.yaml"],
        { cwd: box.dir },
      );
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        `password of the Ansible vault ${join(ORIGINAL, "vault.yml")}: no value given\n    pass --vault-password-file <file> or set POWERSTACK_VAULT_PASSWORD`,
      );
      expect(run.stderr).toContain(
        "K3s cluster token: the imported `token` (group k3s_cluster) refers to the Ansible vault",
      );
      expect(existsSync(join(box.dir, "inv.yaml"))).toBe(false);
    });

    it("refuses --ansible-vault without an inventory to import", async () => {
      const run = await runCli(["init", "--defaults", "--ansible-vault", VAULT], { cwd: box.dir });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("--ansible-vault reads the vault of an imported Ansible inventory");
      expect(run.stderr).toContain("pass --from-ansible <inventory> with it");
    });

    it("copies into its own vault, saying why, when the Ansible vault lacks a secret that is then supplied", async () => {
      // The original vault without its Grafana password: supplied from the environment instead.
      const plain = readFileSync(join(ORIGINAL, "vault.plain.yml"), "utf8").replace(
        /^.*grafanaAdminPassword.*\n/m,
        "",
      );
      const elsewhere = join(box.dir, "secrets", "lab-vault.yml");
      mkdirSync(join(box.dir, "secrets"));
      writeFileSync(elsewhere, encryptVault(plain, ORIGINAL_VAULT_PASSWORD));
      const run = await importOriginal(box.dir, {
        args: ["--ansible-vault", "secrets/lab-vault.yml"],
        env: { POWERSTACK_GRAFANA_ADMIN_PASSWORD: "entered-grafana-pw" },
      });
      expect(run.result.code).toBe(0);
      expect(run.result.stdout).toContain(
        "Not by reference to secrets/lab-vault.yml: the Ansible vault does not hold the Grafana admin password, and an inventory names one vault: the values are copied into ../vault/vault.yaml",
      );
      const inv = loadInventory(run.inventory);
      expect(inv.vaultFile).toBe(join(box.dir, "vault/vault.yaml"));
      const own = await VaultStore.open(inv.vaultFile, ORIGINAL_VAULT_PASSWORD);
      expect(own.get("k3s_token")).toBe("K10-test-token-0123456789abcdef");
      expect(own.get("bmc_password")).toBe("xcc-test-pw");
      expect(own.get("grafana_admin_password")).toBe("entered-grafana-pw");
      expect(inv.cluster.rancher.bootstrapPasswordSecret).toBe("rancher_bootstrap_password");
      expect(own.get("rancher_bootstrap_password")).toBe("rancher-bootstrap-test");
      // The BMC user name was a secret of the Ansible vault: it stays one, in the vault init wrote.
      expect(inv.nodes.map((n) => (n.bmc as { usernameSecret?: string }).usernameSecret)).toEqual(
        Array(3).fill("bmc_username"),
      );
      expect(own.get("bmc_username")).toBe("USERID");
      expect(readFileSync(run.inventory, "utf8")).not.toContain("USERID");
    });
  },
);
