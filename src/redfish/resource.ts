/**
 * Reading Redfish JSON without trusting its shape: every accessor returns undefined for a missing or
 * mistyped property, so a BMC that bends the schema yields "not available", not a TypeError.
 */
export type RedfishResource = Record<string, unknown>;

export function isObject(v: unknown): v is RedfishResource {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `res[key]["@odata.id"]`: the path of a linked resource. */
export function linkOf(res: unknown, key: string): string | undefined {
  if (!isObject(res)) return undefined;
  return odataId(res[key]);
}

export function odataId(v: unknown): string | undefined {
  if (!isObject(v)) return undefined;
  const id = v["@odata.id"];
  return typeof id === "string" && id.length > 0 ? id : undefined;
}

/** Paths in an array of links, e.g. a collection's `Members` or `Links.Chassis`. */
export function linkList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.map(odataId).filter((p): p is string => p !== undefined);
}

export function stringProp(res: unknown, key: string): string | undefined {
  if (!isObject(res)) return undefined;
  const v = res[key];
  return typeof v === "string" ? v : undefined;
}

/** The last segment of a resource path: its collection id (`/redfish/v1/Systems/abc/` -> `abc`). */
export function idOfPath(path: string): string {
  const parts = path.split("/").filter((p) => p.length > 0);
  return decodeURIComponent(parts[parts.length - 1] ?? path);
}

/**
 * The human part of a Redfish error body (`{"error": {"message", "@Message.ExtendedInfo": [...]}}`),
 * shortened: it goes into one line of an error message.
 */
export function errorBodyMessage(text: string): { message?: string; messageIds: string[] } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const plain = text.trim().replace(/\s+/g, " ");
    return { message: plain && !plain.startsWith("<") ? plain.slice(0, 200) : undefined, messageIds: [] };
  }
  const err = isObject(body) && isObject(body.error) ? body.error : undefined;
  const infos = err && Array.isArray(err["@Message.ExtendedInfo"]) ? err["@Message.ExtendedInfo"] : [];
  const messageIds = infos.map((i) => stringProp(i, "MessageId")).filter((m): m is string => m !== undefined);
  // ExtendedInfo usually says more than the generic top-level "A general error has occurred".
  const detailed = infos.map((i) => stringProp(i, "Message")).find((m) => m !== undefined);
  const message = detailed ?? stringProp(err, "message");
  return { message: message?.slice(0, 300), messageIds };
}
