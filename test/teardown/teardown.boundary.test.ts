/**
 * BOUNDARY tests of the whole teardown playbook (K3s, Helm and Kubernetes cannot run here): the real
 * runner, playbook, roles and modules against fake nodes that record every command and answer from a model
 * of a node as `up` left it (support/fake-node.ts). Checked: the exact commands per node, their order
 * across nodes (cluster objects before K3s, agents before the server, NFS clients unmounted before the
 * export goes and the export before the data unmount), what stays, a second run doing nothing, --check
 * sending nothing but probes, and the cluster steps skipped without K3s. The host layer (mounts, fstab,
 * drop-in, the data disk) is proven on real nodes in teardown.lab.test.ts.
 */
import { describe, expect, test } from "vitest";
import { GRAFANA_CLAIM, PROMETHEUS_CLAIM } from "../../roles/monitoring/release.js";
import type { FactRef } from "../../src/engine/fact.js";
import { FactCache } from "../../src/engine/fact-cache.js";
import { hostFacts } from "../../src/engine/facts.js";
import { file } from "../../src/facts/file.js";
import { k3sVersion } from "../../src/facts/k3s.js";
import { dirState, fsUuid, mountAt } from "../../src/facts/system.js";
import { k3sInstalled } from "../../src/modules/cluster-read.js";
import { helmVersion } from "../../src/modules/helm-binary.js";
import { FakeNode, type NodeModel } from "./support/fake-node.js";
import {
  DATA_FSTAB,
  DROP_IN,
  hostLayerOnly,
  INSTALL_SCRIPT,
  OTHER_EXPORT,
  OUR_EXPORT,
  provisioned,
  ROOT_FSTAB,
} from "./support/provisioned.js";
import { runTeardown, type TeardownRun } from "./support/run-teardown.js";

const HELM = "KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm";
const KUBECTL = "/usr/local/bin/k3s kubectl";
const RETAIN = `'{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}'`;

const on = (run: TeardownRun, host: string) =>
  run
    .changes()
    .filter((c) => c.startsWith(`${host}: `))
    .map((c) => c.slice(host.length + 2));
const index = (run: TeardownRun, entry: string) => {
  const i = run.changes().indexOf(entry);
  if (i < 0) throw new Error(`not sent: ${entry}\nsent:\n${run.changes().join("\n")}`);
  return i;
};
const statuses = (run: TeardownRun, host: string, role: string) =>
  run.results.filter((r) => r.host === host && r.task.startsWith(`${role}: `)).map((r) => r.status);

