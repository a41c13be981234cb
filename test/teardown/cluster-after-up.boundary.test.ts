/**
 * BOUNDARY test of teardown's cluster steps (roles teardown-helm, teardown-cluster-storage) against the
 * cluster `up` really leaves, not a hand-written model of it: `up`'s roles cluster-storage, monitoring and
 * kepler run first against a FakeControlNode (test/monitoring/fake-control-node.ts), whose Helm is the REAL
 * `helm template` of the pinned charts, so the live objects are exactly what real Helm rendered plus what
 * powerstack applied. Then the real playbooks/teardown.yaml (the CLI's role selection, runPlays, Runner,
 * roles and modules) runs its two cluster roles against THE SAME node, whose `helm uninstall`, `kubectl
 * delete` and cluster reads answer from that live state (the fake's header says how, and on what evidence).
 *
 * What is modelled: Kubernetes objects (what Helm rendered, what powerstack applied, the claims the
 * Prometheus operator's StatefulSets get: `operatorClaims`), Helm release histories and repositories, and
 * the files and directories powerstack writes or makes. What is NOT: no disk and no mount (the fake knows
 * the directories `up` made under /mnt/data, not their content: "the data stays" is proven here as "no
 * command names /mnt/data, the directories are untouched, every volume is Retain until it goes", and on
 * real disks by teardown.lab.test.ts and the VM lab); no pod, StatefulSet or controller besides those
 * claims, no finalizer or wait (`--wait` returns at once), no K3s uninstall (the other teardown roles are
 * tested in teardown.boundary.test.ts).
 *
 * Grafana's admin-login task of `up` meets a Grafana stand-in on 127.0.0.1 (as in up-flow and
 * grafana-admin boundary tests): it answers while the release exists and keeps its database (the admin
 * created from the live Secret at its first answer) where Grafana keeps it, on the Retain volume whose
 * directory teardown keeps. The inventory's control external_ip and Grafana NodePort point at it; nothing
 * in this file connects anywhere else.
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ALERTMANAGER_CLAIM, GRAFANA_CLAIM, PROMETHEUS_CLAIM } from "../../roles/monitoring/release.js";
import type { Inventory } from "../../src/inventory/types.js";
import { freePort } from "../energy/prometheus-harness.js";
import { FakeControlNode } from "../monitoring/fake-control-node.js";
import { inventory, SECRETS, VAULT } from "../monitoring/fixtures.js";
import { runRoles } from "../monitoring/run-roles.js";
import { requireCharts } from "../support/real-helm.js";
import { runPlaybook } from "../support/run-playbook.js";

type Json = Record<string, any>;

const UP = ["cluster-storage", "monitoring", "kepler"];
const TEARDOWN = "teardown-helm,teardown-cluster-storage";
const RELEASES = ["kepler/kepler", "monitoring/kube-prometheus-stack"];
const HELM = "KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm";
const KUBECTL = "/usr/local/bin/k3s kubectl";
const LOGIN_TASK = "monitoring: Grafana admin login with the vault's password";
const haveCharts = requireCharts();

// --- Grafana behind its NodePort -------------------------------------------------------------------------

let grafanaNode: FakeControlNode | undefined;
/** Grafana's database (on the Retain volume): created from the Secret at its first answer, then kept. */
let grafanaAdmin: { user: string; password: string } | undefined;
let grafana: Server;
let grafanaPort = 0;
beforeAll(async () => {
  grafanaPort = await freePort({ min: 30000, max: 32767 });
  grafana = createServer((req, res) => {
    const node = grafanaNode;
    if (!node?.releases.has("monitoring/kube-prometheus-stack")) return void req.socket.destroy();
    if (!grafanaAdmin) {
      const s = node.objects.get("Secret/monitoring/grafana-admin")!;
      const d = (k: string) => Buffer.from(s.data[k], "base64").toString("utf8");
      grafanaAdmin = { user: d("admin-user"), password: d("admin-password") };
    }
    const login = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString();
    res.setHeader("content-type", "application/json");
    if (req.url !== "/api/user" || login !== `${grafanaAdmin.user}:${grafanaAdmin.password}`) {
      res.statusCode = 401;
      return void res.end('{"message":"Invalid username or password"}');
    }
    res.end(JSON.stringify({ id: 1, login: grafanaAdmin.user, isGrafanaAdmin: true, orgId: 1 }));
  });
  await new Promise<void>((r) => grafana.listen(grafanaPort, "127.0.0.1", r));
});
afterAll(async () => {
  grafana.closeAllConnections();
  await new Promise((r) => grafana.close(r));
});

