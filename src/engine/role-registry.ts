/**
 * Every role by name, loaded on demand: `up --only kernel` imports the kernel role and nothing else.
 */
import { pathToFileURL } from "node:url";
import { InputError } from "../errors.js";
import type { Role } from "./role.js";

const loaders: Record<string, () => Promise<{ role: Role }>> = {
  kernel: () => import("../../roles/kernel/index.js"),
  storage: () => import("../../roles/storage/index.js"),
  "nfs-server": () => import("../../roles/nfs-server/index.js"),
  "nfs-client": () => import("../../roles/nfs-client/index.js"),
  "k3s-server": () => import("../../roles/k3s-server/index.js"),
  "k3s-agent": () => import("../../roles/k3s-agent/index.js"),
  "k3s-ready": () => import("../../roles/k3s-ready/index.js"),
  helm: () => import("../../roles/helm/index.js"),
  kubeconfig: () => import("../../roles/kubeconfig/index.js"),
  redfish: () => import("../../roles/redfish/index.js"),
  "cluster-storage": () => import("../../roles/cluster-storage/index.js"),
  monitoring: () => import("../../roles/monitoring/index.js"),
  kepler: () => import("../../roles/kepler/index.js"),
  rancher: () => import("../../roles/rancher/index.js"),
  "teardown-rancher": () => import("../../roles/teardown-rancher/index.js"),
  "teardown-helm": () => import("../../roles/teardown-helm/index.js"),
  "teardown-cluster-storage": () => import("../../roles/teardown-cluster-storage/index.js"),
  "teardown-k3s-agent": () => import("../../roles/teardown-k3s-agent/index.js"),
  "teardown-k3s-server": () => import("../../roles/teardown-k3s-server/index.js"),
  "teardown-nfs-client": () => import("../../roles/teardown-nfs-client/index.js"),
  "teardown-nfs-server": () => import("../../roles/teardown-nfs-server/index.js"),
  "teardown-storage": () => import("../../roles/teardown-storage/index.js"),
  "teardown-purge-data": () => import("../../roles/teardown-purge-data/index.js"),
  "teardown-kernel": () => import("../../roles/teardown-kernel/index.js"),
};

export const ROLE_NAMES = Object.keys(loaders);

/** A role given as a path in a playbook (`./my-role/index.js`): a user's own role, loaded from that file. */
export const isRolePath = (name: string) =>
  name.startsWith("/") || name.startsWith("./") || name.startsWith("../");

export async function loadRole(name: string): Promise<Role> {
  if (isRolePath(name)) {
    const mod = (await import(pathToFileURL(name).href)) as { role?: Role };
    if (!mod.role)
      throw new InputError(
        `${name} does not export a \`role\``,
        "export const role: Role = { name, description, tasks }",
      );
    return mod.role;
  }
  const load = loaders[name];
  if (!load) throw new Error(`unknown role ${name}`);
  return (await load()).role;
}
