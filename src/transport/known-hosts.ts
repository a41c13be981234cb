/**
 * OpenSSH known_hosts checking, so powerstack trusts exactly the hosts `ssh` would. Handles plain and
 * hashed (`|1|salt|hash`) host patterns, `[host]:port` entries, and `@revoked` markers. As OpenSSH does, a
 * host known by one key type is asked for that type first, and a key of another type is a changed key.
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

/** What known_hosts says about a presented key. `otherType`: the host is known, only by keys of other types
 *  (OpenSSH reports that as a changed key, never as a new one). */
export type HostKeyCheck =
  | { verdict: "match" | "unknown" | "mismatch" }
  | { verdict: "otherType"; knownTypes: string[] }
  | { verdict: "revoked"; line: number };

interface KnownLine {
  line: number;
  marker: string | undefined;
  patterns: string[];
  type: string;
  key: string;
}

function readKnownLines(file: string): KnownLine[] {
  if (!existsSync(file)) return [];
  const lines: KnownLine[] = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((raw, i) => {
      const text = raw.trim();
      if (!text || text.startsWith("#")) return;
      const fields = text.split(/\s+/);
      const marker = fields[0]!.startsWith("@") ? fields.shift() : undefined;
      const [patterns, type, key] = fields;
      if (!patterns || !type || !key) return;
      lines.push({ line: i + 1, marker, patterns: patterns.split(","), type, key });
    });
  return lines;
}

function lineMatchesHost(entry: KnownLine, name: string): boolean {
  const negated = entry.patterns.some((p) => p.startsWith("!") && patternMatches(p.slice(1), name));
  return !negated && entry.patterns.some((p) => !p.startsWith("!") && patternMatches(p, name));
}

/**
 * Check `blob` against every line of `file`. A key marked `@revoked` is refused wherever its line is (before
 * or after a plain line trusting it) and whatever host pattern it carries: a revoked key is never trusted.
 */
export function inspectHostKey(file: string, host: string, port: number, blob: Buffer): HostKeyCheck {
  const name = knownHostsName(host, port);
  const type = keyType(blob);
  const b64 = blob.toString("base64");
  const lines = readKnownLines(file);
  const revoked = lines.find((l) => l.marker === "@revoked" && l.key === b64);
  if (revoked) return { verdict: "revoked", line: revoked.line };
  // @cert-authority: certificates are not supported; such lines count as no entry.
  const mine = lines.filter((l) => l.marker === undefined && lineMatchesHost(l, name));
  if (mine.some((l) => l.type === type && l.key === b64)) return { verdict: "match" };
  if (mine.some((l) => l.type === type)) return { verdict: "mismatch" };
  if (mine.length > 0) return { verdict: "otherType", knownTypes: [...new Set(mine.map((l) => l.type))] };
  return { verdict: "unknown" };
}

export function checkHostKey(file: string, host: string, port: number, blob: Buffer): HostKeyVerdict {
  const { verdict } = inspectHostKey(file, host, port, blob);
  return verdict === "otherType" ? "mismatch" : verdict;
}

/** ssh2's default host key algorithms, in its order of preference. */
const HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
];

/** The signature algorithms that prove a key of this known_hosts type. */
function algorithmsFor(type: string): string[] {
  if (type === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  return HOST_KEY_ALGORITHMS.includes(type) ? [type] : [];
}

/**
 * The host key algorithms to offer, as OpenSSH orders them: the types known_hosts already holds for this
 * host first, so a host known only by its RSA or ECDSA key is asked for that key, not for its ed25519 one.
 * Undefined (ssh2's default) when nothing is known.
 */
export function hostKeyAlgorithms(file: string, host: string, port: number): string[] | undefined {
  const name = knownHostsName(host, port);
  let lines: KnownLine[];
  try {
    lines = readKnownLines(file);
  } catch {
    return undefined; // the host key check reports an unreadable file
  }
  const known = lines.filter((l) => l.marker === undefined && lineMatchesHost(l, name));
  const first = [...new Set(known.flatMap((l) => algorithmsFor(l.type)))];
  if (first.length === 0) return undefined;
  return [...first, ...HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
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
  let check: HostKeyCheck;
  try {
    check = inspectHostKey(file, host, port, blob);
  } catch (err) {
    if (policy === "off") return { ok: true };
    return {
      ok: false,
      reason: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      fix: "check the file and its permissions (ssh.known_hosts_file)",
    };
  }
  // `off` skips checking, but, as with OpenSSH's StrictHostKeyChecking=no, a revoked key stays refused.
  if (policy === "off" && check.verdict !== "revoked") return { ok: true };
  const name = knownHostsName(host, port);
  const type = keyType(blob);
  const removeFix = `if the node was reinstalled: ssh-keygen -f ${file} -R '${name}', then connect again`;
  switch (check.verdict) {
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
        reason: `HOST KEY MISMATCH for ${name}: the ${type} key differs from the one in ${file} (possible man-in-the-middle, or a reinstalled node)`,
        fix: removeFix,
      };
    case "otherType":
      // Never learned, also not under accept-new: an attacker without the known key would offer another type.
      return {
        ok: false,
        reason: `HOST KEY MISMATCH for ${name}: it offered a ${type} key, and ${file} knows it only by its ${check.knownTypes.join(", ")} key (possible man-in-the-middle, or a reinstalled node)`,
        fix: removeFix,
      };
    case "revoked":
      return {
        ok: false,
        reason: `host key of ${name} (${type}) is marked @revoked in ${file}:${check.line}`,
        fix: "investigate the node before trusting it; it will not be accepted while that line is there",
      };
  }
}