// --- the node, the runs ----------------------------------------------------------------------------------

/** What K3s itself brings (its namespaces, the local-path class) and another team's volume: never ours. */
function notOurs(node: FakeControlNode): string[] {
  const put = (k: string, o: Json) =>
    node.objects.set(k, {
      ...o,
      metadata: { ...o.metadata, uid: `k3s-${k}`, creationTimestamp: "2024-12-31T00:00:00Z" },
    });
  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease", "apps"])
    put(`Namespace/${ns}`, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  put("StorageClass/local-path", {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: "local-path" },
    provisioner: "rancher.io/local-path",
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
  });
  put("PersistentVolume/pvc-123", {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "pvc-123" },
    spec: {
      hostPath: { path: "/var/lib/rancher/k3s/storage/pvc-123_apps_app-data" },
      storageClassName: "local-path",
      persistentVolumeReclaimPolicy: "Delete",
      claimRef: { namespace: "apps", name: "app-data" },
    },
    status: { phase: "Bound" },
  });
  put("PersistentVolumeClaim/apps/app-data", {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "app-data", namespace: "apps" },
    spec: { storageClassName: "local-path", volumeName: "pvc-123" },
    status: { phase: "Bound" },
  });
  return [...node.objects.keys()];
}

function newNode(): { node: FakeControlNode; theirs: string[] } {
  const node = new FakeControlNode();
  node.operatorClaims = true;
  grafanaNode = node;
  grafanaAdmin = undefined;
  return { node, theirs: notOurs(node) };
}

/** The inventory both commands get: the control node's NodePorts reached at the Grafana stand-in. */
function lab(): Inventory {
  const inv = inventory();
  inv.nodes.find((n) => n.role === "control")!.externalIp = "127.0.0.1";
  inv.cluster.nodePorts.grafana = grafanaPort;
  return inv;
}

/** Commands sent from `from` on that act (not fact batches), as a reviewer reads them. */
function acted(node: FakeControlNode, from: number): string[] {
  return node.sent
    .slice(from)
    .map((s) => s.command)
    .filter((c) => !/@@[0-9a-f]+:0:begin/.test(c))
    .map((c) => {
      const crds = /^crds=\$\(mktemp\) && \{ \S+ \S+ show crds ('[^']+' --version '[^']+')/.exec(c);
      if (crds) return `helm show crds ${crds[1]} | kubectl apply --server-side`;
      const write = /chmod '(\d+)' "\$t"[\s\S]*mv -f "\$t" '([^']+)'/.exec(c);
      if (write) return `write ${write[2]}`;
      return c
        .replace(HELM, "helm")
        .replace(KUBECTL, "kubectl")
        .replace(/ --namespace .*/, "")
        .replace(/^(kubectl apply --server-side).*/, "$1");
    });
}

async function up(node: FakeControlNode) {
  const from = node.sent.length;
  const run = await runRoles(lab(), node, UP, { vault: VAULT });
  return { ...run, acted: acted(node, from), sent: node.sent.length - from };
}

/** `powerstack teardown --yes --only teardown-helm,teardown-cluster-storage`, minus SSH and the prompt. */
async function teardown(node: FakeControlNode, opts: { check?: boolean } = {}) {
  const from = node.sent.length;
  const run = await runPlaybook("teardown", {
    inventory: lab(),
    connect: async () => node,
    check: opts.check,
    teardown: { only: TEARDOWN },
  });
  return { ...run, acted: acted(node, from) };
}

// --- what to look at -------------------------------------------------------------------------------------

/** The objects the last revision of each release made, as the real render produced them. */
const helmMade = (node: FakeControlNode) =>
  RELEASES.flatMap((r) => node.releases.get(r)!.at(-1)!.objects!).sort();
