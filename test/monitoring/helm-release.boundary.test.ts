/**
 * BOUNDARY tests of helm-release (no Helm or cluster runs here): its decisions for every state of the
 * release, the exact commands, values on stdin only, and above all that an unchanged release gets NO new
 * revision (kube-prometheus-stack makes one on every `helm upgrade`: prometheus-community/helm-charts #5236).
 */
import { describe, expect, test } from "vitest";
import type { Facts } from "../../src/engine/facts.js";
import {
  description,
  fingerprint,
  helmRelease,
  parseProbe,
  probeCommand,
  upgradeCommand,
  type HelmReleaseParams,
  type HelmReleaseSeen,
} from "../../src/modules/helm-release.js";
import { FakeControlNode } from "./fake-control-node.js";

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

async function converge(node: FakeControlNode, p: HelmReleaseParams) {
  const probe = helmRelease.probe(p);
  const r = await node.exec(
    `printf '\\n@@ab:0:begin\\n'; ( ${probe.command}\n) 2>/dev/null; printf '\\n@@ab:0:end:%d\\n' $?`,
  );
  const seen = probe.parse(/begin\n([\s\S]*)\n@@ab:0:end/.exec(r.stdout)![1]!, 0);
  const changes = helmRelease.plan(seen, p);
  if (changes.length) await helmRelease.apply({ host: node, facts }, p, changes, seen);
  return changes.map((c) => c.summary);
}

describe("helm-release decisions (boundary)", () => {
  const plan = (seen: HelmReleaseSeen, p = kps) => helmRelease.plan(seen, p).map((c) => c.summary);

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
    node.files.set(kepler.postRenderer!, { content: "#!/bin/sh\n", mode: "755" });
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

  test("a failed upgrade names where to look", async () => {
    const node = new FakeControlNode();
    await expect(converge(node, kepler)).rejects.toMatchObject({
      message: expect.stringMatching(/post-renderer .* not found/),
      fix: expect.stringMatching(/helm status kepler -n kepler/),
    });
  });
});

describe("without the tools (boundary)", () => {
  test("applying with no K3s/Helm on the node refuses with the plays to run first, sending nothing", async () => {
    const node = new FakeControlNode();
    node.helmInstalled = false;
    await expect(converge(node, kepler)).rejects.toMatchObject({
      message: "K3s or Helm is not installed on ctl: Helm release kepler/kepler cannot be installed",
      fix: expect.stringMatching(/--only k3s-server,k3s-ready,helm/),
    });
    expect(node.actions()).toEqual([]);
  });
});
