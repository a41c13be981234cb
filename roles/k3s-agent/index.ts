/**
 * k3s-agent (workers): joins the server on its INTERNAL address. Agents get agent keys only (no
 * server flags: k3s-ansible #342).
 */
import type { Role } from "../../src/engine/role.js";
import { k3s } from "../../src/modules/k3s.js";
import { k3sConfig } from "../k3s-server/config.js";
import { installSource } from "../k3s-server/install-source.js";

export const role: Role = {
  name: "k3s-agent",
  description: "K3s agents joining the server's internal address with the vault's token",
  tasks(ctx) {
    const { node, control, inventory } = ctx;
    const token = (ctx.state.k3sToken as string | undefined) ?? ctx.secret(inventory.cluster.k3s.tokenSecret);
    const config = k3sConfig("agent", inventory, node, control, token);
    return {
      tasks: [
        {
          name: `K3s agent ${inventory.cluster.k3s.version}`,
          module: k3s,
          params: {
            kind: "agent",
            version: inventory.cluster.k3s.version,
            config,
            source: installSource(ctx),
          },
        },
      ],
    };
  },
};
