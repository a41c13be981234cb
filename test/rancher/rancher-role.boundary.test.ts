/**
 * BOUNDARY tests of the rancher role as `powerstack up` runs it: the real playbook, role registry, role,
 * helm-release and kube-apply modules and Runner, against the simulated control node of the monitoring
 * tests (FakeControlNode: no K3s or Helm can run here), which renders every release with the REAL Helm on
 * the vendored charts. Proved: cert-manager (with its CRDs) before Rancher, whose Issuer is rendered only
 * because cert-manager's CRDs serve cert-manager.io/v1 by then; the bootstrap password only ever on stdin
 * (the Secret), never in a command line or Helm's values; the rerun changes nothing and makes no Helm
 * revision; --check acts on nothing; air-gapped, both charts come from the artifacts directory; and with
 * Rancher off (the default) the `up` play sends exactly what it sent without the role.
 */
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadPlaybook } from "../../src/engine/playbook.js";
import type { Inventory } from "../../src/inventory/types.js";
import { packageRoot } from "../../src/package-root.js";
import { CERT_MANAGER_VERSION } from "../../roles/rancher/release.js";
import { FakeControlNode } from "../monitoring/fake-control-node.js";
import { runRoles } from "../monitoring/run-roles.js";
import { inventory as monitoringInventory, VAULT as MONITORING_VAULT } from "../monitoring/fixtures.js";
import {
  BOOTSTRAP_KEY,
  BOOTSTRAP_PASSWORD,
  CERT_MANAGER_TGZ,
  HOSTNAME,
  plainInventory,
  rancherInventory,
  RANCHER_TGZ,
} from "./fixtures.js";

const VAULT = { [BOOTSTRAP_KEY]: BOOTSTRAP_PASSWORD };
const HELM = "KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm";

/** A control node whose Helm finds the vendored charts (online: through the repositories added). */
function controlNode(): FakeControlNode {
  const node = new FakeControlNode();
  node.charts.set(`cert-manager-${CERT_MANAGER_VERSION}`, CERT_MANAGER_TGZ);
  node.charts.set(`rancher-2.12.3`, RANCHER_TGZ);
  return node;
}

const up = (inv: Inventory, node: FakeControlNode, check = false) =>
  runRoles(inv, node, ["rancher"], { check, vault: VAULT });

/** Commands that act (not facts or probe batches), and whether the password is anywhere in them. */
const acting = (node: FakeControlNode) => node.actions();

