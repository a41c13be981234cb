/**
 * BOUNDARY tests of helm-release (no Helm or cluster runs here): its decisions for every state of the
 * release, the exact commands, values on stdin only, and above all that an unchanged release gets NO new
 * revision (kube-prometheus-stack makes one on every `helm upgrade`: prometheus-community/helm-charts #5236).
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseAllDocuments } from "yaml";
import type { FactRef } from "../../src/engine/fact.js";
import { FactCache } from "../../src/engine/fact-cache.js";
import { k3sVersion } from "../../src/facts/k3s.js";
import { k3sInstalled } from "../../src/modules/cluster-read.js";
import { helmVersion } from "../../src/modules/helm-binary.js";
import type { Facts } from "../../src/engine/facts.js";
import { InputError } from "../../src/errors.js";
import { chartName, chartRef, pinnedChart, type OnlineChart } from "../../src/modules/chart-source.js";
import {
  crdsCommand,
  description,
  fingerprint,
  helmRelease,
  helmReleaseState,
  parseProbe,
  probeCommand,
  upgradeCommand,
  type HelmReleaseParams,
  type HelmReleaseSeen,
} from "../../src/modules/helm-release.js";
import { K8sSchemaValidator } from "../support/k8s-schema.js";
import { chartPath, helm, requireCharts } from "../support/real-helm.js";
import { bumpedChart, bumpedKubePrometheusStack, PINNED_OPERATOR_VERSION } from "./bumped-chart.js";
import { FakeControlNode } from "./fake-control-node.js";

const haveCharts = requireCharts();

const facts = {} as Facts;
const kps: HelmReleaseParams = {
  release: "kube-prometheus-stack",
  namespace: "monitoring",
  chart: {
    kind: "repo",
    repoName: "prometheus-community",
    repoUrl: "https://prometheus-community.github.io/helm-charts",
    chart: "kube-prometheus-stack",
  },
  version: "88.5.3",
  values: "prometheus:\n  prometheusSpec:\n    retention: 10d\n",
  timeoutSec: 900,
};
const kepler: HelmReleaseParams = {
  release: "kepler",
  namespace: "kepler",
  chart: { kind: "oci", url: "oci://quay.io/sustainable_computing_io/charts/kepler" },
  version: "0.11.4",
  values: "serviceMonitor:\n  enabled: true\n",
  postRenderer: "/var/lib/powerstack/helm/kepler/post-render.sh",
  extraInputs: "script\n---\npatch",
};

const deployed = (
  p: HelmReleaseParams,
  over: Partial<NonNullable<HelmReleaseSeen["latest"]>> = {},
): HelmReleaseSeen => ({
  toolsAbsent: false,
  repos: [{ name: "prometheus-community", url: "https://prometheus-community.github.io/helm-charts" }],
  latest: {
    revision: 3,
    status: "deployed",
    chart: `kube-prometheus-stack-${p.version}`,
    description: description(p),
    ...over,
  },
});

/** Read the release's fact (one batch, through a fact cache, as the runner does), plan, apply. */
async function converge(node: FakeControlNode, p: HelmReleaseParams) {
  const cache = new FactCache(node);
  const ref = helmReleaseState.of({ release: p.release, namespace: p.namespace });
  await cache.read([ref]);
  const actions = helmRelease.plan({ release: cache.get(ref) }, p);
  if (actions.length) await helmRelease.apply({ host: node, facts, cache }, actions, p);
  return actions.map((a) => helmRelease.describe(a, p));
}

