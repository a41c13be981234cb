/**
 * A host's facts, read in batches and cached for the run.
 *
 * `read(refs)` sends every shell fact not yet cached as ONE remote command: each snippet runs in its own
 * subshell (so one snippet's `exit` or `cd` cannot touch the next) between markers carrying a random
 * nonce (so file contents a snippet prints can never be mistaken for a marker); its stderr goes to a temp
 * file that is printed (base64) only when not empty, which costs no extra process on a quiet read.
 * Local facts are read alongside. An action's `touches` drops just the facts it could change, so after a
 * change only those are read again, not every later task's.
 */
import { randomBytes } from "node:crypto";
import { CommandError } from "../transport/errors.js";
import type { Host } from "../transport/host.js";
import { isShellFact, type FactOutput, type FactRef, type ShellFact, type Touch } from "./fact.js";

export function batchScript(snippets: string[], nonce: string): string {
  const tmp = `E=$(mktemp) || exit 97; trap 'rm -f "$E"' EXIT`;
  return [
    tmp,
    ...snippets.map(
      (command, i) =>
        `printf '\\n@@${nonce}:${i}:begin\\n'; ( ${command}\n) 2>"$E"; printf '\\n@@${nonce}:${i}:end:%d\\n' $?; ` +
        `if [ -s "$E" ]; then printf '@@${nonce}:${i}:stderr:'; base64 -w0 "$E"; printf '\\n'; : >"$E"; fi`,
    ),
  ].join("\n");
}

export function splitBatch(stdout: string, count: number, nonce: string): FactOutput[] {
  const results: FactOutput[] = [];
  for (let i = 0; i < count; i++) {
    const begin = `\n@@${nonce}:${i}:begin\n`;
    const endRe = new RegExp(
      `\\n@@${nonce}:${i}:end:(\\d+)\\n(?:@@${nonce}:${i}:stderr:([A-Za-z0-9+/=]*)\\n)?`,
    );
    const b = stdout.indexOf(begin);
    const rest = b < 0 ? "" : stdout.slice(b + begin.length);
    const m = endRe.exec(rest);
    if (b < 0 || !m) throw new Error(`fact ${i} produced no result`);
    results.push({
      stdout: rest.slice(0, m.index),
      stderr: m[2] ? Buffer.from(m[2], "base64").toString("utf8") : "",
      code: Number(m[1]),
    });
  }
  return results;
}

export class FactCache {
  private readonly values = new Map<string, unknown>();
  /** Remote commands sent to read facts (for the command-count tests and the benchmark). */
  batches = 0;

  constructor(private readonly host: Host) {}

  has(ref: FactRef<unknown>): boolean {
    return this.values.has(ref.key);
  }

  /** The cached value; read(ref) must have run since the last invalidation that covered it. */
  get<T>(ref: FactRef<T>): T {
    if (!this.values.has(ref.key)) throw new Error(`fact ${ref.key} was not read`);
    return this.values.get(ref.key) as T;
  }

  /**
   * Read every fact of `refs` not cached yet: all shell facts in one round trip, local ones alongside.
   * With `failed`, a fact whose read fails is recorded there (by key, not cached) and the others are
   * still cached: `verify` reports each failed read as the finding of the check that needed it.
   */
  async read(refs: Iterable<FactRef<unknown>>, failed?: Map<string, unknown>): Promise<void> {
    const missing = new Map<string, FactRef<unknown>>();
    for (const r of refs) if (!this.values.has(r.key)) missing.set(r.key, r);
    if (missing.size === 0) return;
    const all = [...missing.values()];
    const shell = all.filter((r) => isShellFact(r.family));
    const local = Promise.all(
      all
        .filter((r) => !isShellFact(r.family))
        .map(async (r) => {
          try {
            return [r.key, await (r.family as { local(a: unknown): Promise<unknown> }).local(r.arg)] as const;
          } catch (err) {
            if (!failed) throw err;
            failed.set(r.key, err);
            return undefined;
          }
        }),
    );
    // Awaited below only if the shell read succeeds: when that fails first, a failing local read must not
    // be left an unhandled rejection (which ends the process).
    local.catch(() => undefined);
    // Parse everything before caching anything: a read that throws leaves the cache as it was.
    const parsed: Array<readonly [string, unknown]> = [];
    if (shell.length > 0) {
      const nonce = randomBytes(6).toString("hex");
      const facts = shell.map((r) => r.family as ShellFact<unknown, unknown>);
      this.batches++;
      const res = await this.host.exec(
        batchScript(
          shell.map((r, i) => facts[i]!.command(r.arg)),
          nonce,
        ),
        { timeoutSec: 300 },
      );
      let outs: FactOutput[];
      try {
        outs = splitBatch(res.stdout, shell.length, nonce);
      } catch {
        throw new CommandError(this.host.name, "read facts", res.code, res.stderr);
      }
      outs.forEach((o, i) => {
        try {
          parsed.push([shell[i]!.key, facts[i]!.parse(o, shell[i]!.arg)]);
        } catch (err) {
          if (!failed) throw err;
          failed.set(shell[i]!.key, err);
        }
      });
    }
    for (const l of await local) if (l) parsed.push(l);
    for (const [k, v] of parsed) this.values.set(k, v);
  }

  /** Forget what an action may have changed; no `touches` at all means it may have changed anything. */
  invalidate(touches: readonly Touch[] | undefined): void {
    if (touches === undefined) {
      this.values.clear();
      return;
    }
    for (const t of touches) {
      if ("family" in t) this.values.delete(t.key);
      else for (const k of [...this.values.keys()]) if (k.startsWith(`${t.name}:`)) this.values.delete(k);
    }
  }
}
