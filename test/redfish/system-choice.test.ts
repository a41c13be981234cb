/**
 * Issue 19, item 9: a BMC that lists two computer systems. One rule for `up` (checkBmc), `verify`
 * (checkBmcPower) and `power` (soleSystem): the inventory's `bmc.system_id` chooses; without it, several
 * systems is an error naming the ids found and the fix. Before, `up` and `verify` silently used the first.
 */
import { afterEach, describe, expect, it } from "vitest";
import { parseInventory } from "../../src/inventory/load.js";
import { checkBmc } from "../../src/redfish/bmc-check.js";
import type { RedfishClient } from "../../src/redfish/client.js";
import { discover, soleSystem } from "../../src/redfish/discovery.js";
import { RedfishError } from "../../src/redfish/errors.js";
import { hasBmc } from "../../src/redfish/from-inventory.js";
import { checkBmcPower } from "../../src/verify/bmc-power.js";
import { clientFor, testClientFactory } from "./helpers.js";
import { startTestBmc, type TestBmc } from "./server/server.js";

let bmc: TestBmc | undefined;
let client: RedfishClient | undefined;

afterEach(async () => {
  await client?.close();
  await bmc?.stop();
  bmc = client = undefined;
});

const FIX = "set `system_id` in node node2's `bmc:` to one of: 437XR1138R2, BLADE-2";

async function twoSystems(systemId?: string) {
  bmc = await startTestBmc({ extraSystems: ["BLADE-2"] });
  client = clientFor(bmc, systemId !== undefined ? { systemId } : {});
  return { bmc, client };
}

describe("a BMC with two systems", () => {
  it("up refuses to guess: the check fails naming both ids and the fix", async () => {
    const { bmc, client } = await twoSystems();
    const r = await checkBmc(client, { enableIpmi: true, check: false });
    expect(r.status).toBe("failed");
    expect(r.msg).toContain(
      "the BMC manages 2 systems (437XR1138R2, BLADE-2) and the inventory does not say which one this node is",
    );
    expect(r.msg).toContain(`(fix: ${FIX}; or point \`bmc.address\` at the node's own BMC)`);
    // Nothing read from either system, nothing changed.
    expect(bmc.requestsTo("GET", /^\/redfish\/v1\/Systems\/./)).toHaveLength(0);
    expect(bmc.requests.some((x) => x.method === "PATCH")).toBe(false);
  });

  it("verify refuses the same way", async () => {
    const { client } = await twoSystems();
    const err = await checkBmcPower(client).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedfishError);
    expect((err as RedfishError).message).toMatch(/manages 2 systems \(437XR1138R2, BLADE-2\)/);
    expect((err as RedfishError).fix).toContain(FIX);
  });

  it("power refuses the same way", async () => {
    const { client } = await twoSystems();
    const layout = await discover(client);
    expect(() => soleSystem(client, layout)).toThrow(/manages 2 systems \(437XR1138R2, BLADE-2\)/);
  });

  it("bmc.system_id chooses, for up, verify and power alike", async () => {
    const { bmc, client } = await twoSystems("437XR1138R2");
    const r = await checkBmc(client, { enableIpmi: false, check: false });
    expect(r).toEqual({
      status: "ok",
      msg: "Redfish 1.15.0, session auth, system 437XR1138R2, 245 W",
      watts: 245,
    });
    expect((await checkBmcPower(client)).status).toBe("pass");
    expect(soleSystem(client, await discover(client)).id).toBe("437XR1138R2");
    expect(bmc.requestsTo("GET", "/redfish/v1/Systems/BLADE-2")).toHaveLength(0);
  });

  it("a system_id the BMC does not list names the ids it does list", async () => {
    const { client } = await twoSystems("1");
    const r = await checkBmc(client, { enableIpmi: false, check: false });
    expect(r.status).toBe("failed");
    expect(r.msg).toContain("`bmc.system_id: 1` is not among the BMC's systems (437XR1138R2, BLADE-2)");
    expect(r.msg).toContain(`(fix: ${FIX})`);
  });

  it("the inventory's bmc.system_id reaches the client", async () => {
    bmc = await startTestBmc({ extraSystems: ["BLADE-2"] });
    const inv = parseInventory(
      `cluster: { nfs_network: 198.51.100.0/24 }
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, storage_disk: /dev/vdb, bmc: { address: "${bmc.address}", username: USERID, password_secret: bmc_password, insecure: true, system_id: BLADE-2 } }
`,
      "/srv/inv.yaml",
    );
    const node = inv.nodes[0]!;
    expect(node.bmc?.systemId).toBe("BLADE-2");
    if (!hasBmc(node)) throw new Error("no bmc");
    client = testClientFactory()(node);
    expect(client.systemId).toBe("BLADE-2");
    expect(soleSystem(client, await discover(client)).id).toBe("BLADE-2");
  });

  it("one system needs no system_id (and still checks one that is given)", async () => {
    bmc = await startTestBmc();
    client = clientFor(bmc);
    expect(soleSystem(client, await discover(client)).id).toBe("437XR1138R2");
    const r = await checkBmc(client, { enableIpmi: false, check: false });
    expect(r.msg).toBe("Redfish 1.15.0, session auth, 245 W");
  });
});
