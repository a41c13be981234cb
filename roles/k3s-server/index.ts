/**
 * k3s-server (control node): the K3s server at the pinned version, on the internal IP, with the external
 * address as TLS SAN. Its token is what the agents join with (handed to the next play via run state).
 */
import type { Role } from "../../src/engine/role.js";
import { k3s } from "../../src/modules/k3s.js";
import { k3sConfig } from "./config.js";
import { installSource } from "./install-source.js";
import { clusterToken } from "./token.js";

export const role: Role = {
  name: "k3s-server",
  description:
    "K3s server (pinned version, node-ip, tls-san, token from the vault), restarted only when its config changes",
  async tasks(ctx) {
    const { node, inventory, control } = ctx;
    const token = await clusterToken(ctx);
    ctx.state.k3sToken = token;
    const config = k3sConfig("server", inventory, node, control, token);
    return {
      tasks: [
        {
          name: `K3s server ${inventory.cluster.k3s.version}`,
          module: k3s,
          params: {
            kind: "server",
            version: inventory.cluster.k3s.version,
            config,
            source: installSource(ctx),
          },
        },
      ],
    };
  },
};
