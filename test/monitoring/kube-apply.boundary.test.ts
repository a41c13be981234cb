/**
 * BOUNDARY tests of kube-apply (no Kubernetes API runs here): the read it sends, how it reads kubectl's
 * answers, its decisions (absent -> create, same -> nothing, drift -> apply, a Released volume freed, a
 * restart only after a Secret UPDATE), and what it sends: one server-side apply, manifests on stdin only.
 */
import { createHash } from "node:crypto";
import { parseAllDocuments } from "yaml";
import { describe, expect, test } from "vitest";
import { FactCache } from "../../src/engine/fact-cache.js";
import type { Facts } from "../../src/engine/facts.js";
import {
  APPLY_COMMAND,
  differences,
  kubeApply,
  liveObjects,
  namespaceObject,
  parseManifests,
  parseProbe,
  probeCommand,
  quantityValue,
  secretDigest,
  secretObject,
  type KubeAction,
  type KubeApplyParams,
  type KubeApplySeen,
  type KubeObject,
} from "../../src/modules/kube-apply.js";
import { FakeControlNode } from "./fake-control-node.js";

const facts = {} as Facts;
const PASSWORD = "s3cret-Graf-pw";

const cm: KubeObject = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "dash", namespace: "monitoring", labels: { grafana_dashboard: "1" } },
  data: { "a.json": '{"x":1}' },
};
const pv: KubeObject = {
  apiVersion: "v1",
  kind: "PersistentVolume",
  metadata: { name: "powerstack-grafana", labels: { "powerstack.io/volume": "grafana" } },
  spec: {
    capacity: { storage: "1024Mi" },
    accessModes: ["ReadWriteOnce"],
    persistentVolumeReclaimPolicy: "Retain",
    nfs: { server: "198.51.100.10", path: "/mnt/data/grafana" },
    claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: "monitoring", name: "g" },
  },
};
const sc: KubeObject = {
  apiVersion: "storage.k8s.io/v1",
  kind: "StorageClass",
  metadata: { name: "powerstack-nfs" },
  provisioner: "kubernetes.io/no-provisioner",
};
const secret = secretObject("monitoring", "grafana-admin", {
  "admin-user": "admin",
  "admin-password": PASSWORD,
});
const params: KubeApplyParams = { objects: [namespaceObject("monitoring"), sc, pv, cm, secret] };

/** The live objects as the runner reads them: the module's fact, in one batch, through a fact cache. */
async function read(node: FakeControlNode, p: KubeApplyParams): Promise<KubeApplySeen> {
  const cache = new FactCache(node);
  const ref = liveObjects.of(p.objects);
  await cache.read([ref]);
  return cache.get(ref);
}

const plan = (live: KubeApplySeen, p: KubeApplyParams) => kubeApply.plan({ live }, p);
const summaries = (actions: KubeAction[], p: KubeApplyParams) => actions.map((a) => kubeApply.describe(a, p));
const apply = (node: FakeControlNode, actions: KubeAction[], p: KubeApplyParams) =>
  kubeApply.apply({ host: node, facts, cache: new FactCache(node) }, actions, p);

async function converge(node: FakeControlNode, p: KubeApplyParams) {
  const actions = plan(await read(node, p), p);
  if (actions.length) await apply(node, actions, p);
  return summaries(actions, p);
}

