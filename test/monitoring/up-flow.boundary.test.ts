/**
 * BOUNDARY test of the whole monitoring layer as `powerstack up --only cluster-storage,monitoring,kepler`
 * runs it: the real playbook, role registry, roles, modules and Runner (probes batched into one round
 * trip), against a simulated control node (FakeControlNode: no K3s or Helm can run here).
 *
 * It proves the properties that matter on real servers: --check sends nothing that acts; the first run
 * converges; the rerun is ONE probe round trip with zero changes and no Helm revision; a changed value
 * upgrades only its release; rotated BMC credentials restart Kepler without a Helm upgrade; and no
 * secret is ever in a command line. The fake renders every release with the REAL Helm on the pinned
 * charts (fake-control-node.ts), so a values or post-renderer mistake fails here as it would on a node.
 *
 * Grafana's admin login (a task of the monitoring role, checked from the operator's machine) meets a
 * minimal Grafana on 127.0.0.1 standing behind the NodePort: it answers `GET /api/user` once the release
 * exists, with the credentials of the live Secret (grafana-admin.boundary.test.ts tests that task itself).
 */
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadPlaybook } from "../../src/engine/playbook.js";
import type { Inventory } from "../../src/inventory/types.js";
import { packageRoot } from "../../src/package-root.js";
import { renderArtifacts } from "../../src/render/artifacts.js";
import { chartPath, requireCharts } from "../support/real-helm.js";
import { bumpedKubePrometheusStack, PINNED_OPERATOR_VERSION } from "./bumped-chart.js";
import { startFakeGrafana, type FakeGrafana } from "./fake-grafana.js";
import { FakeControlNode } from "./fake-control-node.js";
import { runRoles } from "./run-roles.js";
import { inventory, SECRETS, VAULT } from "./fixtures.js";

const ONLY = ["cluster-storage", "monitoring", "kepler"];
const haveCharts = requireCharts();

/** Grafana behind its NodePort, for the role's admin-login task: up once the release is installed. */
let grafanaNode: FakeControlNode | undefined;
let grafana: FakeGrafana;
let grafanaPort = 0;
beforeAll(async () => {
  grafana = await startFakeGrafana(() => grafanaNode);
  grafanaPort = grafana.port;
});
afterAll(async () => {
  await grafana.close();
});

async function up(
  invIn: Inventory,
  node: FakeControlNode,
  opts: { check?: boolean; vault?: Record<string, string> } = {},
) {
  const vault = opts.vault ?? VAULT;
  grafanaNode = node;
  const inv = structuredClone(invIn);
  inv.nodes.find((n) => n.role === "control")!.externalIp = "127.0.0.1";
  inv.cluster.nodePorts.grafana = grafanaPort;
  return runRoles(inv, node, ONLY, { check: opts.check, vault });
}

/** A command as a reviewer reads it. */
function action(cmd: string, stdin?: Buffer): string {
  const crds = /^crds=\$\(mktemp\) && \{ \S+ \S+ show crds ('[^']+' --version '[^']+')/.exec(cmd);
  if (crds) return `helm show crds ${crds[1]} | kubectl apply --server-side`;
  if (cmd.startsWith("/usr/local/bin/k3s kubectl apply --server-side"))
    return `kubectl apply: ${parseAllDocuments((stdin ?? "").toString())
      .map((d) => d.toJS())
      .map((o) => `${o.kind}/${o.metadata.name}`)
      .join(" ")}`;
  const mkdir = /^mkdir -p -- '([^']+)' && chmod '(\d+)' -- '[^']+' && chown '([^']+)'/.exec(cmd);
  if (mkdir) return `mkdir ${mkdir[1]} (${mkdir[2]}, ${mkdir[3]})`;
  const write = /chmod '(\d+)' "\$t"[\s\S]*mv -f "\$t" '([^']+)'/.exec(cmd);
  if (write) return `write ${write[2]} (${write[1]})`;
  return cmd
    .replace("KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm", "helm")
    .replace(/ --namespace .*/, "");
}