describe("helm-release decisions (boundary)", () => {
  const plan = (seen: HelmReleaseSeen, p = kps) =>
    helmRelease.plan({ release: seen }, p).map((a) => helmRelease.describe(a, p));

  test("release absent -> install (and the repository, only when missing)", () => {
    expect(plan({ toolsAbsent: false, repos: [] })).toEqual([
      "add Helm repository prometheus-community (https://prometheus-community.github.io/helm-charts)",
      "install monitoring/kube-prometheus-stack: kube-prometheus-stack 88.5.3",
    ]);
    expect(plan({ ...deployed(kps), latest: undefined })).toEqual([
      "install monitoring/kube-prometheus-stack: kube-prometheus-stack 88.5.3",
    ]);
    expect(plan({ toolsAbsent: true, repos: [] })).toContain(
      "install monitoring/kube-prometheus-stack: kube-prometheus-stack 88.5.3 (once K3s and Helm are installed)",
    );
  });

  test("same chart version and values fingerprint -> nothing: no revision", () => {
    expect(plan(deployed(kps))).toEqual([]);
  });

  test("values changed -> upgrade; chart version changed -> upgrade", () => {
    expect(plan(deployed(kps), { ...kps, values: kps.values.replace("10d", "30d") })).toEqual([
      "upgrade monitoring/kube-prometheus-stack: values changed (revision 3 was made from other inputs)",
    ]);
    expect(plan(deployed(kps), { ...kps, version: "88.6.0" })).toEqual([
      "upgrade monitoring/kube-prometheus-stack: chart 88.5.3 -> 88.6.0",
    ]);
    // An upgrade made by hand (its own description) is drift too.
    expect(plan(deployed(kps, { description: "Upgrade complete" }))).toEqual([
      "upgrade monitoring/kube-prometheus-stack: values changed (revision 3 was made from other inputs)",
    ]);
  });

  test("the fingerprint covers chart source, version, values and the post-renderer's inputs", () => {
    const base = fingerprint(kepler);
    expect(fingerprint({ ...kepler })).toBe(base);
    expect(fingerprint({ ...kepler, extraInputs: "script\n---\npatch v2" })).not.toBe(base);
    expect(fingerprint({ ...kepler, chart: { kind: "oci", url: "oci://elsewhere/kepler" } })).not.toBe(base);
    expect(fingerprint({ ...kepler, postRenderer: undefined })).not.toBe(base);
    expect(description(kepler)).toMatch(/^powerstack inputs sha256:[0-9a-f]{64}$/);
  });

  test("failed -> retried; pending or uninstalling -> refused with the fix; a failed read -> refused", () => {
    expect(plan(deployed(kps, { status: "failed" }))).toEqual([
      "upgrade monitoring/kube-prometheus-stack: revision 3 failed, retry with kube-prometheus-stack 88.5.3",
    ]);
    expect(() => plan(deployed(kps, { status: "pending-upgrade" }))).toThrow(
      /is pending-upgrade \(revision 3\): another Helm operation is running/,
    );
    try {
      plan(deployed(kps, { status: "pending-install" }));
    } catch (e) {
      expect((e as { fix: string }).fix).toMatch(/helm uninstall kube-prometheus-stack -n monitoring/);
    }
    expect(() => plan(deployed(kps, { status: "uninstalling" }))).toThrow(/being uninstalled/);
    expect(() =>
      plan({ toolsAbsent: false, repos: [], readError: "Kubernetes cluster unreachable" }),
    ).toThrow(
      /reading Helm release monitoring\/kube-prometheus-stack failed: Kubernetes cluster unreachable/,
    );
  });

  test("probe: helm history of the latest revision and the repository list; its output parsed", () => {
    expect(probeCommand(kps)).toBe(
      // the command of the `helm-release` fact
      "if [ ! -x /usr/local/bin/k3s ] || [ ! -x /usr/local/bin/helm ]; then echo '@@helm-release tools-absent'; else " +
        "out=$(KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm history 'kube-prometheus-stack' -n 'monitoring' --max 1 -o json 2>&1); " +
        `echo "@@helm-release history $?"; printf '%s\\n' "$out"; ` +
        "echo '@@helm-release repos'; KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm repo list -o json 2>/dev/null; fi",
    );
    const row = {
      revision: 4,
      updated: "x",
      status: "deployed",
      chart: "kepler-0.11.4",
      app_version: "v0.11.4",
      description: "powerstack inputs sha256:" + "a".repeat(64),
    };
    expect(
      parseProbe(
        `@@helm-release history 0\nWARNING: a warning line\n${JSON.stringify([row])}\n@@helm-release repos\n`,
      ),
    ).toEqual({
      toolsAbsent: false,
      repos: [],
      latest: { revision: 4, status: "deployed", chart: "kepler-0.11.4", description: row.description },
    });
    expect(
      parseProbe(
        '@@helm-release history 1\nError: release: not found\n@@helm-release repos\n[{"name":"kepler","url":"https://x"}]\n',
      ),
    ).toEqual({
      toolsAbsent: false,
      repos: [{ name: "kepler", url: "https://x" }],
    });
    expect(
      parseProbe(
        "@@helm-release history 1\nError: Kubernetes cluster unreachable: connection refused\n@@helm-release repos\n",
      ).readError,
    ).toBe("Error: Kubernetes cluster unreachable: connection refused");
  });
});

