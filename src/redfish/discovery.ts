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
 * The one computer system this BMC controls. Power actions refuse to guess on a multi-node BMC: powering
 * off the wrong server is not a recoverable mistake.
 */
export function soleSystem(client: RedfishClient, layout: BmcLayout): MemberRef {
  const [first, ...rest] = layout.systems;
  if (!first) {
    throw new RedfishError(
      "protocol",
      client.target,
      `GET ${layout.systemsPath}`,
      "the BMC lists no computer system",
      "check that `bmc.address` is the server's BMC, not a chassis or enclosure manager",
    );
  }
  if (rest.length > 0) {
    throw new RedfishError(
      "protocol",
      client.target,
      `GET ${layout.systemsPath}`,
      `the BMC manages ${layout.systems.length} systems (${layout.systems.map((s) => s.id).join(", ")}); powerstack needs one BMC per node`,
      "point `bmc.address` at the node's own BMC",
    );
  }
  return first;
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