describe("kube-apply reads (boundary)", () => {
  test("one kubectl get per namespace for plain objects, one hashed read per Secret; no secret in it", () => {
    const cmd = probeCommand(params); // the command of the `kube-objects` fact
    expect(cmd).toContain(
      "/usr/local/bin/k3s kubectl get 'namespace/monitoring' 'storageclass.v1.storage.k8s.io/powerstack-nfs' 'persistentvolume/powerstack-grafana' --ignore-not-found -o json",
    );
    expect(cmd).toContain(
      "/usr/local/bin/k3s kubectl get 'configmap/dash' -n 'monitoring' --ignore-not-found -o json",
    );
    expect(cmd).toContain(
      `/usr/local/bin/k3s kubectl get secret 'grafana-admin' -n 'monitoring' --ignore-not-found -o go-template='{{.type}}{{"\\n"}}{{range $k, $v := .data}}{{$k}}={{$v}}{{"\\n"}}{{end}}' 2>/dev/null); rc=$?`,
    );
    expect(cmd).toContain(`printf '%s' "$out" | sha256sum`);
    expect(cmd).not.toContain(PASSWORD);
    expect(cmd).not.toContain(Buffer.from(PASSWORD).toString("base64"));
  });

  test("the digest the node computes from kubectl's go-template output equals the one of the manifest", () => {
    // kubectl prints `type\n` then `key=base64\n` in sorted key order; $(...) drops the trailing newline.
    const data = secret.data as Record<string, string>;
    const printed = `Opaque\nadmin-password=${data["admin-password"]}\nadmin-user=${data["admin-user"]}\n`;
    expect(secretDigest(secret)).toBe(createHash("sha256").update(printed.replace(/\n+$/, "")).digest("hex"));
    // stringData is what the API stores base64-encoded in data.
    const viaString = {
      ...secret,
      data: undefined,
      stringData: { "admin-user": "admin", "admin-password": PASSWORD },
    };
    expect(secretDigest(viaString)).toBe(secretDigest(secret));
  });

  test("no K3s yet: everything would be created, said so; applying then refuses, sending nothing", async () => {
    const seen = parseProbe("@@kube-apply k3s-absent\n", params);
    expect(seen.clusterAbsent).toBe(true);
    expect(summaries(plan(seen, params), params)).toEqual([
      "create Namespace monitoring (once K3s is installed)",
      "create StorageClass powerstack-nfs (once K3s is installed)",
      "create PersistentVolume powerstack-grafana (once K3s is installed)",
      "create ConfigMap monitoring/dash (once K3s is installed)",
      "create Secret monitoring/grafana-admin (once K3s is installed)",
    ]);
    const node = new FakeControlNode();
    await expect(apply(node, plan(seen, params), params)).rejects.toMatchObject({
      message: "K3s is not installed on ctl: there is no cluster to apply Kubernetes objects to",
      fix: expect.stringMatching(/--only k3s-server,k3s-ready/),
    });
    expect(node.sent).toEqual([]);
  });

  test("a failed read refuses with what kubectl said and the fix", () => {
    const failed = parseProbe(
      "@@kube-apply get 0\nThe connection to the server 127.0.0.1:6443 was refused\n@@kube-apply rc 1\n",
      { objects: [sc] },
    );
    expect(() => plan(failed, { objects: [sc] })).toThrow(
      /StorageClass\/powerstack-nfs: kubectl exit 1: The connection to the server 127.0.0.1:6443 was refused/,
    );
    expect(() => plan(failed, { objects: [sc] })).toThrow(
      expect.objectContaining({ fix: expect.stringMatching(/systemctl status k3s/) }),
    );
  });

  test("a single object comes back bare, several as a List; unknown items are ignored", () => {
    const bare = parseProbe(
      `@@kube-apply get 0\n${JSON.stringify({ ...sc, metadata: { name: "powerstack-nfs", uid: "u" } })}\n@@kube-apply rc 0\n`,
      { objects: [sc] },
    );
    expect(bare.live.get("StorageClass/powerstack-nfs")?.state).toBe("present");
    const list = parseProbe(
      `@@kube-apply get 0\n${JSON.stringify({ kind: "List", items: [{ ...cm }, { kind: "ConfigMap", metadata: { name: "other", namespace: "monitoring" } }] })}\n@@kube-apply rc 0\n`,
      { objects: [cm, { ...cm, metadata: { ...cm.metadata, name: "missing" } }] },
    );
    expect(list.live.get("ConfigMap/monitoring/dash")?.state).toBe("present");
    expect(list.live.get("ConfigMap/monitoring/missing")?.state).toBe("absent");
    expect(list.live.has("ConfigMap/monitoring/other")).toBe(false);
  });
});

