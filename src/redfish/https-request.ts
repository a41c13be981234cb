/**
 * One HTTPS exchange with a BMC, bounded by a deadline. Knows nothing about Redfish: the client above
 * decides about auth, retries and status codes. Failures come back as a `TransportFailure` that says
 * whether the request may be retried and whether it could have reached the BMC.
 */
import { request, type Agent } from "node:https";
import type { IncomingHttpHeaders } from "node:http";
import { isCertificateError } from "./tls-trust.js";

export interface HttpsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface HttpsRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  agent: Agent;
  /** Whole exchange (connect, TLS, send, receive): a trickling BMC must not hold a run forever. */
  timeoutMs: number;
}

export type TransportFailureKind =
  /** Nothing was sent: refused, no route, name not resolved. */
  | "unreachable"
  /** The connection broke; the BMC may or may not have acted on the request. */
  | "reset"
  | "timeout"
  | "tls";

export class TransportFailure extends Error {
  constructor(
    readonly kind: TransportFailureKind,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = "TransportFailure";
  }
}

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL",
]);

function classify(err: NodeJS.ErrnoException): TransportFailure {
  if (err instanceof TransportFailure) return err;
  const code = err.code;
  if (isCertificateError(code))
    return new TransportFailure("tls", code, `certificate rejected (${code}: ${err.message})`);
  if (code && UNREACHABLE.has(code))
    return new TransportFailure("unreachable", code, `${code}: ${err.message}`);
  if (code === "ETIMEDOUT") return new TransportFailure("timeout", code, err.message);
  // ECONNRESET, EPIPE, "socket hang up" and TLS handshake aborts all mean the connection broke midway.
  return new TransportFailure("reset", code, code ? `${code}: ${err.message}` : err.message);
}

export function httpsRequest(req: HttpsRequest): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const body = req.body === undefined ? undefined : Buffer.from(req.body, "utf8");
    const headers = { ...req.headers };
    if (body) headers["Content-Length"] = String(body.length);

    const r = request(req.url, { method: req.method, headers, agent: req.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        finish(() =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        ),
      );
      res.on("error", (err) => finish(() => reject(classify(err))));
    });
    const timer = setTimeout(() => {
      const failure = new TransportFailure(
        "timeout",
        undefined,
        `no complete answer within ${req.timeoutMs} ms`,
      );
      finish(() => reject(failure));
      r.destroy(failure);
    }, req.timeoutMs);
    r.on("error", (err) => finish(() => reject(classify(err))));
    r.end(body);
  });
}