describe("helm-release commands (boundary)", () => {
  test("repository chart: repo add once, repo update before each install/upgrade, values on stdin", async () => {
    const node = new FakeControlNode();
    expect(await converge(node, kps)).toHaveLength(2);
    expect(node.actions()).toEqual([
      "KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm repo add 'prometheus-community' 'https://prometheus-community.github.io/helm-charts' --force-update",
      "KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm repo update 'prometheus-community'",
      `KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm upgrade --install 'kube-prometheus-stack' 'prometheus-community/kube-prometheus-stack' --version '88.5.3' --namespace 'monitoring' --create-namespace --values - --description '${description(kps)}' --wait --timeout 900s`,
    ]);
    const upgrade = node.sent.find((s) => s.command.includes("upgrade --install"))!;
    expect(upgrade.stdin!.toString()).toBe(kps.values);
    expect(upgrade.command).not.toContain("retention");

    // The rerun: no repo call, no upgrade, no revision.
    const n = node.sent.length;
    expect(await converge(node, kps)).toEqual([]);
    expect(node.sent.length - n).toBe(1);
    expect(node.releases.get("monitoring/kube-prometheus-stack")).toHaveLength(1);

    // New values: the repository is known now (no add), the index is refreshed, one new revision.
    const p2 = { ...kps, values: kps.values.replace("10d", "30d") };
    expect(await converge(node, p2)).toEqual([
      "upgrade monitoring/kube-prometheus-stack: values changed (revision 1 was made from other inputs)",
    ]);
    expect(node.actions().slice(-2)[0]).toBe(
      "KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm repo update 'prometheus-community'",
    );
    expect(node.releases.get("monitoring/kube-prometheus-stack")).toHaveLength(2);
    expect(await converge(node, p2)).toEqual([]);
    expect(node.releases.get("monitoring/kube-prometheus-stack")).toHaveLength(2);
  });

  test("OCI chart: no repository at all; the post-renderer is passed; a chart bump upgrades", async () => {
    const node = new FakeControlNode();
    // The fake renders with the real Helm: a pass-through post-renderer, and 0.11.5 made from 0.11.4.
    node.files.set(kepler.postRenderer!, { content: "#!/bin/sh\ncat\n", mode: "755" });
    node.charts.set("kepler-0.11.5", await bumpedChart("keplerCurrent", "0.11.5"));
    expect(await converge(node, kepler)).toEqual(["install kepler/kepler: kepler 0.11.4"]);
    expect(node.actions()).toEqual([upgradeCommand(kepler)]);
    expect(upgradeCommand(kepler)).toBe(
      `KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm upgrade --install 'kepler' 'oci://quay.io/sustainable_computing_io/charts/kepler' --version '0.11.4' --namespace 'kepler' --create-namespace --values - --description '${description(kepler)}' --wait --timeout 600s --post-renderer '/var/lib/powerstack/helm/kepler/post-render.sh'`,
    );
    expect(await converge(node, kepler)).toEqual([]);
    expect(await converge(node, { ...kepler, version: "0.11.5" })).toEqual([
      "upgrade kepler/kepler: chart 0.11.4 -> 0.11.5",
    ]);
    expect(node.releases.get("kepler/kepler")!.map((r) => r.chart)).toEqual([
      "kepler-0.11.4",
      "kepler-0.11.5",
    ]);
  });

  test.skipIf(!haveCharts)(
    "a template error of the real Helm fails the upgrade as on a node; no revision, no objects",
    async () => {
      const node = new FakeControlNode();
      const broken = { ...kepler, values: "daemonset: 5\n", postRenderer: undefined, extraInputs: undefined };
      await expect(converge(node, broken)).rejects.toMatchObject({
        message: expect.stringContaining("can't evaluate field hostPID in type interface {}"),
        fix: expect.stringMatching(/helm status kepler -n kepler/),
      });
      expect(node.releases.size).toBe(0);
      expect([...node.objects.keys()].filter((k) => k.includes("/kepler/"))).toEqual([]);
    },
  );

  test("a failed upgrade names where to look", async () => {
    const node = new FakeControlNode();
    await expect(converge(node, kepler)).rejects.toMatchObject({
      message: expect.stringMatching(/post-renderer .* not found/),
      fix: expect.stringMatching(/helm status kepler -n kepler/),
    });
  });
});

