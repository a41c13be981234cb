/**
 * The cluster token: from the vault; else adopted from a server that already runs (a vault that lost its
 * token must not split the cluster, k3s-ansible #294); else generated once. Either way it is stored in
 * the vault at once, so every later run and every agent uses the same one.
 */
import { randomBytes } from "node:crypto";
import type { RoleContext } from "../../src/engine/role.js";

export const SERVER_TOKEN_FILE = "/var/lib/rancher/k3s/server/token";

export async function clusterToken(ctx: RoleContext): Promise<string> {
  const key = ctx.inventory.cluster.k3s.tokenSecret;
  if (ctx.hasSecret(key)) return ctx.secret(key);
  const existing = (await ctx.host.exec(`cat ${SERVER_TOKEN_FILE} 2>/dev/null`)).stdout.trim();
  const token = existing || randomBytes(32).toString("hex");
  await ctx.storeSecret(key, token);
  return token;
}
