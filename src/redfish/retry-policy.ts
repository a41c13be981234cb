/**
 * How often and how patiently a BMC is asked again. BMCs answer 503 while busy (firmware tasks, too many
 * parallel requests) and drop keep-alive connections without warning; both pass within seconds. A wrong
 * password or a refused action never passes, so only those transient failures are retried.
 */
export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  /** Delay before the second try; doubled for each further try. */
  baseDelayMs: number;
  /** Upper bound on one delay, also applied to a BMC's `Retry-After`. */
  maxDelayMs: number;
}

/**
 * One retry by default (`bmc.retries: 1`): with the 10 s request timeout a BMC that accepts connections
 * and never answers is reported after about 20.5 s (`worstCaseMs`), not 85 s as with 4 × 20 s.
 */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 2, baseDelayMs: 500, maxDelayMs: 5_000 };

/**
 * The longest one request can take before it is reported, every try timing out: `attempts` timeouts plus
 * the backoff between them. What the defaults promise for a silent BMC (under 30 s).
 */
export function worstCaseMs(policy: RetryPolicy, timeoutMs: number): number {
  let total = 0;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    total += timeoutMs;
    if (attempt < policy.attempts) total += retryDelayMs(policy, attempt);
  }
  return total;
}

/** Delay before try number `attempt + 1` (attempt counts from 1), honouring a bounded `Retry-After`. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfter?: string | string[]): number {
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  if (header !== undefined && /^\d+$/.test(header.trim())) {
    return Math.min(policy.maxDelayMs, Number(header.trim()) * 1000);
  }
  return backoff;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