describe("without the tools (boundary)", () => {
  test("the fake node answers the tool facts as a node would (through the real batch and parsers)", async () => {
    const read = async (node: FakeControlNode) => {
      const cache = new FactCache(node);
      const refs = [
        k3sInstalled.of(),
        k3sVersion.of(),
        helmVersion.of(),
        helmReleaseState.of({ release: "kepler", namespace: "kepler" }),
      ] as Array<FactRef<unknown>>;
      await cache.read(refs);
      return refs.map((r) => cache.get(r));
    };
    const node = new FakeControlNode();
    expect(await read(node)).toEqual([true, "v1.31.4+k3s1", "v3.16.3", { toolsAbsent: false, repos: [] }]);
    node.k3sInstalled = false;
    node.helmInstalled = false;
    expect(await read(node)).toEqual([false, undefined, undefined, { toolsAbsent: true, repos: [] }]);
  });

  test("applying with no K3s/Helm on the node refuses with the plays to run first, sending nothing", async () => {
    const node = new FakeControlNode();
    node.helmInstalled = false;
    await expect(converge(node, kepler)).rejects.toMatchObject({
      message: "K3s or Helm is not installed on ctl: Helm release kepler/kepler cannot be installed",
      fix: expect.stringMatching(/--only k3s-server,k3s-ready,helm/),
    });
    expect(node.actions()).toEqual([]);
    // A repository chart with CRDs plans `repo add` and the CRDs too: still refused before any of them.
    await expect(converge(node, kpsCrds)).rejects.toMatchObject({
      message:
        "K3s or Helm is not installed on ctl: Helm release monitoring/kube-prometheus-stack cannot be installed",
    });
    expect(node.actions()).toEqual([]);
  });
});

// --- CRDs (defect #6) and air-gapped charts ------------------------------------------------------------

/** kube-prometheus-stack as the monitoring role gives it: its chart ships CRDs. */
const KPS_ONLINE: OnlineChart = { ...(kps.chart as OnlineChart), crds: true };
const kpsCrds: HelmReleaseParams = { ...kps, chart: KPS_ONLINE };
const CRD_SUMMARY = (v: string) =>
  `apply the CRDs of kube-prometheus-stack ${v} server-side (Helm never upgrades CRDs)`;
const PROMETHEUS_CRD = "CustomResourceDefinition/prometheuses.monitoring.coreos.com";
const operatorVersion = (node: FakeControlNode): string | undefined =>
  node.objects.get(PROMETHEUS_CRD)?.metadata.annotations?.["operator.prometheus.io/version"];
const liveCrds = (node: FakeControlNode) =>
  [...node.objects.keys()].filter((k) => k.startsWith("CustomResourceDefinition/"));

/** A command as a reviewer reads it. */
function short(cmd: string): string {
  if (cmd.startsWith("crds=$(mktemp)"))
    return `crds ${/show crds '([^']+)' --version '([^']+)'/.exec(cmd)!.slice(1).join(" ")}`;
  if (cmd.includes("helm upgrade --install"))
    return `upgrade ${/upgrade --install '[^']+' '([^']+)' --version '([^']+)'/.exec(cmd)!.slice(1).join(" ")}`;
  if (cmd.includes(" repo add ")) return "repo add";
  if (cmd.includes(" repo update ")) return "repo update";
  if (cmd.includes("sha256sum -c")) return `upload ${/mv -f "\$t" '([^']+)'/.exec(cmd)![1]}`;
  if (cmd.startsWith("if [ -f ")) return "upload check";
  return cmd;
}
const since = (node: FakeControlNode, n: number) => node.actions().slice(n).map(short);

