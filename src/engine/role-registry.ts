/**
 * Every role by name, loaded on demand: `up --only kernel` imports the kernel role and nothing else.
 */
import type { Role } from "./role.js";

const loaders: Record<string, () => Promise<{ role: Role }>> = {
  kernel: () => import("../../roles/kernel/index.js"),
  storage: () => import("../../roles/storage/index.js"),
  "nfs-server": () => import("../../roles/nfs-server/index.js"),
  "nfs-client": () => import("../../roles/nfs-client/index.js"),
};

export const ROLE_NAMES = Object.keys(loaders);

export async function loadRole(name: string): Promise<Role> {
  const load = loaders[name];
  if (!load) throw new Error(`unknown role ${name}`);
  return (await load()).role;
}