describe("teardown of a provisioned cluster (boundary)", () => {
  test("exact commands per node, in the playbook's order", async () => {
    const run = await runTeardown(provisioned());
    expect(run.results.filter((r) => r.status === "failed")).toEqual([]);
    expect(on(run, "ctl")).toEqual([
      `${HELM} uninstall 'kepler' -n 'kepler' --wait --timeout 300s`,
      `${HELM} uninstall 'kube-prometheus-stack' -n 'monitoring' --wait --timeout 300s`,
      "rm -rf -- '/var/lib/powerstack/helm/kepler'",
      "rmdir -- '/var/lib/powerstack/helm'",
      `${KUBECTL} patch persistentvolume 'powerstack-grafana' --type merge -p ${RETAIN}`,
      `${KUBECTL} delete persistentvolumeclaim '${PROMETHEUS_CLAIM}' -n 'monitoring' --ignore-not-found --wait=true --timeout=600s`,
      `${KUBECTL} delete persistentvolumeclaim '${GRAFANA_CLAIM}' -n 'monitoring' --ignore-not-found --wait=true --timeout=600s`,
      `${KUBECTL} delete persistentvolume 'powerstack-prometheus' --ignore-not-found --wait=true --timeout=120s`,
      `${KUBECTL} delete persistentvolume 'powerstack-grafana' --ignore-not-found --wait=true --timeout=120s`,
      `${KUBECTL} delete persistentvolume 'powerstack-alertmanager' --ignore-not-found --wait=true --timeout=120s`,
      `${KUBECTL} delete storageclass 'powerstack-nfs' --ignore-not-found`,
      `${KUBECTL} delete 'namespace' 'kepler' --ignore-not-found --wait=true --timeout=300s`,
      `${KUBECTL} delete 'namespace' 'monitoring' --ignore-not-found --wait=true --timeout=300s`,
      "/usr/local/bin/k3s-uninstall.sh",
      `rm -rf -- '${INSTALL_SCRIPT}'`,
      "rmdir -- '/var/lib/powerstack'",
      "write /etc/exports",
      "exportfs -ra",
      "umount '/mnt/data'",
      "write /etc/fstab",
      "systemctl daemon-reload",
      "rmdir -- '/mnt/data'",
      `rm -rf -- '${DROP_IN}'`,
    ]);
    for (const w of ["w1", "w2"])
      expect(on(run, w)).toEqual([
        "/usr/local/bin/k3s-agent-uninstall.sh",
        `rm -rf -- '${INSTALL_SCRIPT}'`,
        "rmdir -- '/var/lib/powerstack'",
        "umount '/mnt/data'",
        "write /etc/fstab",
        "systemctl daemon-reload",
        "rmdir -- '/mnt/data'",
        `rm -rf -- '${DROP_IN}'`,
      ]);
  });

  test("order across nodes: cluster objects, agents, server, NFS clients, export, data mount", async () => {
    const run = await runTeardown(provisioned());
    const lastKubectl = index(
      run,
      `ctl: ${KUBECTL} delete 'namespace' 'monitoring' --ignore-not-found --wait=true --timeout=300s`,
    );
    const agents = ["w1", "w2"].map((w) => index(run, `${w}: /usr/local/bin/k3s-agent-uninstall.sh`));
    const server = index(run, "ctl: /usr/local/bin/k3s-uninstall.sh");
    const clientUnmounts = ["w1", "w2"].map((w) => index(run, `${w}: umount '/mnt/data'`));
    const exportsWrite = index(run, "ctl: write /etc/exports");
    const reload = index(run, "ctl: exportfs -ra");
    const dataUnmount = index(run, "ctl: umount '/mnt/data'");
    expect(
      index(run, `ctl: ${HELM} uninstall 'kube-prometheus-stack' -n 'monitoring' --wait --timeout 300s`),
    ).toBeLessThan(lastKubectl);
    for (const a of agents) {
      expect(lastKubectl).toBeLessThan(a);
      expect(a).toBeLessThan(server);
    }
    for (const u of clientUnmounts) {
      expect(server).toBeLessThan(u);
      expect(u).toBeLessThan(exportsWrite);
    }
    expect(exportsWrite).toBeLessThan(reload);
    expect(reload).toBeLessThan(dataUnmount);
  });

  test("what is not ours stays: other export, fstab lines, volume, claim, StorageClass; the data disk is not wiped", async () => {
    const nodes = provisioned();
    const run = await runTeardown(nodes);
    expect(nodes.ctl.files.get("/etc/exports")).toBe(`${OTHER_EXPORT}\n`);
    for (const m of Object.values(nodes)) {
      expect(m.files.get("/etc/fstab")).toBe(`${ROOT_FSTAB}\n`);
      expect(m.files.has(DROP_IN)).toBe(false);
      expect(m.mounts.size).toBe(0);
    }
    expect(run.changes().filter((c) => /wipefs|mkfs|dd /.test(c))).toEqual([]);
    // The K3s uninstall wipes the fake's cluster state; check the selection before it, on a fresh model.
    const fresh = provisioned();
    fresh.ctl.files.delete("/usr/local/bin/k3s-uninstall.sh");
    await runTeardown(fresh, { flags: { only: "teardown-helm,teardown-cluster-storage" } });
    expect(fresh.ctl.objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "StorageClass/local-path",
      "PersistentVolume/pvc-123",
      "PersistentVolumeClaim/app-data",
    ]);
    expect([...fresh.ctl.namespaces]).toEqual(["default", "kube-system", "apps"]);
    expect([...fresh.ctl.releases]).toEqual([]);
  });

  test("a second teardown has nothing to do: 0 changed, cluster tasks skipped, nothing but probes sent", async () => {
    const nodes = provisioned();
    await runTeardown(nodes);
    const again = await runTeardown(nodes);
    expect(again.changes()).toEqual([]);
    for (const h of ["ctl", "w1", "w2"]) expect(again.recap.get(h)).toMatchObject({ changed: 0, failed: 0 });
    expect(statuses(again, "ctl", "teardown-helm")).toEqual(["skipped", "skipped", "ok", "ok"]);
    expect(statuses(again, "ctl", "teardown-cluster-storage")).toEqual(["skipped", "skipped", "skipped"]);
  });

  test("--check plans every removal and sends nothing but probes", async () => {
    const nodes = provisioned();
    const run = await runTeardown(nodes, { check: true });
    expect(run.changes()).toEqual([]);
    expect(nodes).toEqual(provisioned());
    const planned = run.results.filter((r) => r.status === "changed").map((r) => `${r.host}: ${r.task}`);
    expect(planned).toEqual(
      expect.arrayContaining([
        "ctl: teardown-helm: Helm release kepler (namespace kepler)",
        "ctl: teardown-cluster-storage: volumes on /mnt/data",
        "ctl: teardown-cluster-storage: namespace monitoring",
        "w1: teardown-k3s-agent: K3s agent",
        "ctl: teardown-k3s-server: K3s server",
        "w2: teardown-nfs-client: mount 198.51.100.10:/mnt/data",
        "ctl: teardown-nfs-server: export /mnt/data",
        "ctl: teardown-storage: mount /mnt/data",
        "w1: teardown-kernel: sysctl drop-in /etc/sysctl.d/90-powerstack.conf",
      ]),
    );
    expect(
      run.results
        .find((r) => r.task === "teardown-cluster-storage: volumes on /mnt/data")!
        .changes.map((c) => c.summary),
    ).toEqual([
      "reclaim policy Retain on PersistentVolume powerstack-grafana (its data stays on the disk)",
      `delete PersistentVolumeClaim monitoring/${PROMETHEUS_CLAIM}`,
      `delete PersistentVolumeClaim monitoring/${GRAFANA_CLAIM}`,
      "delete PersistentVolume powerstack-prometheus",
      "delete PersistentVolume powerstack-grafana",
      "delete PersistentVolume powerstack-alertmanager",
      "delete StorageClass powerstack-nfs",
    ]);
  });
});

