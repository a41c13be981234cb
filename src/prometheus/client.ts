/**
 * The few calls of Prometheus' HTTP API that energy accounting needs, over `fetch` (no client library:
 * a handful of endpoints do not justify a dependency). Every failure says which URL, what happened and the fix.
 *
 * Queries are POSTed as forms: PromQL for a dozen namespaces can outgrow a comfortable URL.
 */
import { ExitCode, PowerstackError } from "../errors.js";
import { promTime } from "./window.js";

export type Labels = Record<string, string>;

/** One series of an instant vector: its labels and the value at the evaluation time. */
export interface InstantSample {
  labels: Labels;
  value: number;
}

/** One series of a range vector: raw samples as `[timestamp ms, value]`, oldest first. */
export interface RawSeries {
  labels: Labels;
  samples: Array<[number, number]>;
}

interface ApiResponse {
  status: "success" | "error";
  data?: unknown;
  errorType?: string;
  error?: string;
}

const UNREACHABLE_FIX =
  "check that Prometheus runs and that the URL is right: pass --prometheus http://<host>:<port>, or fix the control node's " +
  "`external_ip` / `cluster.node_ports.prometheus` in the inventory (`powerstack verify` checks the monitoring stack)";

export class PrometheusClient {
  readonly url: string;

  constructor(
    url: string,
    private readonly timeoutMs = 30_000,
  ) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new PowerstackError(
        `Prometheus URL "${url}" is not a URL`,
        ExitCode.usage,
        "pass --prometheus http://<host>:<port>",
      );
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new PowerstackError(
        `Prometheus URL "${url}" is not http(s)`,
        ExitCode.usage,
        "pass --prometheus http://<host>:<port>",
      );
    }
    // Keep a path prefix (Prometheus behind a proxy at /prometheus), drop the trailing slash.
    this.url = parsed.toString().replace(/\/+$/, "");
  }

  /** Evaluate `expr` at `atMs`; the result must be an instant vector. */
  async instant(expr: string, atMs: number): Promise<InstantSample[]> {
    const data = await this.query(expr, atMs);
    if (data.resultType !== "vector") throw this.unexpected(expr, `a ${data.resultType}, expected a vector`);
    return (data.result as Array<{ metric: Labels; value: [number, string] }>).map((r) => ({
      labels: r.metric,
      value: Number(r.value[1]),
    }));
  }

  /** Evaluate a range selector (`metric{...}[5m]`) at `atMs`: the raw samples, as scraped. */
  async raw(expr: string, atMs: number): Promise<RawSeries[]> {
    const data = await this.query(expr, atMs);
    if (data.resultType !== "matrix") throw this.unexpected(expr, `a ${data.resultType}, expected a matrix`);
    return (data.result as Array<{ metric: Labels; values: Array<[number, string]> }>).map((r) => ({
      labels: r.metric,
      samples: r.values.map(([t, v]): [number, number] => [Math.round(t * 1000), Number(v)]),
    }));
  }

  /**
   * Evaluate `expr` at every `stepMs` from `fromMs` to `toMs` (query_range): one series per label set,
   * with a value at each step where the expression had one (absent steps are left out, not zero).
   */
  async range(expr: string, fromMs: number, toMs: number, stepMs: number): Promise<RawSeries[]> {
    const data = (await this.call("query_range", expr, {
      query: expr,
      start: promTime(fromMs),
      end: promTime(toMs),
      step: (stepMs / 1000).toFixed(3),
    })) as { resultType: string; result: unknown[] };
    if (data.resultType !== "matrix") throw this.unexpected(expr, `a ${data.resultType}, expected a matrix`);
    return (data.result as Array<{ metric: Labels; values: Array<[number, string]> }>).map((r) => ({
      labels: r.metric,
      samples: r.values.map(([t, v]): [number, number] => [Math.round(t * 1000), Number(v)]),
    }));
  }

  /** Label sets of the series matching `match` that have samples between the two times (index only: cheap). */
  async series(match: string, fromMs: number, toMs: number): Promise<Labels[]> {
    const data = await this.call("series", match, {
      "match[]": match,
      start: promTime(fromMs),
      end: promTime(toMs),
    });
    return data as unknown as Labels[];
  }

  private async query(expr: string, atMs: number): Promise<{ resultType: string; result: unknown[] }> {
    return (await this.call("query", expr, { query: expr, time: promTime(atMs) })) as {
      resultType: string;
      result: unknown[];
    };
  }

  private async call(
    api: "query" | "query_range" | "series",
    expr: string,
    form: Record<string, string>,
  ): Promise<unknown> {
    const endpoint = `${this.url}/api/v1/${api}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(form),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw new PowerstackError(
        `cannot reach Prometheus at ${this.url}: ${networkReason(err, this.timeoutMs)}`,
        ExitCode.unreachable,
        UNREACHABLE_FIX,
      );
    }
    let body: ApiResponse;
    try {
      body = JSON.parse(text) as ApiResponse;
    } catch {
      throw new PowerstackError(
        `${endpoint} answered HTTP ${res.status} with something other than Prometheus' JSON (${text.slice(0, 80).trim() || "empty body"})`,
        ExitCode.unreachable,
        "this URL is not Prometheus' API: point --prometheus (or cluster.node_ports.prometheus) at Prometheus itself, not Grafana or a login page",
      );
    }
    if (body.status !== "success" || !body.data) {
      throw new PowerstackError(
        `Prometheus at ${this.url} rejected the query \`${expr}\`: ${body.errorType ?? `HTTP ${res.status}`}: ${body.error ?? "no error text"}`,
        ExitCode.failed,
        body.errorType === "timeout" || res.status === 503
          ? "ask for a shorter window (--since / --from --to), or raise Prometheus' --query.timeout"
          : "this query is powerstack's: please report it with the message above",
      );
    }
    return body.data;
  }

  private unexpected(expr: string, what: string): PowerstackError {
    return new PowerstackError(
      `Prometheus at ${this.url} answered \`${expr}\` with ${what}`,
      ExitCode.failed,
      "please report this",
    );
  }
}

/** fetch's "fetch failed" hides the reason in `cause`: ECONNREFUSED, ENOTFOUND, a timeout. */
function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${timeoutMs / 1000} s`;
  const code = e?.cause?.code;
  if (code === "ECONNREFUSED") return "connection refused (nothing listens on that port)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host name does not resolve";
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return "host unreachable";
  return e?.cause?.message ?? e?.message ?? String(err);
}
