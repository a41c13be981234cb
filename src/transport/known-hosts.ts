/**
 * OpenSSH known_hosts checking, so powerstack trusts exactly the hosts `ssh` would. Handles plain and
 * hashed (`|1|salt|hash`) host patterns, `[host]:port` entries, and `@revoked` markers.
 */
import { createHmac } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { HostKeyPolicy } from "../inventory/types.js";

export type HostKeyVerdict = "match" | "unknown" | "mismatch" | "revoked";

/** The name OpenSSH stores for a host: plain for port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The key type is the first length-prefixed string of the public key blob (e.g. `ssh-ed25519`). */
export function keyType(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString("ascii");
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    if (!salt || !hash) return false;
    const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
    return mac === hash;
  }
  // Wildcards (`*`, `?`) as OpenSSH allows them in host patterns.
  const re = new RegExp(
    "^" +
      pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".") +
      "$",
  );
  return re.test(name);
}

export function checkHostKey(file: string, host: string, port: number, blob: Buffer): HostKeyVerdict {
  if (!existsSync(file)) return "unknown";
  const name = knownHostsName(host, port);
  const type = keyType(blob);
  const b64 = blob.toString("base64");
  let sameTypeOther = false;
  for (const raw of readFileSync(file, "utf8").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]!.startsWith("@") ? fields.shift() : undefined;
    const [patterns, lineType, lineKey] = fields;
    if (!patterns || !lineType || !lineKey) continue;
    const list = patterns.split(",");
    const negated = list.some((p) => p.startsWith("!") && patternMatches(p.slice(1), name));
    if (negated || !list.some((p) => !p.startsWith("!") && patternMatches(p, name))) continue;
    if (marker === "@revoked" && lineKey === b64) return "revoked";
    if (marker) continue; // @cert-authority: certificates are not supported; treat as no entry
    if (lineType === type && lineKey === b64) return "match";
    if (lineType === type) sameTypeOther = true;
  }
  return sameTypeOther ? "mismatch" : "unknown";
}

export function rememberHostKey(file: string, host: string, port: number, blob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${knownHostsName(host, port)} ${keyType(blob)} ${blob.toString("base64")}\n`, {
    mode: 0o600,
  });
}

/** Decide whether to trust a presented key under the inventory's policy; `reason` explains a refusal. */
export function verifyHostKey(
  policy: HostKeyPolicy,
  file: string,
  host: string,
  port: number,
  blob: Buffer,
): { ok: true } | { ok: false; reason: string; fix: string } {
  if (policy === "off") return { ok: true };
  const verdict = checkHostKey(file, host, port, blob);
  const name = knownHostsName(host, port);
  switch (verdict) {
    case "match":
      return { ok: true };
    case "unknown":
      if (policy === "accept-new") {
        rememberHostKey(file, host, port, blob);
        return { ok: true };
      }
      return {
        ok: false,
        reason: `host key of ${name} is not in ${file}`,
        fix: `check the key and add it (ssh-keyscan -p ${port} ${host} >> ${file}), or set ssh.known_hosts: accept-new`,
      };
    case "mismatch":
      return {
        ok: false,
        reason: `HOST KEY MISMATCH for ${name}: the ${keyType(blob)} key differs from the one in ${file} (possible man-in-the-middle, or a reinstalled node)`,
        fix: `if the node was reinstalled: ssh-keygen -f ${file} -R '${name}', then connect again`,
      };
    case "revoked":
      return {
        ok: false,
        reason: `host key of ${name} is marked @revoked in ${file}`,
        fix: "investigate the node before trusting it",
      };
  }
}
