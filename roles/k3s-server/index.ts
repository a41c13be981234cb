/**
 * k3s-server (control node): the cluster token in the vault (kept, adopted from a running server, or
 * generated once), then the K3s server at the pinned version, on the internal IP, with the external
 * address as TLS SAN, configured with that token (which the agents join with, read from the same vault key).
 */
import { task } from "../../src/engine/types.js";
import { vaultOf, type Role } from "../../src/engine/role.js";
import { k3s } from "../../src/modules/k3s.js";
import { k3sToken } from "../../src/modules/k3s-token.js";
import { k3sConfig } from "./config.js";
import { installSource } from "./install-source.js";

export const role: Role = {
  name: "k3s-server",
  description:
    "K3s server (pinned version, node-ip, tls-san, token from the vault), restarted only when its config changes",
  tasks(ctx) {
    const { node, inventory, control } = ctx;
    const token = { name: inventory.cluster.k3s.tokenSecret, vault: vaultOf(ctx) };
    return {
      tasks: [
        task({ name: "cluster token in the vault", module: k3sToken, params: token }),
        task({
          name: `K3s server ${inventory.cluster.k3s.version}`,
          module: k3s,
          params: {
            kind: "server",
            version: inventory.cluster.k3s.version,
            config: (t) => k3sConfig("server", inventory, node, control, t),
            token,
            source: installSource(ctx),
          },
        }),
      ],
    };
  },
};
