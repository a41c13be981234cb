/**
 * Where a BMC keeps its systems, chassis and managers. Ids differ by vendor (`1` on Lenovo XCC,
 * `System.Embedded.1` on iDRAC, a serial number on others), so they are read from the collections the
 * service root links to, never assumed.
 */
import type { RedfishClient } from "./client.js";
import { RedfishError } from "./errors.js";
import { idOfPath, isObject, linkList, linkOf, stringProp } from "./resource.js";

export interface MemberRef {
  id: string;
  /** `@odata.id` as the BMC wrote it: used verbatim for requests. */
  path: string;
}

export interface BmcLayout {
  /** `RedfishVersion` of the service root, when given. */
  redfishVersion?: string;
  /** Path of the Systems collection, for error messages. */
  systemsPath: string;
  systems: MemberRef[];
  chassis: MemberRef[];
  managers: MemberRef[];
}

// A collection with a `Members@odata.nextLink` chain longer than this is broken, not big.
const MAX_PAGES = 20;

export async function discover(client: RedfishClient): Promise<BmcLayout> {
  const root = await client.serviceRoot();
  const [systems, chassis, managers] = await Promise.all(
    (["Systems", "Chassis", "Managers"] as const).map((name) => listCollection(client, linkOf(root, name))),
  );
  return {
    redfishVersion: stringProp(root, "RedfishVersion"),
    systemsPath: linkOf(root, "Systems") ?? "(no Systems link in the service root)",
    systems: systems!,
    chassis: chassis!,
    managers: managers!,
  };
}

/** All members of a collection, following `Members@odata.nextLink` pages. */
export async function listCollection(client: RedfishClient, path: string | undefined): Promise<MemberRef[]> {
  if (!path) return [];
  const members: MemberRef[] = [];
  let next: string | undefined = path;
  for (let page = 0; next && page < MAX_PAGES; page++) {
    const body = await client.get(next);
    for (const p of linkList(body.Members)) members.push({ id: idOfPath(p), path: p });
    const link: unknown = body["Members@odata.nextLink"];
    next = typeof link === "string" && link.length > 0 ? link : undefined;
  }
  return members;
}

/**
 * The computer system this node is, by one rule for `up`, `verify` and `power`: `bmc.system_id` from the
 * inventory when set (it must be listed); else the BMC's only system; several without a choice is an
 * error naming the ids found and the fix (guessing could read, or power off, the wrong server). A BMC
 * listing no system gives undefined: reading power is still possible, controlling it is not.
 */
export function chooseSystem(client: RedfishClient, layout: BmcLayout): MemberRef | undefined {
  const ids = layout.systems.map((s) => s.id);
  const where = client.target.node ? `node ${client.target.node}'s \`bmc:\`` : "the node's `bmc:`";
  const wanted = client.systemId;
  if (wanted !== undefined) {
    const found = layout.systems.find((s) => s.id === wanted || samePath(s.path, wanted));
    if (found) return found;
    throw new RedfishError(
      "not-found",
      client.target,
      `GET ${layout.systemsPath}`,
      `\`bmc.system_id: ${wanted}\` is not among the BMC's systems (${ids.join(", ") || "none listed"})`,
      `set \`system_id\` in ${where} to one of: ${ids.join(", ") || "(none)"}`,
    );
  }
  const [first, ...rest] = layout.systems;
  if (rest.length > 0) {
    throw new RedfishError(
      "protocol",
      client.target,
      `GET ${layout.systemsPath}`,
      `the BMC manages ${layout.systems.length} systems (${ids.join(", ")}) and the inventory does not say which one this node is`,
      `set \`system_id\` in ${where} to one of: ${ids.join(", ")}; or point \`bmc.address\` at the node's own BMC`,
    );
  }
  return first;
}

/** `chooseSystem`, for power actions: a BMC without a system cannot power anything. */
export function soleSystem(client: RedfishClient, layout: BmcLayout): MemberRef {
  const system = chooseSystem(client, layout);
  if (!system) {
    throw new RedfishError(
      "protocol",
      client.target,
      `GET ${layout.systemsPath}`,
      "the BMC lists no computer system",
      "check that `bmc.address` is the server's BMC, not a chassis or enclosure manager",
    );
  }
  return system;
}

/**
 * Chassis to read power from, best first: those the system links to (its own enclosure), then the rest
 * of the collection in the BMC's order.
 */
export function chassisFor(system: unknown, layout: BmcLayout): MemberRef[] {
  const linked = isObject(system) && isObject(system.Links) ? linkList(system.Links.Chassis) : [];
  const first = linked.map(
    (p) => layout.chassis.find((c) => samePath(c.path, p)) ?? { id: idOfPath(p), path: p },
  );
  return [...first, ...layout.chassis.filter((c) => !first.some((f) => samePath(f.path, c.path)))];
}

/** The manager (BMC) of the system: `Links.ManagedBy`, else the first manager listed. */
export function managerFor(system: unknown, layout: BmcLayout): MemberRef | undefined {
  const managedBy = isObject(system) && isObject(system.Links) ? linkList(system.Links.ManagedBy) : [];
  const p = managedBy[0];
  if (p) return layout.managers.find((m) => samePath(m.path, p)) ?? { id: idOfPath(p), path: p };
  return layout.managers[0];
}

export function samePath(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}