describe("teardown where the cluster is absent or broken (boundary)", () => {
  test("without K3s (host layer only): Helm and kubectl tasks skipped and never sent, no uninstall script run", async () => {
    const nodes = hostLayerOnly();
    const run = await runTeardown(nodes);
    expect(run.results.filter((r) => r.status === "failed")).toEqual([]);
    expect(statuses(run, "ctl", "teardown-helm")).toEqual(["skipped", "skipped", "ok", "ok"]);
    expect(statuses(run, "ctl", "teardown-cluster-storage")).toEqual(["skipped", "skipped", "skipped"]);
    expect(
      run.results.filter((r) => r.status === "skipped").map((r) => r.task.replace(/^teardown-[a-z-]+: /, "")),
    ).toEqual([
      "Helm release kepler (namespace kepler) (skipped: K3s is not installed)",
      "Helm release kube-prometheus-stack (namespace monitoring) (skipped: K3s is not installed)",
      "volumes on /mnt/data (skipped: K3s is not installed)",
      "namespace kepler (skipped: K3s is not installed)",
      "namespace monitoring (skipped: K3s is not installed)",
    ]);
    expect(statuses(run, "ctl", "teardown-k3s-server")).toEqual(["ok", "ok", "ok"]);
    expect(statuses(run, "w1", "teardown-k3s-agent")).toEqual(["ok", "ok", "ok"]);
    expect(run.sent.filter((s) => /helm|kubectl|uninstall/.test(s.command))).toEqual([]);
    expect(on(run, "ctl")).toEqual([
      "umount '/mnt/data'",
      "write /etc/fstab",
      "systemctl daemon-reload",
      "rmdir -- '/mnt/data'",
      `rm -rf -- '${DROP_IN}'`,
    ]);
    expect(on(run, "w1")).toEqual([`rm -rf -- '${DROP_IN}'`]);
  });

  test("K3s installed but its API down: the cluster step fails with the fix; the control node keeps its export and data", async () => {
    const nodes = provisioned();
    nodes.ctl.apiDown = true;
    const run = await runTeardown(nodes);
    const failed = run.results.filter((r) => r.status === "failed");
    expect(failed.map((r) => `${r.host}: ${r.task}`)).toEqual([
      "ctl: teardown-helm: Helm release kepler (namespace kepler)",
    ]);
    expect(failed[0]!.msg).toMatch(
      /K3s is installed but listing Helm releases in namespace kepler failed \(exit 1\):\n.*connection to the server 127\.0\.0\.1:6443 was refused[\s\S]*fix: start K3s \(`systemctl start k3s` on the control node\) and rerun; .*--skip teardown-helm,teardown-cluster-storage/,
    );
    // Later plays skip the failed node, as Ansible does; the workers go on.
    expect(on(run, "ctl")).toEqual([]);
    expect(nodes.ctl.files.get("/etc/exports")).toContain(OUR_EXPORT);
    expect(nodes.ctl.mounts.get("/mnt/data")).toBe("/dev/vdb");
    expect(on(run, "w1")).toContain("/usr/local/bin/k3s-agent-uninstall.sh");
  });

  test("a worker that cannot unmount stops the run before the export goes (any_errors_fatal)", async () => {
    const nodes = provisioned();
    nodes.w1.umountBusy = true;
    const run = await runTeardown(nodes);
    const failed = run.results.filter((r) => r.status === "failed");
    expect(failed.map((r) => `${r.host}: ${r.task}`)).toEqual([
      "w1: teardown-nfs-client: mount 198.51.100.10:/mnt/data",
    ]);
    expect(failed[0]!.msg).toMatch(/umount '\/mnt\/data'[\s\S]*target is busy/);
    expect(run.changes().filter((c) => /^ctl: (write \/etc\/exports|exportfs|umount)/.test(c))).toEqual([]);
    expect(nodes.ctl.files.get("/etc/exports")).toContain(OUR_EXPORT);
    expect(nodes.ctl.mounts.get("/mnt/data")).toBe("/dev/vdb");
  });
});

