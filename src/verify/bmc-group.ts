/**
 * The BMC check of every node, in parallel (each BMC is a separate machine): a power reading over
 * Redfish where the inventory names a BMC, a skip line where it names none.
 */
import type { NodeSpec } from "../inventory/types.js";
import type { RedfishClient } from "../redfish/client.js";
import { hasBmc, type NodeWithBmc } from "../redfish/from-inventory.js";
import { checkBmcPower } from "./bmc-power.js";
import { CHECKS, skip, type CheckResult } from "./check.js";
import { runCheck } from "./deadline.js";

export async function checkBmcGroup(
  nodes: NodeSpec[],
  clientFor: (node: NodeWithBmc) => RedfishClient,
  deadlineMs: number,
): Promise<CheckResult[]> {
  return Promise.all(
    nodes.map(async (node): Promise<CheckResult> => {
      if (!hasBmc(node)) return { name: CHECKS.bmc, scope: node.name, ...skip("no bmc in the inventory") };
      let client: RedfishClient | undefined;
      try {
        return await runCheck(
          CHECKS.bmc,
          node.name,
          deadlineMs,
          "check bmc.* of this node in the inventory",
          () => {
            client = clientFor(node);
            return checkBmcPower(client);
          },
        );
      } finally {
        // Deletes the session: XCC allows 16, and verify may run from CI every few minutes.
        await client?.close().catch(() => undefined);
      }
    }),
  );
}
