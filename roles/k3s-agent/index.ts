/**
 * k3s-agent (workers): joins the server on its INTERNAL address. Agents get agent keys only (no
 * server flags: k3s-ansible #342).
 */
import { task } from "../../src/engine/types.js";
import { vaultOf, type Role } from "../../src/engine/role.js";
import { k3s } from "../../src/modules/k3s.js";
import { k3sConfig } from "../k3s-server/config.js";
import { installSource } from "../k3s-server/install-source.js";

export const role: Role = {
  name: "k3s-agent",
  description: "K3s agents joining the server's internal address with the vault's token",
  tasks(ctx) {
    const { node, control, inventory } = ctx;
    return {
      tasks: [
        task({
          name: `K3s agent ${inventory.cluster.k3s.version}`,
          module: k3s,
          params: {
            kind: "agent",
            version: inventory.cluster.k3s.version,
            // The token the server's play stored in the vault (read when planning, like any fact).
            config: (t) => k3sConfig("agent", inventory, node, control, t),
            token: { name: inventory.cluster.k3s.tokenSecret, vault: vaultOf(ctx) },
            source: installSource(ctx),
          },
        }),
      ],
    };
  },
};