const keys = (node: FakeControlNode, prefix: string) =>
  [...node.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
const byHelm = (node: FakeControlNode) =>
  [...node.objects].filter(([, o]) => o.metadata.annotations?.["meta.helm.sh/release-name"]).map(([k]) => k);
const inNamespace = (node: FakeControlNode, ns: string) =>
  [...node.objects.values()].filter((o) => o.kind !== "Namespace" && o.metadata.namespace === ns);
const dataDirs = (node: FakeControlNode) =>
  [...node.dirs].filter(([p]) => p === "/mnt/data" || p.startsWith("/mnt/data/"));

const everySecretOffTheCommandLine = (node: FakeControlNode) => {
  for (const s of node.sent) for (const secret of SECRETS()) expect(s.command).not.toContain(secret);
};

const claimDelete = (name: string) =>
  `kubectl delete persistentvolumeclaim '${name}' -n 'monitoring' --ignore-not-found --wait=true --timeout=600s`;
const volumeDelete = (name: string) =>
  `kubectl delete persistentvolume '${name}' --ignore-not-found --wait=true --timeout=120s`;

const TEARDOWN_COMMANDS = [
  "helm uninstall 'kepler' -n 'kepler' --wait --timeout 300s",
  "helm uninstall 'kube-prometheus-stack' -n 'monitoring' --wait --timeout 300s",
  "rm -rf -- '/var/lib/powerstack/helm/kepler'",
  "rmdir -- '/var/lib/powerstack/helm'",
  // Every PV is Retain already (cluster-storage makes them so): no patch. The claims: the two the
  // operator's StatefulSets got (not Helm's: the uninstall left them) and Grafana's (powerstack's).
  // (in the API's list order: by namespace and name)
  claimDelete(ALERTMANAGER_CLAIM),
  claimDelete(GRAFANA_CLAIM),
  claimDelete(PROMETHEUS_CLAIM),
  volumeDelete("powerstack-alertmanager"),
  volumeDelete("powerstack-grafana"),
  volumeDelete("powerstack-prometheus"),
  "kubectl delete storageclass 'powerstack-nfs' --ignore-not-found",
  "kubectl delete 'namespace' 'kepler' --ignore-not-found --wait=true --timeout=300s",
  "kubectl delete 'namespace' 'monitoring' --ignore-not-found --wait=true --timeout=300s",
];

describe.skipIf(!haveCharts)("teardown of the cluster up really left (boundary: real Helm render)", () => {
  test("removes both releases and all their render made, our volumes and namespaces; keeps CRDs, data directories and what is not ours; a second teardown changes nothing", async () => {
    const { node, theirs } = newNode();
    const first = await up(node);
    expect(first.results.filter((r) => r.status === "failed")).toEqual([]);

    const made = helmMade(node);
    const crds = keys(node, "CustomResourceDefinition/");
    const crdsBefore = crds.map((k) => structuredClone(node.objects.get(k)));
    const dirsBefore = structuredClone(dataDirs(node));
    const theirsBefore = theirs.map((k) => structuredClone(node.objects.get(k)));
    // What the real render made reaches beyond the two namespaces: cluster-scoped objects and a Service
    // in kube-system, which only `helm uninstall` removes (deleting the namespaces would not).
    expect(made).toContain("Service/kube-system/kube-prometheus-stack-coredns");
    expect(made).toContain("ValidatingWebhookConfiguration/kube-prometheus-stack-admission");
    expect(made).toContain("ClusterRole/kepler");
    expect(made.filter((k) => k.startsWith("CustomResourceDefinition/"))).toEqual([]);
    expect(crds).toHaveLength(10);
    // The operator's claims are live, bound to powerstack's volumes, and not Helm's.
    for (const [claim, pv] of [
      [PROMETHEUS_CLAIM, "powerstack-prometheus"],
      [ALERTMANAGER_CLAIM, "powerstack-alertmanager"],
    ] as const) {
      expect(node.objects.get(`PersistentVolumeClaim/monitoring/${claim}`)?.spec.volumeName).toBe(pv);
      expect(made).not.toContain(`PersistentVolumeClaim/monitoring/${claim}`);
    }
    expect(dirsBefore.map(([p]) => p)).toEqual(
      expect.arrayContaining([
        "/mnt/data/prometheus/prometheus-db",
        "/mnt/data/alertmanager/alertmanager-db",
      ]),
    );

    const from = node.sent.length;
    const down = await teardown(node);
    expect(down.plays.map((p) => [p.name, p.roles])).toEqual([
      ["Helm releases", ["teardown-helm"]],
      ["Cluster volumes and namespaces", ["teardown-cluster-storage"]],
    ]);
    expect(down.results.filter((r) => r.status === "failed")).toEqual([]);
    expect(down.changed).toEqual([
      "teardown-helm: Helm release kepler (namespace kepler)",
      "teardown-helm: Helm release kube-prometheus-stack (namespace monitoring)",
      "teardown-helm: /var/lib/powerstack/helm/kepler",
      "teardown-helm: /var/lib/powerstack/helm",
      "teardown-cluster-storage: volumes on /mnt/data",
      "teardown-cluster-storage: namespace kepler",
      "teardown-cluster-storage: namespace monitoring",
    ]);
    expect(down.acted).toEqual(TEARDOWN_COMMANDS);

    // Both releases gone, history included, and every object their real render made.
    expect([...node.releases.keys()]).toEqual([]);
    expect(made.filter((k) => node.objects.has(k))).toEqual([]);
    expect(byHelm(node)).toEqual([]);
    // Our StorageClass, volumes, claims, namespaces and everything in them (the Secrets and dashboards
    // powerstack applied) gone.
    expect(keys(node, "StorageClass/powerstack-")).toEqual([]);
    expect(keys(node, "PersistentVolume/powerstack-")).toEqual([]);
    expect(keys(node, "PersistentVolumeClaim/monitoring/")).toEqual([]);
    for (const ns of ["monitoring", "kepler"]) {
      expect(node.objects.has(`Namespace/${ns}`)).toBe(false);
      expect(inNamespace(node, ns)).toEqual([]);
    }
    // Left: exactly the CRDs (Helm never deletes them), unchanged, and what was not ours, unchanged.
    expect([...node.objects.keys()].sort()).toEqual([...crds, ...theirs].sort());
    expect(crds.map((k) => node.objects.get(k))).toEqual(crdsBefore);
    expect(theirs.map((k) => node.objects.get(k))).toEqual(theirsBefore);
    // The data: no command teardown sent, probe or action, names the data path; the directories up
    // made there stay as they were.
    expect(node.sent.slice(from).filter((s) => s.command.includes("/mnt/data"))).toEqual([]);
    expect(dataDirs(node)).toEqual(dirsBefore);
    // Powerstack's Helm files gone; its parent directory (the air-gap charts, the K3s install script)
    // is teardown-storage's business, later.
    expect([...node.files.keys()].filter((p) => p.startsWith("/var/lib/powerstack/helm"))).toEqual([]);
    expect(node.dirs.has("/var/lib/powerstack/helm")).toBe(false);
    expect(node.dirs.has("/var/lib/powerstack")).toBe(true);

    const again = await teardown(node);
    expect(again.results.filter((r) => r.status === "failed")).toEqual([]);
    expect(again.changed).toEqual([]);
    expect(again.results.every((r) => r.status === "ok")).toBe(true);
    expect(again.acted).toEqual([]);
    expect([...node.objects.keys()].sort()).toEqual([...crds, ...theirs].sort());
    everySecretOffTheCommandLine(node);
  });

  test("--check after up lists every removal and sends nothing that acts", async () => {
    const { node } = newNode();
    await up(node);
    const objects = structuredClone([...node.objects]);
    const check = await teardown(node, { check: true });
    expect(check.results.filter((r) => r.status === "failed")).toEqual([]);
    expect(check.acted).toEqual([]);
    expect([...node.objects]).toEqual(objects);
    expect(
      check.results
        .find((r) => r.task === "teardown-cluster-storage: volumes on /mnt/data")!
        .changes.map((c) => c.summary),
    ).toEqual([
      `delete PersistentVolumeClaim monitoring/${ALERTMANAGER_CLAIM}`,
      `delete PersistentVolumeClaim monitoring/${GRAFANA_CLAIM}`,
      `delete PersistentVolumeClaim monitoring/${PROMETHEUS_CLAIM}`,
      "delete PersistentVolume powerstack-alertmanager",
      "delete PersistentVolume powerstack-grafana",
      "delete PersistentVolume powerstack-prometheus",
      "delete StorageClass powerstack-nfs",
    ]);
    // The helm files' directory is not empty yet in --check (its removal was only planned): kept.
    expect(check.changed).toEqual([
      "teardown-helm: Helm release kepler (namespace kepler)",
      "teardown-helm: Helm release kube-prometheus-stack (namespace monitoring)",
      "teardown-helm: /var/lib/powerstack/helm/kepler",
      "teardown-cluster-storage: volumes on /mnt/data",
      "teardown-cluster-storage: namespace kepler",
      "teardown-cluster-storage: namespace monitoring",
    ]);
  });

  test("up after teardown converges: the releases come back, the kept CRDs are applied over before the install, Grafana's kept database still takes the vault's password; a rerun changes nothing", async () => {
    const { node } = newNode();
    const first = await up(node);
    const madeFirst = helmMade(node);
    await teardown(node);
    const crds = keys(node, "CustomResourceDefinition/");
    const uids = crds.map((k) => node.objects.get(k)!.metadata.uid);
    expect(crds).toHaveLength(10);

    const back = await up(node);
    expect(back.results.filter((r) => r.status === "failed")).toEqual([]);
    // The operator's subPath directories are still on the data path: not made again.
    expect(back.changed).toEqual(first.changed.filter((t) => !t.startsWith("cluster-storage: /mnt/data/")));
    expect(back.acted).toEqual([
      "kubectl apply --server-side",
      "kubectl apply --server-side",
      // Helm's repository configuration on the node is not a teardown target: no `repo add`.
      "helm repo update 'prometheus-community'",
      // No release (uninstall dropped its history): an install, so the CRDs go first (helm-release.ts),
      // applied server-side over the ones teardown kept; Helm's install then skips them as existing.
      "helm show crds 'prometheus-community/kube-prometheus-stack' --version '88.5.3' | kubectl apply --server-side",
      "helm upgrade --install 'kube-prometheus-stack' 'prometheus-community/kube-prometheus-stack' --version '88.5.3'",
      "kubectl apply --server-side",
      "kubectl apply --server-side",
      "mkdir -p -- '/var/lib/powerstack/helm/kepler' && chmod '0755' -- '/var/lib/powerstack/helm/kepler' && chown 'root:root' -- '/var/lib/powerstack/helm/kepler'",
      "write /var/lib/powerstack/helm/kepler/post-render.sh",
      "write /var/lib/powerstack/helm/kepler/patch.yaml",
      "helm upgrade --install 'kepler' 'oci://quay.io/sustainable_computing_io/charts/kepler' --version '0.11.4'",
    ]);
    // The same CRD objects, not new ones; revision 1 of fresh releases; the same objects rendered.
    expect(keys(node, "CustomResourceDefinition/")).toEqual(crds);
    expect(crds.map((k) => node.objects.get(k)!.metadata.uid)).toEqual(uids);
    for (const r of RELEASES) expect(node.releases.get(r)!.map((h) => h.revision)).toEqual([1]);
    expect(helmMade(node)).toEqual(madeFirst);
    expect(node.objects.get(`PersistentVolumeClaim/monitoring/${PROMETHEUS_CLAIM}`)!.spec.volumeName).toBe(
      "powerstack-prometheus",
    );
    expect(back.results.find((r) => r.task === LOGIN_TASK)).toMatchObject({ status: "ok", changes: [] });
    expect(node.sent.filter((s) => s.command.includes("kubectl exec"))).toEqual([]);

    const rerun = await up(node);
    expect(rerun.changed).toEqual([]);
    expect(rerun.results.every((r) => r.status === "ok")).toBe(true);
    expect(rerun.sent).toBe(2); // the host facts + ONE batch of every task's facts
    for (const r of RELEASES) expect(node.releases.get(r)).toHaveLength(1);
    everySecretOffTheCommandLine(node);
  });
});