describe("the fake node answers facts as a node would (through the real batch and parsers)", () => {
  const readAll = async (model: NodeModel) => {
    const cache = new FactCache(new FakeNode("ctl", model, []));
    const refs = {
      host: hostFacts.of(),
      installed: k3sInstalled.of(),
      k3s: k3sVersion.of(),
      helm: helmVersion.of(),
      mounted: mountAt.of("/mnt/data"),
      uuid: fsUuid.of("/dev/vdb"),
      fstab: file.of("/etc/fstab"),
      dir: dirState.of("/var/lib/powerstack/helm"),
    };
    await cache.read(Object.values(refs) as Array<FactRef<unknown>>);
    return Object.fromEntries(
      Object.entries(refs).map(([k, ref]) => [k, cache.get(ref as FactRef<unknown>)]),
    );
  };

  test("a provisioned control node, then one with the host layer only", async () => {
    expect(await readAll(provisioned().ctl)).toMatchObject({
      host: { hostname: "ctl", init: "systemd" },
      installed: true,
      k3s: "v1.31.4+k3s1",
      helm: "v3.16.3",
      mounted: { source: "/dev/vdb", fstype: "btrfs" },
      uuid: "2222",
      fstab: { exists: true, content: `${ROOT_FSTAB}\n${DATA_FSTAB}\n` },
      dir: "not-empty",
    });
    expect(await readAll(hostLayerOnly().ctl!)).toMatchObject({
      installed: false,
      k3s: undefined,
      helm: undefined,
      dir: "missing",
    });
  });
});