describe("kube-apply decisions and commands (boundary)", () => {
  test("absent -> one server-side apply with every manifest on stdin; same objects -> no-op", async () => {
    const node = new FakeControlNode();
    expect(await converge(node, params)).toEqual([
      "create Namespace monitoring",
      "create StorageClass powerstack-nfs",
      "create PersistentVolume powerstack-grafana",
      "create ConfigMap monitoring/dash",
      "create Secret monitoring/grafana-admin",
    ]);
    const applies = node.sent.filter((s) => s.command === APPLY_COMMAND);
    expect(applies).toHaveLength(1);
    expect(APPLY_COMMAND).toBe(
      "/usr/local/bin/k3s kubectl apply --server-side --field-manager=powerstack --force-conflicts -f -",
    );
    const sentObjects = parseAllDocuments(applies[0]!.stdin!.toString()).map((d) => d.toJS());
    expect(sentObjects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "Namespace/monitoring",
      "StorageClass/powerstack-nfs",
      "PersistentVolume/powerstack-grafana",
      "ConfigMap/dash",
      "Secret/grafana-admin",
    ]);
    expect(sentObjects[4].data["admin-password"]).toBe(Buffer.from(PASSWORD).toString("base64"));
    for (const s of node.sent) expect(s.command).not.toContain(PASSWORD);

    // The live objects now carry server-side additions (uid, claimRef.uid, status, default labels): ignored.
    const before = node.sent.length;
    expect(await converge(node, params)).toEqual([]);
    expect(node.sent.length - before).toBe(1); // the fact batch, nothing else
  });

  test("drift in a field we manage -> apply just that object, with a before/after diff", async () => {
    const node = new FakeControlNode();
    await converge(node, params);
    node.objects.get("ConfigMap/monitoring/dash")!.data["a.json"] = '{"x":2}'; // edited by hand
    node.objects.get("PersistentVolume/powerstack-grafana")!.metadata.labels.extra = "someone's"; // not ours: ignored
    const changes = plan(await read(node, params), params);
    expect(summaries(changes, params)).toEqual(["update ConfigMap monitoring/dash (data.a.json differs)"]);
    expect(changes[0]).toMatchObject({
      diff: { before: expect.stringContaining('{"x":2}'), after: expect.stringContaining('{"x":1}') },
    });
    await apply(node, changes, params);
    const last = node.sent.at(-1)!;
    expect(last.command).toBe(APPLY_COMMAND);
    expect(parseAllDocuments(last.stdin!.toString()).map((d) => d.toJS().kind)).toEqual(["ConfigMap"]);
    expect(await converge(node, params)).toEqual([]);
  });

  test("a Secret changed in the vault -> update, no diff shown, restart of the workload that reads it", async () => {
    const node = new FakeControlNode();
    const w = { kind: "daemonset" as const, namespace: "kepler", name: "kepler" };
    const p1 = {
      objects: [secretObject("kepler", "kepler-redfish", { "redfish.yaml": "password: one\n" })],
      restartOnSecretUpdate: w,
    };
    expect(await converge(node, p1)).toEqual(["create Secret kepler/kepler-redfish"]);
    expect(node.restarts).toEqual([]); // a first creation restarts nothing
    expect(await converge(node, p1)).toEqual([]);
    const p2 = {
      ...p1,
      objects: [secretObject("kepler", "kepler-redfish", { "redfish.yaml": "password: two\n" })],
    };
    const changes = plan(await read(node, p2), p2);
    expect(summaries(changes, p2)).toEqual([
      "update Secret kepler/kepler-redfish (data differs)",
      "restart daemonset kepler/kepler (it reads the updated Secret only at start)",
    ]);
    expect(changes.every((c) => !("diff" in c) || c.diff === undefined)).toBe(true);
    await apply(node, changes, p2);
    expect(node.sent.at(-1)!.command).toBe(
      "if /usr/local/bin/k3s kubectl get 'daemonset/kepler' -n 'kepler' -o name >/dev/null 2>&1; then /usr/local/bin/k3s kubectl rollout restart 'daemonset/kepler' -n 'kepler'; fi",
    );
    expect(node.restarts).toEqual(["kepler/daemonset/kepler"]);
    for (const s of node.sent) expect(s.command).not.toMatch(/password: (one|two)/);
  });

  test("a Released volume (its claim deleted, data kept) is freed for the new claim of the same name", async () => {
    const node = new FakeControlNode();
    await converge(node, { objects: [pv] });
    const live = node.objects.get("PersistentVolume/powerstack-grafana")!;
    live.status = { phase: "Released" };
    expect(await converge(node, { objects: [pv] })).toEqual([
      "free PersistentVolume powerstack-grafana for a new claim of the same name (Released; its data is kept)",
    ]);
    expect(node.actions().at(-1)).toBe(
      `/usr/local/bin/k3s kubectl patch persistentvolume 'powerstack-grafana' --type=merge -p '{"spec":{"claimRef":{"uid":null,"resourceVersion":null}}}'`,
    );
    expect(live.spec.claimRef).toEqual({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      namespace: "monitoring",
      name: "g",
    });
    // A Bound volume (claimRef.uid set by the controller) is left alone.
    live.status = { phase: "Bound" };
    live.spec.claimRef.uid = "new-claim";
    expect(await converge(node, { objects: [pv] })).toEqual([]);
  });
});

describe("field comparison (pure)", () => {
  test("only our fields count; arrays by position; quantities by value", () => {
    expect(
      differences({ a: 1, b: { c: [1, { d: 2 }] } }, { a: 1, z: 9, b: { c: [1, { d: 2, e: 3 }] } }),
    ).toEqual([]);
    expect(differences({ b: { c: [1, 2] } }, { b: { c: [1] } })).toEqual(["b.c"]);
    expect(
      differences({ spec: { capacity: { storage: "1Gi" } } }, { spec: { capacity: { storage: "1024Mi" } } }),
    ).toEqual([]);
    expect(
      differences({ spec: { capacity: { storage: "2Gi" } } }, { spec: { capacity: { storage: "1024Mi" } } }),
    ).toEqual(["spec.capacity.storage"]);
    expect(differences({ data: { x: "1Gi" } }, { data: { x: "1024Mi" } })).toEqual(["data.x"]); // not a quantity key
    expect(quantityValue("50Gi")).toBe(50 * 2 ** 30);
    expect(quantityValue("1.5G")).toBe(1.5e9);
    expect(quantityValue("lots")).toBeUndefined();
  });

  test("manifests: each document needs apiVersion, kind and a name; errors name the template", () => {
    expect(() => parseManifests("a: 1\n", "x.yaml.hbs")).toThrow(
      /x.yaml.hbs: document 1 lacks apiVersion, kind or metadata.name/,
    );
    expect(
      parseManifests("# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n", "y"),
    ).toHaveLength(1);
  });
});
