/**
 * BOUNDARY test of teardown-rancher as `powerstack teardown` runs it (the real teardown playbook, the
 * CLI's role selection, roles, modules and Runner) on the simulated control node after the rancher role
 * installed both releases there. The fake refuses to uninstall a release with delete hooks (it does not run
 * hooks), and Rancher's chart has one (its post-delete Job uninstalls the apps Rancher installed), so this
 * test answers that one uninstall itself, as Helm does once the hook succeeded: the last revision's objects
 * go, except those marked `helm.sh/resource-policy: keep`, and the release with its history.
 */
import { describe, expect, test } from "vitest";
import { confirmationList } from "../../src/engine/teardown-listing.js";
import type { ExecOptions, ExecResult } from "../../src/transport/host.js";
import { FakeControlNode } from "../monitoring/fake-control-node.js";
import { runRoles } from "../monitoring/run-roles.js";
import { runPlaybook } from "../support/run-playbook.js";
import { CERT_MANAGER_VERSION } from "../../roles/rancher/release.js";
import {
  BOOTSTRAP_KEY,
  BOOTSTRAP_PASSWORD,
  CERT_MANAGER_TGZ,
  plainInventory,
  rancherInventory,
  RANCHER_TGZ,
} from "./fixtures.js";

const HELM = "KUBECONFIG=/etc/rancher/k3s/k3s.yaml /usr/local/bin/helm";
const RANCHER_UNINSTALL = `${HELM} uninstall 'rancher' -n 'cattle-system' --wait --timeout 600s`;

class RancherNode extends FakeControlNode {
  override async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (command !== RANCHER_UNINSTALL) return super.exec(command, opts);
    this.sent.push({ command, stdin: undefined });
    const last = this.releases.get("cattle-system/rancher")?.at(-1);
    if (!last)
      return {
        code: 1,
        stdout: "",
        stderr: "Error: uninstall: Release not loaded: rancher: release: not found\n",
      };
    for (const k of last.objects ?? [])
      if (this.objects.get(k)?.metadata?.annotations?.["helm.sh/resource-policy"] !== "keep")
        this.objects.delete(k);
    this.releases.delete("cattle-system/rancher");
    return { code: 0, stdout: 'release "rancher" uninstalled\n', stderr: "" };
  }
}

async function installed() {
  const node = new RancherNode();
  node.charts.set(`cert-manager-${CERT_MANAGER_VERSION}`, CERT_MANAGER_TGZ);
  node.charts.set("rancher-2.12.3", RANCHER_TGZ);
  const inv = rancherInventory();
  await runRoles(inv, node, ["rancher"], { vault: { [BOOTSTRAP_KEY]: BOOTSTRAP_PASSWORD } });
  expect(node.releases.size).toBe(2);
  return { node, inv };
}

const teardown = (inv: ReturnType<typeof plainInventory>, node: FakeControlNode, check = false) =>
  runPlaybook("teardown", {
    inventory: inv,
    connect: async () => node,
    check,
    teardown: { only: "rancher" },
  });

describe("teardown-rancher (boundary)", () => {
  test("uninstalls Rancher, then cert-manager, then both namespaces (the password Secret with them); rerun: nothing", async () => {
    const { node, inv } = await installed();
    const before = node.actions().length;
    const r = await teardown(inv, node);
    expect(r.results.filter((x) => x.status === "failed")).toEqual([]);
    // Whether K3s is installed is now a fact read in a batch (k3s-installed), no longer a command of its own.
    expect(node.actions().slice(before)).toEqual([
      RANCHER_UNINSTALL,
      `${HELM} uninstall 'cert-manager' -n 'cert-manager' --wait --timeout 300s`,
      "/usr/local/bin/k3s kubectl delete 'namespace' 'cattle-system' --ignore-not-found --wait=true --timeout=300s",
      "/usr/local/bin/k3s kubectl delete 'namespace' 'cert-manager' --ignore-not-found --wait=true --timeout=300s",
    ]);
    expect(node.releases.size).toBe(0);
    expect(node.objects.has("Secret/cattle-system/bootstrap-secret")).toBe(false);
    // CRDs stay (cert-manager's crds.keep), as Helm never deletes CRDs.
    expect(node.objects.has("CustomResourceDefinition/certificates.cert-manager.io")).toBe(true);

    const after = node.actions().length;
    const again = await teardown(inv, node);
    expect(again.changed).toEqual([]);
    expect(node.actions().slice(after)).toEqual([]);
  }, 120_000);

  test("Rancher off: the role has no task and lists nothing to remove", async () => {
    const node = new RancherNode();
    const inv = plainInventory();
    const r = await teardown(inv, node);
    expect(r.results).toEqual([]);
    expect(node.actions()).toEqual([]);
    // Teardown's confirmation is made from the check run's results (src/engine/teardown-listing.ts).
    expect(confirmationList(r.results, ["ctl"])).toEqual([]);
  });
});
