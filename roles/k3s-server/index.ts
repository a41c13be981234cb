/**
 * k3s-server (control node): the K3s server at the pinned version, on the internal IP, with the external
 * address as TLS SAN. Its token is what the agents join with (handed to the next play via run state).
 */
import type { Role, RoleContext } from "../../src/engine/role.js";
import { k3s, type K3sInstallSource } from "../../src/modules/k3s.js";
import { renderTemplate } from "../../src/templates/render.js";
import { clusterToken } from "./token.js";

export function installSource(ctx: RoleContext): K3sInstallSource {
  const { install, artifactsDir } = ctx.inventory.cluster.k3s;
  return install === "airgap" ? { mode: "airgap", dir: artifactsDir! } : { mode: "online" };
}

export const role: Role = {
  name: "k3s-server",
  description:
    "K3s server (pinned version, node-ip, tls-san, token from the vault), restarted only when its config changes",
  async tasks(ctx) {
    const { node, inventory } = ctx;
    const token = await clusterToken(ctx);
    ctx.state.k3sToken = token;
    const config = renderTemplate("k3s-config.yaml.hbs", {
      server: true,
      internalIp: node.internalIp,
      externalIp: node.externalIp,
      token,
      flannelIface: node.flannelIface,
      disable: inventory.cluster.k3s.disable,
    });
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
