/**
 * k3s-agent (workers): joins the server on its INTERNAL address. Agents get agent keys only (no
 * server flags: k3s-ansible #342).
 */
import type { Role } from "../../src/engine/role.js";
import { k3s } from "../../src/modules/k3s.js";
import { renderTemplate } from "../../src/templates/render.js";
import { installSource } from "../k3s-server/index.js";

export const role: Role = {
  name: "k3s-agent",
  description: "K3s agents joining the server's internal address with the vault's token",
  tasks(ctx) {
    const { node, control, inventory } = ctx;
    const token = (ctx.state.k3sToken as string | undefined) ?? ctx.secret(inventory.cluster.k3s.tokenSecret);
    const config = renderTemplate("k3s-config.yaml.hbs", {
      server: false,
      serverUrl: `https://${control.internalIp}:6443`,
      internalIp: node.internalIp,
      externalIp: node.externalIp,
      token,
      flannelIface: node.flannelIface,
    });
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