/** What a teardown leaves: an older operator's CRD (Helm never deletes CRDs). */
const staleCrd = () => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: "prometheuses.monitoring.coreos.com",
    annotations: { "operator.prometheus.io/version": "0.70.0" },
  },
  spec: {
    group: "monitoring.coreos.com",
    names: { kind: "Prometheus", plural: "prometheuses" },
    scope: "Namespaced",
    versions: [{ name: "v1", served: true, storage: true }],
  },
});

describe("CRDs before install and chart bumps (boundary)", () => {
  const plan = (seen: HelmReleaseSeen, p: HelmReleaseParams) =>
    helmRelease.plan({ release: seen }, p).map((a) => helmRelease.describe(a, p));

  test("decisions: CRDs on install, chart-version change and failed retry; never for values only or a no-op", () => {
    expect(plan({ toolsAbsent: false, repos: deployed(kps).repos }, kpsCrds)).toEqual([
      CRD_SUMMARY("88.5.3"),
      "install monitoring/kube-prometheus-stack: kube-prometheus-stack 88.5.3",
    ]);
    expect(plan(deployed(kpsCrds), kpsCrds)).toEqual([]);
    expect(plan(deployed(kpsCrds), { ...kpsCrds, values: "x: 1\n" })).toEqual([
      "upgrade monitoring/kube-prometheus-stack: values changed (revision 3 was made from other inputs)",
    ]);
    expect(plan(deployed(kpsCrds), { ...kpsCrds, version: "88.6.0" })).toEqual([
      CRD_SUMMARY("88.6.0"),
      "upgrade monitoring/kube-prometheus-stack: chart 88.5.3 -> 88.6.0",
    ]);
    expect(plan(deployed(kpsCrds, { status: "failed" }), kpsCrds)).toEqual([
      CRD_SUMMARY("88.5.3"),
      "upgrade monitoring/kube-prometheus-stack: revision 3 failed, retry with kube-prometheus-stack 88.5.3",
    ]);
    // A per-release option: off for a chart that ships none (Kepler), or turned off explicitly.
    expect(plan({ toolsAbsent: false, repos: [] }, kepler)).toEqual(["install kepler/kepler: kepler 0.11.4"]);
    expect(plan(deployed(kpsCrds), { ...kpsCrds, version: "88.6.0", applyCrds: false })).toEqual([
      "upgrade monitoring/kube-prometheus-stack: chart 88.5.3 -> 88.6.0",
    ]);
    // Not part of the fingerprint: turning it on upgrades nothing that is deployed.
    expect(fingerprint(kpsCrds)).toBe(fingerprint(kps));
  });

  test("the command: helm show crds of the pinned chart, applied server-side, through a temp file", () => {
    expect(crdsCommand(kpsCrds)).toBe(
      `crds=$(mktemp) && { KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm show crds 'prometheus-community/kube-prometheus-stack' --version '88.5.3' > "$crds" && ` +
        `{ [ -s "$crds" ] || { echo 'helm show crds printed no CRDs for kube-prometheus-stack 88.5.3' >&2; false; }; } && ` +
        `/usr/local/bin/k3s kubectl apply --server-side --field-manager=powerstack --force-conflicts -f "$crds"; rc=$?; rm -f "$crds"; [ "$rc" -eq 0 ]; }`,
    );
  });

  test.skipIf(!haveCharts)(
    "install: the chart's CRDs replace stale ones a teardown left, before Helm (which skips existing CRDs) runs",
    async () => {
      const node = new FakeControlNode();
      node.objects.set(PROMETHEUS_CRD, staleCrd());
      expect(await converge(node, kpsCrds)).toEqual([
        "add Helm repository prometheus-community (https://prometheus-community.github.io/helm-charts)",
        CRD_SUMMARY("88.5.3"),
        "install monitoring/kube-prometheus-stack: kube-prometheus-stack 88.5.3",
      ]);
      expect(since(node, 0)).toEqual([
        "repo add",
        "repo update",
        "crds prometheus-community/kube-prometheus-stack 88.5.3",
        "upgrade prometheus-community/kube-prometheus-stack 88.5.3",
      ]);
      expect(operatorVersion(node)).toBe(PINNED_OPERATOR_VERSION);
      expect(liveCrds(node)).toHaveLength(10);
      // What real Helm rendered is live: the operator the CRDs are for.
      expect(node.objects.get("Deployment/monitoring/kube-prometheus-stack-operator")).toBeDefined();

      // Without the CRD step, Helm's install skips the existing CRD: the old one stays (the defect).
      const helmOnly = new FakeControlNode();
      helmOnly.objects.set(PROMETHEUS_CRD, staleCrd());
      await converge(helmOnly, { ...kpsCrds, applyCrds: false });
      expect(operatorVersion(helmOnly)).toBe("0.70.0");
    },
  );

  test.skipIf(!haveCharts)(
    "a chart-version bump applies the new chart's CRDs BEFORE the upgrade; values-only changes and reruns do not",
    async () => {
      const bumped = await bumpedKubePrometheusStack("88.6.0", "0.99.0");
      const node = new FakeControlNode();
      node.charts.set("kube-prometheus-stack-88.6.0", bumped);
      await converge(node, kpsCrds);
      expect(operatorVersion(node)).toBe(PINNED_OPERATOR_VERSION);

      let n = node.actions().length;
      const sent = node.sent.length;
      expect(await converge(node, kpsCrds)).toEqual([]);
      expect(node.sent.length - sent).toBe(1); // the fact batch, nothing else

      const values30d = { ...kpsCrds, values: kps.values.replace("10d", "30d") };
      await converge(node, values30d);
      expect(since(node, n)).toEqual([
        "repo update",
        "upgrade prometheus-community/kube-prometheus-stack 88.5.3",
      ]);

      n = node.actions().length;
      expect(await converge(node, { ...values30d, version: "88.6.0" })).toEqual([
        CRD_SUMMARY("88.6.0"),
        "upgrade monitoring/kube-prometheus-stack: chart 88.5.3 -> 88.6.0",
      ]);
      expect(since(node, n)).toEqual([
        "repo update",
        "crds prometheus-community/kube-prometheus-stack 88.6.0",
        "upgrade prometheus-community/kube-prometheus-stack 88.6.0",
      ]);
      expect(operatorVersion(node)).toBe("0.99.0");
      expect(node.releases.get("monitoring/kube-prometheus-stack")!.map((r) => r.chart)).toEqual([
        "kube-prometheus-stack-88.5.3",
        "kube-prometheus-stack-88.5.3",
        "kube-prometheus-stack-88.6.0",
      ]);
      const before = node.sent.length;
      expect(await converge(node, { ...values30d, version: "88.6.0" })).toEqual([]);
      expect(node.sent.length - before).toBe(1);
      expect(node.releases.get("monitoring/kube-prometheus-stack")).toHaveLength(3);

      // The same bump by Helm alone leaves the old CRDs under the new operator.
      const helmOnly = new FakeControlNode();
      helmOnly.charts.set("kube-prometheus-stack-88.6.0", bumped);
      await converge(helmOnly, { ...kpsCrds, applyCrds: false });
      await converge(helmOnly, { ...kpsCrds, applyCrds: false, version: "88.6.0" });
      expect(operatorVersion(helmOnly)).toBe(PINNED_OPERATOR_VERSION);
    },
  );

  test.skipIf(!haveCharts)(
    "CRDs asked of a chart that has none: refused before Helm runs, the release left as it is",
    async () => {
      const node = new FakeControlNode();
      node.files.set(kepler.postRenderer!, { content: "#!/bin/sh\ncat\n", mode: "755" });
      await expect(converge(node, { ...kepler, applyCrds: true })).rejects.toMatchObject({
        message: expect.stringMatching(
          /^applying the CRDs of kepler 0\.11\.4 failed \(the release was left as it is\): [\s\S]*printed no CRDs/,
        ),
      });
      expect(node.actions().map(short)).toEqual([
        "crds oci://quay.io/sustainable_computing_io/charts/kepler 0.11.4",
      ]);
      expect(node.releases.size).toBe(0);
    },
  );
});