describe("rancher role (boundary)", () => {
  test("first run: cert-manager, then the bootstrap Secret, then Rancher; the rerun changes nothing", async () => {
    const node = controlNode();
    const inv = rancherInventory();
    const first = await up(inv, node);
    expect(first.results.filter((x) => x.status === "failed")).toEqual([]);
    expect(first.changed).toEqual([
      `rancher: cert-manager ${CERT_MANAGER_VERSION} (with its CRDs)`,
      "rancher: namespace cattle-system and Rancher's bootstrap password",
      `rancher: Rancher 2.12.3 at ${HOSTNAME}`,
    ]);
    const cmds = acting(node);
    const upgrade = (rel: string) =>
      cmds.findIndex((c) => c.startsWith(`${HELM} upgrade --install '${rel}'`));
    const apply = cmds.findIndex((c) => c.startsWith("/usr/local/bin/k3s kubectl apply --server-side"));
    expect(upgrade("cert-manager")).toBeGreaterThanOrEqual(0);
    expect(upgrade("cert-manager")).toBeLessThan(apply);
    expect(apply).toBeLessThan(upgrade("rancher"));
    expect(cmds).toContain(`${HELM} repo add 'jetstack' 'https://charts.jetstack.io' --force-update`);
    expect(cmds).toContain(
      `${HELM} repo add 'rancher-latest' 'https://releases.rancher.com/server-charts/latest' --force-update`,
    );
    expect(cmds[upgrade("cert-manager")]).toMatch(
      new RegExp(
        `'jetstack/cert-manager' --version '${CERT_MANAGER_VERSION}' --namespace 'cert-manager' .* --timeout 600s$`,
      ),
    );
    expect(cmds[upgrade("rancher")]).toMatch(
      /'rancher-latest\/rancher' --version '2\.12\.3' --namespace 'cattle-system' .* --timeout 900s$/,
    );
    // cert-manager's CRDs came with its release (templates, crds.enabled), so Rancher's render saw
    // cert-manager.io/v1 and made its CA Issuer; Helm never got the password.
    expect(node.objects.has("CustomResourceDefinition/issuers.cert-manager.io")).toBe(true);
    expect(node.objects.get("Issuer/cattle-system/rancher")?.apiVersion).toBe("cert-manager.io/v1");
    expect(node.releases.get("cattle-system/rancher")).toHaveLength(1);
    expect(node.releases.get("cert-manager/cert-manager")).toHaveLength(1);
    const secret = node.objects.get("Secret/cattle-system/bootstrap-secret");
    expect(Buffer.from(secret!.data.bootstrapPassword, "base64").toString()).toBe(BOOTSTRAP_PASSWORD);

    // The password: never in a command line, never in Helm's stdin; on stdin once, base64, in the Secret.
    const b64 = Buffer.from(BOOTSTRAP_PASSWORD).toString("base64");
    for (const s of node.sent) {
      expect(s.command).not.toContain(BOOTSTRAP_PASSWORD);
      expect(s.command).not.toContain(b64);
      if (s.command.startsWith(HELM)) expect(s.stdin?.toString() ?? "").not.toMatch(/password/i);
    }
    expect(node.sent.filter((s) => s.stdin?.toString().includes(b64))).toHaveLength(1);
    for (const r of node.releases.values()) expect(r.at(-1)!.values).not.toContain(BOOTSTRAP_PASSWORD);

    const before = node.sent.length;
    const again = await up(inv, node);
    expect(again.changed).toEqual([]);
    expect(acting(node).length).toBe(cmds.length); // nothing new acted: only facts and probes were sent
    expect(node.sent.length - before).toBeLessThanOrEqual(2);
    expect(node.releases.get("cattle-system/rancher")).toHaveLength(1);
    expect(node.releases.get("cert-manager/cert-manager")).toHaveLength(1);
  }, 120_000);

  test("a rotated vault password updates the Secret only: no Helm revision", async () => {
    const node = controlNode();
    const inv = rancherInventory();
    await up(inv, node);
    const r = await runRoles(inv, node, ["rancher"], { vault: { [BOOTSTRAP_KEY]: "an-other-pw-9c2e" } });
    expect(r.changed).toEqual(["rancher: namespace cattle-system and Rancher's bootstrap password"]);
    expect(node.releases.get("cattle-system/rancher")).toHaveLength(1);
  }, 120_000);

  test("--check on a fresh cluster plans all three and acts on nothing", async () => {
    const node = controlNode();
    const r = await up(rancherInventory(), node, true);
    expect(r.changed).toHaveLength(3);
    expect(acting(node)).toEqual([]);
    expect(node.releases.size).toBe(0);
  }, 60_000);

  test("air-gapped: both charts uploaded from the artifacts directory, no repository touched", async () => {
    const artifacts = mkdtempSync(join(tmpdir(), "powerstack-rancher-artifacts-"));
    for (const f of [CERT_MANAGER_TGZ, RANCHER_TGZ]) copyFileSync(f, join(artifacts, basename(f)));
    const inv = rancherInventory();
    inv.cluster.k3s.install = "airgap";
    inv.cluster.k3s.artifactsDir = artifacts;
    const node = controlNode();
    const r = await up(inv, node);
    expect(r.results.filter((x) => x.status === "failed")).toEqual([]);
    const cmds = acting(node);
    expect(cmds.filter((c) => / repo (add|update) /.test(c))).toEqual([]);
    expect(
      cmds.some((c) => c.includes(`'/var/lib/powerstack/charts/cert-manager-${CERT_MANAGER_VERSION}.tgz'`)),
    ).toBe(true);
    expect(cmds.some((c) => c.includes("'/var/lib/powerstack/charts/rancher-2.12.3.tgz'"))).toBe(true);
    expect(node.objects.get("Issuer/cattle-system/rancher")).toBeDefined();
    expect((await up(inv, node)).changed).toEqual([]);
  }, 120_000);

  test("air-gapped without the archives: an input error naming the file and how to get it", async () => {
    const inv = rancherInventory();
    inv.cluster.k3s.install = "airgap";
    inv.cluster.k3s.artifactsDir = mkdtempSync(join(tmpdir(), "powerstack-rancher-empty-"));
    const node = controlNode();
    const r = await up(inv, node, true);
    const failed = r.results.find((x) => x.status === "failed");
    expect(failed?.msg ?? JSON.stringify(r.results)).toMatch(
      new RegExp(
        `cert-manager-${CERT_MANAGER_VERSION}\\.tgz is missing[\\s\\S]*helm pull cert-manager --repo https://charts\\.jetstack\\.io`,
      ),
    );
    expect(acting(node)).toEqual([]);
  }, 60_000);
});

describe("Rancher off (the default) (boundary)", () => {
  test("the up play names the role, after monitoring and Kepler", () => {
    const play = loadPlaybook(join(packageRoot(), "playbooks", "up.yaml")).find((p) =>
      p.roles.includes("rancher"),
    );
    expect(play?.roles).toEqual(["cluster-storage", "monitoring", "kepler", "rancher"]);
  });

  test("the role has no task: nothing sent, no secret asked for", async () => {
    const node = controlNode();
    const r = await runRoles(plainInventory(), node, ["rancher"], { vault: {} });
    expect(r.results).toEqual([]);
    expect(acting(node)).toEqual([]);
  });

  test("the whole play sends exactly what it sends without the role", async () => {
    const roles = ["cluster-storage", "monitoring", "kepler"];
    const run = async (withRancher: boolean) => {
      const node = new FakeControlNode();
      node.k3sInstalled = false; // --check before K3s: every task plans, nothing else is needed
      const inv = monitoringInventory();
      // Grafana's login check reaches for its NodePort: loopback, where nothing listens on port 1.
      inv.nodes.find((n) => n.role === "control")!.externalIp = "127.0.0.1";
      inv.cluster.nodePorts.grafana = 1;
      const r = await runRoles(inv, node, withRancher ? [...roles, "rancher"] : roles, {
        check: true,
        vault: MONITORING_VAULT,
      });
      // Probe batches carry a random marker per run.
      const sent = node.sent.map((s) => [s.command.replace(/@@[0-9a-f]{12}:/g, "@@:"), s.stdin?.toString()]);
      return { sent, results: r.results.map((x) => [x.task, x.status]) };
    };
    const without = await run(false);
    expect(without.results.length).toBeGreaterThan(3);
    expect(await run(true)).toEqual(without);
  }, 60_000);
});