const everySecretOnlyOnStdin = (node: FakeControlNode) => {
  for (const s of node.sent) for (const secret of SECRETS()) expect(s.command).not.toContain(secret);
};

describe("up --only cluster-storage,monitoring,kepler (boundary)", () => {
  test("the play sits after Helm/kubeconfig and before Redfish, on the control node", () => {
    const names = loadPlaybook(join(packageRoot(), "playbooks", "up.yaml")).map((p) => p.name);
    const i = names.indexOf("Cluster storage, monitoring and Kepler");
    expect(i).toBe(names.indexOf("Cluster ready, Helm and kubeconfig") + 1);
    expect(names[i + 1]).toBe("Redfish BMCs");
  });

  test("--check: every change listed, nothing acted; before K3s exists it says so", async () => {
    const node = new FakeControlNode();
    const { results, plays } = await up(inventory(), node, { check: true });
    expect(plays.map((p) => p.roles)).toEqual([ONLY]);
    expect(results.every((r) => r.status === "changed")).toBe(true);
    expect(node.actions()).toEqual([]);

    const fresh = new FakeControlNode();
    fresh.k3sInstalled = false;
    fresh.helmInstalled = false;
    const r2 = await up(inventory(), fresh, { check: true });
    expect(
      r2.results
        .find((r) => r.task.startsWith("monitoring: kube-prometheus-stack"))!
        .changes.map((c) => c.summary),
    ).toEqual([
      "add Helm repository prometheus-community (https://prometheus-community.github.io/helm-charts)",
      "apply the CRDs of kube-prometheus-stack 88.5.3 server-side (Helm never upgrades CRDs)",
      "install monitoring/kube-prometheus-stack: kube-prometheus-stack 88.5.3 (once K3s and Helm are installed)",
    ]);
    expect(
      r2.results.find((r) => r.task.startsWith("cluster-storage: StorageClass"))!.changes[0]!.summary,
    ).toBe("create Namespace monitoring (once K3s is installed)");
    expect(fresh.actions()).toEqual([]);
  });

  test("first run converges; the rerun is one probe round trip, zero changes, no new revision", async () => {
    const node = new FakeControlNode();
    const first = await up(inventory(), node);
    expect(first.results.filter((r) => r.status === "failed")).toEqual([]);
    expect(first.changed).toEqual([
      "cluster-storage: /mnt/data/prometheus/prometheus-db",
      "cluster-storage: /mnt/data/alertmanager/alertmanager-db",
      "cluster-storage: StorageClass, PersistentVolumes and Grafana's claim",
      "monitoring: namespace monitoring and its Secrets",
      "monitoring: kube-prometheus-stack 88.5.3",
      "monitoring: Grafana dashboards (power by node, by namespace, CO2)",
      "kepler: namespace kepler and Redfish credentials",
      "kepler: /var/lib/powerstack/helm/kepler",
      "kepler: /var/lib/powerstack/helm/kepler/post-render.sh",
      "kepler: /var/lib/powerstack/helm/kepler/patch.yaml",
      "kepler: Kepler 0.11.4 (current line, Redfish on 2 nodes)",
    ]);
    expect(
      node.sent.filter((s) => node.actions().includes(s.command)).map((s) => action(s.command, s.stdin)),
    ).toEqual([
      "mkdir /mnt/data/prometheus/prometheus-db (0775, 1000:2000)",
      "mkdir /mnt/data/alertmanager/alertmanager-db (0775, 1000:2000)",
      "kubectl apply: Namespace/monitoring StorageClass/powerstack-nfs PersistentVolume/powerstack-prometheus PersistentVolume/powerstack-grafana PersistentVolume/powerstack-alertmanager PersistentVolumeClaim/powerstack-grafana",
      // The namespace is there already (cluster-storage made it): only what differs is sent.
      "kubectl apply: Secret/grafana-admin Secret/alertmanager-slack",
      "helm repo add 'prometheus-community' 'https://prometheus-community.github.io/helm-charts' --force-update",
      "helm repo update 'prometheus-community'",
      // The Prometheus operator's CRDs of the pinned chart, before Helm (which never upgrades CRDs).
      "helm show crds 'prometheus-community/kube-prometheus-stack' --version '88.5.3' | kubectl apply --server-side",
      "helm upgrade --install 'kube-prometheus-stack' 'prometheus-community/kube-prometheus-stack' --version '88.5.3'",
      "kubectl apply: ConfigMap/powerstack-dashboard-power-by-node ConfigMap/powerstack-dashboard-power-by-namespace ConfigMap/powerstack-dashboard-co2",
      "kubectl apply: Namespace/kepler Secret/kepler-redfish",
      "mkdir /var/lib/powerstack/helm/kepler (0755, root:root)",
      "write /var/lib/powerstack/helm/kepler/post-render.sh (0755)",
      "write /var/lib/powerstack/helm/kepler/patch.yaml (0644)",
      "helm upgrade --install 'kepler' 'oci://quay.io/sustainable_computing_io/charts/kepler' --version '0.11.4'",
    ]);
    expect(node.restarts).toEqual([]);
    // What real Helm rendered is live: the operator's CRDs, Grafana, and Kepler as the post-renderer
    // patched it (the Redfish Secret mounted).
    expect([...node.objects.keys()].filter((k) => k.startsWith("CustomResourceDefinition/"))).toHaveLength(
      10,
    );
    expect(node.objects.get("Deployment/monitoring/kube-prometheus-stack-grafana")).toBeDefined();
    expect(
      node.objects
        .get("DaemonSet/kepler/kepler")!
        .spec.template.spec.volumes.map((v: { secret?: { secretName: string } }) => v.secret?.secretName),
    ).toContain("kepler-redfish");
    expect(node.objects.get("PersistentVolume/powerstack-prometheus")!.spec.claimRef.name).toBe(
      "prometheus-kube-prometheus-stack-prometheus-db-prometheus-kube-prometheus-stack-prometheus-0",
    );

    const before = node.sent.length;
    const rerun = await up(inventory(), node);
    expect(rerun.changed).toEqual([]);
    expect(rerun.results.every((r) => r.status === "ok")).toBe(true);
    expect(node.sent.length - before).toBe(2); // the host facts + ONE batch of every task's facts
    expect(node.releases.get("monitoring/kube-prometheus-stack")).toHaveLength(1);
    expect(node.releases.get("kepler/kepler")).toHaveLength(1);
    everySecretOnlyOnStdin(node);
  });

  test("secrets travel only on stdin, inside the Secrets' manifests", async () => {
    const node = new FakeControlNode();
    await up(inventory(), node);
    everySecretOnlyOnStdin(node);
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    // The Secrets' values, decoded from the manifests sent: a password inside a whole base64-encoded file
    // (redfish.yaml) is found too.
    const decoded = (stdin?: Buffer) =>
      parseAllDocuments((stdin ?? "").toString())
        .map((d) => d.toJS())
        .flatMap((o) => Object.values((o?.data ?? {}) as Record<string, string>))
        .map((v) => Buffer.from(v, "base64").toString())
        .join("\n");
    const carrying = (secret: string) =>
      node.sent
        .filter((s) => s.command.includes("kubectl apply") && decoded(s.stdin).includes(secret))
        .map((s) => action(s.command, s.stdin));
    expect(carrying(VAULT.grafana_admin_password!)).toEqual([
      "kubectl apply: Secret/grafana-admin Secret/alertmanager-slack",
    ]);
    expect(carrying(VAULT.slack_webhook!)).toEqual([
      "kubectl apply: Secret/grafana-admin Secret/alertmanager-slack",
    ]);
    expect(carrying(VAULT.bmc_ctl!)).toEqual(["kubectl apply: Namespace/kepler Secret/kepler-redfish"]);
    expect(carrying(VAULT.bmc_w1!)).toEqual(["kubectl apply: Namespace/kepler Secret/kepler-redfish"]);
    // Helm's values and the files written on the node carry none, in any encoding.
    for (const s of node.sent.filter((x) => !x.command.includes("kubectl apply")))
      for (const secret of SECRETS()) {
        expect(s.stdin?.toString() ?? "").not.toContain(secret);
        expect(s.stdin?.toString() ?? "").not.toContain(b64(secret));
      }
  });

  test("a changed value upgrades only its release; rotated BMC credentials restart Kepler, no Helm upgrade", async () => {
    const node = new FakeControlNode();
    await up(inventory(), node);
    const longer = await up(withRetention("90d"), node);
    expect(longer.changed).toEqual(["monitoring: kube-prometheus-stack 88.5.3"]);
    expect(node.releases.get("monitoring/kube-prometheus-stack")!.map((r) => r.revision)).toEqual([1, 2]);
    expect(node.releases.get("kepler/kepler")).toHaveLength(1);

    const rotated = await up(withRetention("90d"), node, {
      vault: { ...VAULT, bmc_w1: "bmc-w1-Rotated-pw" },
    });
    expect(rotated.changed).toEqual(["kepler: namespace kepler and Redfish credentials"]);
    expect(rotated.results.find((r) => r.status === "changed")!.changes.map((c) => c.summary)).toEqual([
      "update Secret kepler/kepler-redfish (data differs)",
      "restart daemonset kepler/kepler (it reads the updated Secret only at start)",
    ]);
    expect(node.restarts).toEqual(["kepler/daemonset/kepler"]);
    expect(node.releases.get("kepler/kepler")).toHaveLength(1);
    for (const s of node.sent) expect(s.command).not.toContain("bmc-w1-Rotated-pw");
  });

  test("legacy Kepler through the same flow: repository chart, CSV Secret, converged then idle", async () => {
    const node = new FakeControlNode();
    const first = await up(inventory({ flavour: "legacy" }), node);
    expect(first.results.filter((r) => r.status === "failed")).toEqual([]);
    expect(node.repos.map((r) => r.name)).toEqual(["prometheus-community", "kepler"]);
    expect(node.releases.get("kepler/kepler")![0]!.chart).toBe("kepler-0.5.13");
    expect((await up(inventory({ flavour: "legacy" }), node)).changed).toEqual([]);
  });
});

