/** Where K3s comes from on every node: the internet (get.k3s.io) or the air-gap artifacts directory. */
import type { RoleContext } from "../../src/engine/role.js";
import type { K3sInstallSource } from "../../src/modules/k3s.js";

export function installSource(ctx: RoleContext): K3sInstallSource {
  const { install, artifactsDir } = ctx.inventory.cluster.k3s;
  return install === "airgap" ? { mode: "airgap", dir: artifactsDir! } : { mode: "online" };
}
