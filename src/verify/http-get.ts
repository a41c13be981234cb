/**
 * One bounded HTTP GET for the service checks (Prometheus' targets, Grafana's login). A failure to get
 * an answer at all is "unreachable" (exit code 3) and says why in words: fetch hides the reason
 * (ECONNREFUSED, a timeout, a name that does not resolve) in `cause`.
 */
import { ExitCode, PowerstackError } from "../errors.js";

export interface HttpAnswer {
  status: number;
  text: string;
}

export interface HttpGetOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  /** What is asked, for the message: `Grafana`, `Prometheus`. */
  what: string;
  /** How to fix an unreachable service. */
  fix: string;
}

export async function httpGet(url: string, opts: HttpGetOptions): Promise<HttpAnswer> {
  try {
    const res = await fetch(url, {
      headers: opts.headers,
      redirect: "manual",
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    throw new PowerstackError(
      `cannot reach ${opts.what} at ${new URL(url).origin}: ${networkReason(err, opts.timeoutMs)}`,
      ExitCode.unreachable,
      opts.fix,
    );
  }
}

export function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${timeoutMs / 1000} s`;
  const code = e?.cause?.code;
  if (code === "ECONNREFUSED") return "connection refused (nothing listens on that port)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host name does not resolve";
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return "host unreachable";
  if (code === "ECONNRESET") return "connection reset";
  return e?.cause?.message ?? e?.message ?? String(err);
}