function withRetention(retention: string): Inventory {
  const inv = inventory();
  inv.cluster.monitoring.retention = retention;
  return inv;
}

const operatorVersion = (node: FakeControlNode): string | undefined =>
  node.objects.get("CustomResourceDefinition/prometheuses.monitoring.coreos.com")?.metadata.annotations?.[
    "operator.prometheus.io/version"
  ];

describe.skipIf(!haveCharts)("CRDs and air-gapped charts through up (boundary)", () => {
  test("a chart-version bump applies the new chart's CRDs before the upgrade; a values change does not; a rerun does nothing", async () => {
    const node = new FakeControlNode();
    node.charts.set("kube-prometheus-stack-88.6.0", await bumpedKubePrometheusStack("88.6.0", "0.99.0"));
    await up(inventory(), node);
    expect(operatorVersion(node)).toBe(PINNED_OPERATOR_VERSION);
    const acted = (from: number) =>
      node.sent
        .slice(from)
        .filter((s) => !/@@[0-9a-f]+:0:begin/.test(s.command))
        .map((s) => action(s.command, s.stdin));

    let from = node.sent.length;
    expect((await up(withRetention("90d"), node)).changed).toEqual([
      "monitoring: kube-prometheus-stack 88.5.3",
    ]);
    expect(acted(from)).toEqual([
      "helm repo update 'prometheus-community'",
      "helm upgrade --install 'kube-prometheus-stack' 'prometheus-community/kube-prometheus-stack' --version '88.5.3'",
    ]);

    const bumped = withRetention("90d");
    bumped.cluster.monitoring.chartVersion = "88.6.0";
    from = node.sent.length;
    expect((await up(bumped, node)).changed).toEqual(["monitoring: kube-prometheus-stack 88.6.0"]);
    expect(acted(from)).toEqual([
      "helm repo update 'prometheus-community'",
      "helm show crds 'prometheus-community/kube-prometheus-stack' --version '88.6.0' | kubectl apply --server-side",
      "helm upgrade --install 'kube-prometheus-stack' 'prometheus-community/kube-prometheus-stack' --version '88.6.0'",
    ]);
    expect(operatorVersion(node)).toBe("0.99.0");
    expect(node.releases.get("kepler/kepler")).toHaveLength(1);

    from = node.sent.length;
    const rerun = await up(bumped, node);
    expect(rerun.changed).toEqual([]);
    expect(node.sent.length - from).toBe(2);
    expect(node.releases.get("monitoring/kube-prometheus-stack")).toHaveLength(3);
  });

  test("air-gap: charts uploaded from the artifacts directory and installed from the node's copy; idle rerun; no upgrade when switching back online", async () => {
    const dir = mkdtempSync(join(tmpdir(), "powerstack-artifacts-"));
    copyFileSync(chartPath("kubePrometheusStack"), join(dir, "kube-prometheus-stack-88.5.3.tgz"));
    copyFileSync(chartPath("keplerCurrent"), join(dir, "kepler-0.11.4.tgz"));
    const airgap = inventory();
    airgap.cluster.k3s.install = "airgap";
    airgap.cluster.k3s.artifactsDir = dir;
    const KPS = "/var/lib/powerstack/charts/kube-prometheus-stack-88.5.3.tgz";
    const KEPLER = "/var/lib/powerstack/charts/kepler-0.11.4.tgz";
    // `powerstack render` names the archives `up` uploads and installs.
    expect(renderArtifacts(airgap).releases.map((r) => r.chart)).toEqual([
      join(dir, "kube-prometheus-stack-88.5.3.tgz"),
      join(dir, "kepler-0.11.4.tgz"),
    ]);

    const node = new FakeControlNode();
    const first = await up(airgap, node);
    expect(first.results.filter((r) => r.status === "failed")).toEqual([]);
    const helmish = node
      .actions()
      .filter((c) => c.includes("/usr/local/bin/helm") || c.includes("sha256sum -c"))
      .map((c) => (c.includes("sha256sum -c") ? `upload ${/mv -f "\$t" '([^']+)'/.exec(c)![1]}` : action(c)));
    expect(helmish).toEqual([
      `upload ${KPS}`,
      `helm show crds '${KPS}' --version '88.5.3' | kubectl apply --server-side`,
      `helm upgrade --install 'kube-prometheus-stack' '${KPS}' --version '88.5.3'`,
      `upload ${KEPLER}`,
      `helm upgrade --install 'kepler' '${KEPLER}' --version '0.11.4'`,
    ]);
    expect(node.repos).toEqual([]);
    expect(node.releases.get("kepler/kepler")![0]!.chart).toBe("kepler-0.11.4");

    const before = node.sent.length;
    expect((await up(airgap, node)).changed).toEqual([]);
    expect(node.sent.length - before).toBe(2);
    // Same chart versions and values online: the same releases, nothing to upgrade.
    expect((await up(inventory(), node)).changed).toEqual([]);
    expect(node.releases.get("monitoring/kube-prometheus-stack")).toHaveLength(1);
    expect(node.releases.get("kepler/kepler")).toHaveLength(1);
  });
});
