/**
 * redfish (every node with a BMC; from the operator's machine): service root, credentials, a power
 * reading (Kepler's platform power), and IPMI over LAN enabled where the inventory asks.
 */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { bmc } from "../../src/modules/bmc.js";
import { hasBmc, inventoryClientFactory } from "../../src/redfish/from-inventory.js";

export const role: Role = {
  name: "redfish",
  description: "each BMC answers Redfish with a power reading; IPMI over LAN enabled where asked",
  tasks: ({ node, secret }) => {
    if (!hasBmc(node)) return { tasks: [] };
    const clientFor = inventoryClientFactory(secret);
    return {
      tasks: [
        task({
          name: `BMC ${node.bmc.address}`,
          module: bmc,
          params: {
            address: node.bmc.address,
            client: () => clientFor(node),
            enableIpmi: node.bmc.ipmiOverLan,
          },
        }),
      ],
    };
  },
};
