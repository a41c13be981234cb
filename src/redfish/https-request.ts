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
  | "tls"
  /** The port answered the TLS handshake in plain HTTP: an http:// service behind an https:// address. */
  | "plain-http";

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

// What OpenSSL says when the first bytes back are not a TLS record but text such as `HTTP/1.1 400`: "wrong
// version number" (OpenSSL 3), "packet length too long" / "http request" (older or other directions).
const PLAIN_HTTP = /wrong version number|packet length too long|http request|unknown protocol/i;

/**
 * OpenSSL's error text, made one readable line: `write EPROTO 80CC...:error:0A00010B:SSL
 * routines:ssl3_get_record:wrong version number:../deps/openssl/...c:350:\n` -> `wrong version number`.
 */
export function oneLine(message: string): string {
  const ssl = /error:[0-9A-F]+:[^:]*:[^:]*:([^:\n]+)/i.exec(message);
  const text = ssl ? ssl[1]! : message;
  return text.replace(/\s+/g, " ").trim();
}

function classify(err: NodeJS.ErrnoException): TransportFailure {
  if (err instanceof TransportFailure) return err;
  const code = err.code;
  const message = oneLine(err.message);
  if (isCertificateError(code))
    return new TransportFailure("tls", code, `certificate rejected (${code}: ${message})`);
  if (code && UNREACHABLE.has(code)) return new TransportFailure("unreachable", code, `${code}: ${message}`);
  if (code === "ETIMEDOUT") return new TransportFailure("timeout", code, message);
  if (PLAIN_HTTP.test(err.message))
    return new TransportFailure(
      "plain-http",
      code,
      `this port speaks plain HTTP, not HTTPS (TLS: ${message})`,
    );
  // ECONNRESET, EPIPE, "socket hang up" and TLS handshake aborts all mean the connection broke midway.
  return new TransportFailure("reset", code, code ? `${code}: ${message}` : message);
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