describe.skipIf(!haveCharts)("helm show crds of the pinned kube-prometheus-stack (real Helm)", () => {
  test("the prometheus-operator's 10 CRDs, from the chart's `crds` subchart, each a valid apiextensions.k8s.io/v1 CRD", async () => {
    const { stdout } = await helm(["show", "crds", chartPath("kubePrometheusStack"), "--version", "88.5.3"]);
    const crds = parseAllDocuments(stdout)
      .map((d) => d.toJS())
      .filter(Boolean) as Array<Record<string, any>>;
    expect(crds.map((c) => c.spec.names.kind).sort()).toEqual([
      "Alertmanager",
      "AlertmanagerConfig",
      "PodMonitor",
      "Probe",
      "Prometheus",
      "PrometheusAgent",
      "PrometheusRule",
      "ScrapeConfig",
      "ServiceMonitor",
      "ThanosRuler",
    ]);
    const validator = new K8sSchemaValidator();
    for (const c of crds) {
      expect(c.apiVersion).toBe("apiextensions.k8s.io/v1");
      expect(c.kind).toBe("CustomResourceDefinition");
      expect(c.spec.group).toBe("monitoring.coreos.com");
      expect(c.metadata.name).toBe(`${c.spec.names.plural}.monitoring.coreos.com`);
      expect(c.metadata.annotations["operator.prometheus.io/version"]).toBe(PINNED_OPERATOR_VERSION);
      expect(c.spec.versions.filter((v: { storage: boolean }) => v.storage)).toHaveLength(1);
      for (const v of c.spec.versions) expect(v.schema?.openAPIV3Schema?.type).toBe("object");
      expect(validator.errors(c)).toEqual([]);
    }
    // All of them are the `crds` subchart's: the parent chart has no crds/ of its own.
    const crdFiles = execFileSync("tar", ["-tzf", chartPath("kubePrometheusStack")], { encoding: "utf8" })
      .split("\n")
      // A chart's CRDs are the files of its `crds/` directory: the parent's or a subchart's.
      .filter((f) => /^kube-prometheus-stack\/(charts\/[^/]+\/)?crds\/[^/]+\.yaml$/.test(f));
    expect(crdFiles).toHaveLength(10);
    expect(crdFiles.every((f) => f.startsWith("kube-prometheus-stack/charts/crds/crds/"))).toBe(true);
    // Applied server-side for a reason: several exceed the 256 KiB last-applied annotation of client-side apply.
    expect(crds.filter((c) => JSON.stringify(c).length > 262_144).length).toBeGreaterThan(0);
  });
});

