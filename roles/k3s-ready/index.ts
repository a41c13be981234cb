/** k3s-ready (control node): every inventory node registered and Ready, within a bounded wait. */
import { task } from "../../src/engine/types.js";
import type { Role } from "../../src/engine/role.js";
import { nodesReady } from "../../src/modules/nodes-ready.js";

export const READY_TIMEOUT_SEC = 300;

export const role: Role = {
  name: "k3s-ready",
  description: "wait (bounded) for every node to be Ready, naming the ones that are not",
  tasks: ({ inventory }) => ({
    tasks: [
      task({
        name: "all nodes Ready",
        module: nodesReady,
        params: { nodes: inventory.nodes.map((n) => n.name), timeoutSec: READY_TIMEOUT_SEC },
      }),
    ],
  }),
};
