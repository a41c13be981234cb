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

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 5_000 };

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