describe.skipIf(!haveCharts)("air-gapped charts: the .tgz from the artifacts directory (boundary)", () => {
  const artifacts = () => {
    const dir = mkdtempSync(join(tmpdir(), "powerstack-artifacts-"));
    copyFileSync(chartPath("kubePrometheusStack"), join(dir, "kube-prometheus-stack-88.5.3.tgz"));
    return dir;
  };
  const airgapped = (dir: string, p = kpsCrds): HelmReleaseParams => ({
    ...p,
    chart: pinnedChart(KPS_ONLINE, p.version, { install: "airgap", artifactsDir: dir }),
  });
  const REMOTE = "/var/lib/powerstack/charts/kube-prometheus-stack-88.5.3.tgz";

  test("uploaded only when the node's copy differs; CRDs and the release from that file; no repository", async () => {
    const dir = artifacts();
    const p = airgapped(dir);
    expect(chartRef(p.chart)).toBe(REMOTE);
    expect(chartName(p.chart)).toBe("kube-prometheus-stack");
    const node = new FakeControlNode();
    expect(await converge(node, p)).toEqual([
      `chart archive ${dir}/kube-prometheus-stack-88.5.3.tgz -> ${REMOTE} (sent only if the node's copy differs)`,
      CRD_SUMMARY("88.5.3"),
      "install monitoring/kube-prometheus-stack: kube-prometheus-stack 88.5.3",
    ]);
    expect(since(node, 0)).toEqual([
      "upload check",
      `upload ${REMOTE}`,
      `crds ${REMOTE} 88.5.3`,
      `upgrade ${REMOTE} 88.5.3`,
    ]);
    expect(
      node.files.get(REMOTE)!.data!.equals(readFileSync(join(dir, "kube-prometheus-stack-88.5.3.tgz"))),
    ).toBe(true);
    expect(node.releases.get("monitoring/kube-prometheus-stack")![0]!.chart).toBe(
      "kube-prometheus-stack-88.5.3",
    );
    expect(liveCrds(node)).toHaveLength(10);
    expect(node.repos).toEqual([]);

    const sent = node.sent.length;
    expect(await converge(node, p)).toEqual([]);
    expect(node.sent.length - sent).toBe(1);

    // New values: the node's archive is still the operator's, so it is not sent again.
    let n = node.actions().length;
    const p30 = airgapped(dir, { ...kpsCrds, values: kps.values.replace("10d", "30d") });
    await converge(node, p30);
    expect(since(node, n)).toEqual(["upload check", `upgrade ${REMOTE} 88.5.3`]);

    // A node copy that is not the operator's file any more is replaced before the next upgrade.
    node.files.set(REMOTE, { content: "corrupt", mode: "644", data: Buffer.from("corrupt") });
    n = node.actions().length;
    await converge(node, airgapped(dir, { ...kpsCrds, values: kps.values.replace("10d", "45d") }));
    expect(since(node, n)).toEqual(["upload check", `upload ${REMOTE}`, `upgrade ${REMOTE} 88.5.3`]);
  });

  test("switching online -> air-gap with the same chart version and values is not an upgrade", async () => {
    const node = new FakeControlNode();
    await converge(node, kpsCrds);
    const p = airgapped(artifacts());
    expect(fingerprint(p)).toBe(fingerprint(kpsCrds));
    // The identity is the upstream chart the archive was pulled from: without one it is another chart.
    expect(fingerprint({ ...p, chart: { ...p.chart, origin: undefined } as typeof p.chart })).not.toBe(
      fingerprint(kpsCrds),
    );
    const sent = node.sent.length;
    expect(await converge(node, p)).toEqual([]);
    expect(node.sent.length - sent).toBe(1);
    expect(node.releases.get("monitoring/kube-prometheus-stack")).toHaveLength(1);
  });

  test("a missing archive is an input error naming the file and the fix, before anything is sent", async () => {
    const empty = mkdtempSync(join(tmpdir(), "powerstack-artifacts-"));
    const node = new FakeControlNode();
    const err = await converge(node, airgapped(empty)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err).toMatchObject({
      message: `air-gapped install: chart archive ${empty}/kube-prometheus-stack-88.5.3.tgz is missing`,
      fix: "on a machine with network access run `helm pull kube-prometheus-stack --repo https://prometheus-community.github.io/helm-charts --version 88.5.3` (it writes kube-prometheus-stack-88.5.3.tgz) and copy the file into cluster.k3s.artifacts_dir",
    });
    expect(node.actions()).toEqual([]);
    const oci = {
      ...kepler,
      chart: pinnedChart(kepler.chart as OnlineChart, "0.11.4", { install: "airgap", artifactsDir: empty }),
    };
    await expect(converge(node, oci)).rejects.toMatchObject({
      fix: expect.stringContaining(
        "`helm pull oci://quay.io/sustainable_computing_io/charts/kepler --version 0.11.4`",
      ),
    });
    // A release already up to date needs no archive: a no-op rerun does not fail for it.
    const done = new FakeControlNode();
    await converge(done, kpsCrds);
    expect(await converge(done, airgapped(empty))).toEqual([]);
  });
});
