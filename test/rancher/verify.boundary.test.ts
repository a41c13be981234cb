/**
 * BOUNDARY tests of verify's Rancher check: the production Cluster (`connectCluster`, kubectl over SSH on
 * the control node) on a RecordingHost answering as the API server's service proxy does. Checked: the
 * exact command, pass on "pong", the proxy's answers for no Service and no ready pod, and that with
 * Rancher off verify sends and reports exactly what it did before.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RunContext } from "../../src/cli/context.js";
import { connectCluster } from "../../src/cluster/connect.js";
import { parseInventory } from "../../src/inventory/load.js";
import type { Inventory } from "../../src/inventory/types.js";
import type { ExecResult } from "../../src/transport/host.js";
import { SshHost } from "../../src/transport/ssh-host.js";
import { checkClusterGroup } from "../../src/verify/cluster-group.js";
import { RecordingHost } from "../support/recording-host.js";
import { inventoryYaml, NODES_HEALTHY, PODS_HEALTHY, PVCS_HEALTHY, PVS } from "../verify/fixtures.js";

const FILE = "/tmp/powerstack-verify-test/inventory.yaml";
const withRancher = (on: boolean): Inventory =>
  parseInventory(
    inventoryYaml().replace(
      "cluster:\n",
      `cluster:\n  rancher: { enabled: ${on}, hostname: rancher.example.org }\n`,
    ),
    FILE,
  );

const PING =
  "/usr/local/bin/k3s kubectl 'get' '--raw' '/api/v1/namespaces/cattle-system/services/http:rancher:80/proxy/ping'";

function run(inv: Inventory, ping: Partial<ExecResult>, api: Partial<ExecResult> = {}) {
  const host = new RecordingHost("ctl", [
    [/^\/usr\/local\/bin\/k3s kubectl 'get' 'nodes'/, () => ({ stdout: NODES_HEALTHY, ...api })],
    [/^\/usr\/local\/bin\/k3s kubectl 'get' 'pods'/, () => ({ stdout: PODS_HEALTHY })],
    [/^\/usr\/local\/bin\/k3s kubectl 'get' 'pvc'/, () => ({ stdout: PVCS_HEALTHY })],
    [/^\/usr\/local\/bin\/k3s kubectl 'get' 'pv'/, () => ({ stdout: PVS })],
    [/^\/usr\/local\/bin\/k3s kubectl 'get' '--raw'/, () => ping],
  ]);
  vi.spyOn(SshHost, "connect").mockResolvedValue(host as unknown as SshHost);
  const ctx = {
    inventory: inv,
    secret: () => {
      throw new Error("no secret needed");
    },
    log: { write: () => undefined },
  } as unknown as RunContext;
  return { host, results: checkClusterGroup(inv, { cluster: () => connectCluster(ctx), deadlineMs: 5_000 }) };
}

afterEach(() => vi.restoreAllMocks());

const rancherRow = async (r: ReturnType<typeof run>) =>
  (await r.results).find((x) => x.name === "rancher.ping");

describe("verify: Rancher answers (boundary)", () => {
  it("asks Rancher's /ping through the API server's service proxy and passes on pong", async () => {
    const r = run(withRancher(true), { stdout: "pong" });
    const row = await rancherRow(r);
    expect(row).toMatchObject({ status: "pass", scope: "rancher" });
    expect(row!.detail).toContain("https://rancher.example.org");
    expect(r.host.commands()).toContain(PING);
    // Rancher's namespaces join those whose pods must all run.
    const pods = (await r.results).filter((x) => x.name === "k8s.pods").map((x) => x.scope);
    expect(pods).toEqual(expect.arrayContaining(["cert-manager", "cattle-system"]));
  });

  it("no ready pod behind the Service: fails, saying a first start takes minutes", async () => {
    const row = await rancherRow(
      run(withRancher(true), {
        code: 1,
        stderr:
          'Error from server (ServiceUnavailable): no endpoints available for service "http:rancher:80"',
      }),
    );
    expect(row).toMatchObject({ status: "fail" });
    expect(row!.detail).toMatch(/no ready pod behind cattle-system\/rancher/);
    expect(row!.fix).toMatch(/first start takes minutes.*kubectl -n cattle-system get pods/);
  });

  it("no Service: fails, pointing at `powerstack up`", async () => {
    const row = await rancherRow(
      run(withRancher(true), {
        code: 1,
        stderr: 'Error from server (NotFound): services "rancher" not found',
      }),
    );
    expect(row).toMatchObject({ status: "fail" });
    expect(row!.fix).toMatch(/powerstack up/);
  });

  it("an answer that is not pong fails", async () => {
    const row = await rancherRow(run(withRancher(true), { stdout: "<html>404</html>" }));
    expect(row).toMatchObject({ status: "fail" });
    expect(row!.detail).toMatch(/not `pong`/);
  });

  it("the API unreadable: the Rancher check is skipped with the reason", async () => {
    const row = await rancherRow(
      run(
        withRancher(true),
        { stdout: "pong" },
        { code: 1, stdout: "", stderr: "The connection to the server 127.0.0.1:6443 was refused" },
      ),
    );
    expect(row).toMatchObject({ status: "skip" });
  });

  it("Rancher off: no ping, no Rancher row, no Rancher namespace", async () => {
    const r = run(withRancher(false), { stdout: "pong" });
    const results = await r.results;
    expect(results.some((x) => x.name === "rancher.ping")).toBe(false);
    expect(results.map((x) => x.scope)).not.toContain("cattle-system");
    expect(r.host.commands()).not.toContain(PING);
    expect(r.host.commands()).toHaveLength(4);
  });
});
