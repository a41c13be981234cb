/**
 * Run many probes as one remote command. Each probe runs in its own subshell (so one probe's `exit` or
 * `cd` cannot touch the next) between markers carrying a random nonce, so file contents a probe prints
 * can never be mistaken for a marker.
 */
import { randomBytes } from "node:crypto";
import type { Host } from "../transport/host.js";
import { CommandError } from "../transport/errors.js";
import type { Probe, ShellProbe } from "./types.js";

export function batchScript(probes: Array<ShellProbe<unknown>>, nonce: string): string {
  return probes
    .map(
      (p, i) =>
        `printf '\\n@@${nonce}:${i}:begin\\n'; ( ${p.command}\n) 2>/dev/null; printf '\\n@@${nonce}:${i}:end:%d\\n' $?`,
    )
    .join("\n");
}

export function splitBatch(
  stdout: string,
  count: number,
  nonce: string,
): Array<{ stdout: string; code: number }> {
  const results: Array<{ stdout: string; code: number }> = [];
  for (let i = 0; i < count; i++) {
    const begin = `\n@@${nonce}:${i}:begin\n`;
    const endRe = new RegExp(`\\n@@${nonce}:${i}:end:(\\d+)\\n`);
    const b = stdout.indexOf(begin);
    const rest = b < 0 ? "" : stdout.slice(b + begin.length);
    const m = endRe.exec(rest);
    if (b < 0 || !m) throw new Error(`probe ${i} produced no result`);
    results.push({ stdout: rest.slice(0, m.index), code: Number(m[1]) });
  }
  return results;
}

/** Probe every given task: all shell probes in one round trip, local probes alongside; parse each. */
export async function runProbes(host: Host, probes: Array<Probe<unknown>>): Promise<unknown[]> {
  const shell = probes.filter((p): p is ShellProbe<unknown> => "command" in p);
  const local = Promise.all(probes.map((p) => ("local" in p ? p.local() : undefined)));
  let parsed: unknown[] = [];
  if (shell.length > 0) {
    const nonce = randomBytes(6).toString("hex");
    const r = await host.exec(batchScript(shell, nonce), { timeoutSec: 300 });
    let raw: Array<{ stdout: string; code: number }>;
    try {
      raw = splitBatch(r.stdout, shell.length, nonce);
    } catch {
      throw new CommandError(host.name, "probe state", r.code, r.stderr);
    }
    parsed = raw.map((o, i) => shell[i]!.parse(o.stdout, o.code));
  }
  const locals = await local;
  let k = 0;
  return probes.map((p, i) => ("command" in p ? parsed[k++] : locals[i]));
}
