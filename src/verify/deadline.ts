/**
 * Every check is bounded in time: a hung NFS mount, a BMC that accepts the connection and never answers,
 * or a kubectl waiting on a dead API server must cost one failed line, not the whole run. The underlying
 * operation has its own, longer timeout (SSH `timeout`, fetch abort, Redfish deadline); this bound is
 * what the report waits for.
 */
import { PowerstackError } from "../errors.js";
import { failFromError, type CheckName, type CheckResult, type Verdict } from "./check.js";

export class DeadlineError extends PowerstackError {
  constructor(what: string, seconds: number) {
    super(
      `${what}: no result within ${seconds} s`,
      undefined,
      "the target is hung or very slow: look at it directly, then rerun `powerstack verify`",
    );
  }
}

/** `promise`, or a DeadlineError after `ms`. The timer never keeps the process alive. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, Math.round(ms / 100) / 10)), ms);
    timer.unref();
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/**
 * Run one check: bounded, timed, and never throwing (a thrown error is a failed line with its fix).
 */
export async function runCheck(
  name: CheckName,
  scope: string,
  deadlineMs: number,
  fallbackFix: string,
  check: () => Promise<Verdict>,
): Promise<CheckResult> {
  const started = Date.now();
  let verdict: Verdict;
  try {
    verdict = await withDeadline(check(), deadlineMs, `${name} on ${scope}`);
  } catch (err) {
    verdict = failFromError(err, fallbackFix);
  }
  return { name, scope, ...verdict, ms: Date.now() - started };
}
