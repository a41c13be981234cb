/**
 * Every Redfish failure names the BMC (node and address), the request (method and URL path) and a fix.
 * Credentials never appear: messages are built from the URL path and the BMC's own error text, never
 * from request headers or bodies.
 */
import { ExitCode, PowerstackError } from "../errors.js";

export type RedfishErrorKind =
  | "unreachable" // no TCP connection: host down, wrong address or port, firewall
  | "timeout" // connected (or tried to) but no answer in time
  | "tls" // certificate rejected
  | "auth" // wrong user name or password
  | "session-limit" // the BMC refuses new sessions
  | "not-found" // 404 on a path the BMC itself advertised, or a missing resource
  | "not-allowed" // the action or value is not offered by this BMC
  | "precondition" // If-Match kept failing: someone else is changing the resource
  | "http" // any other unexpected status
  | "protocol"; // the answer is not what the Redfish schema promises

/** Where the request went: enough to find the BMC and reproduce the call, nothing secret. */
export interface RedfishTarget {
  /** Inventory node the BMC belongs to, when known. */
  node?: string;
  /** Base URL of the BMC, e.g. `https://10.0.1.12`. */
  address: string;
}

const exitCodes: Record<RedfishErrorKind, ExitCode> = {
  unreachable: ExitCode.unreachable,
  timeout: ExitCode.unreachable,
  tls: ExitCode.usage,
  auth: ExitCode.usage,
  "session-limit": ExitCode.failed,
  "not-found": ExitCode.failed,
  "not-allowed": ExitCode.failed,
  precondition: ExitCode.failed,
  http: ExitCode.failed,
  protocol: ExitCode.failed,
};

export function describeTarget(t: RedfishTarget): string {
  return t.node ? `BMC of ${t.node} (${t.address})` : `BMC ${t.address}`;
}

export class RedfishError extends PowerstackError {
  constructor(
    readonly kind: RedfishErrorKind,
    readonly target: RedfishTarget,
    /** `GET /redfish/v1/Systems`: the method and URL path of the request that failed. */
    readonly request: string,
    detail: string,
    fix?: string,
    /** HTTP status when the BMC answered. */
    readonly status?: number,
  ) {
    super(`${describeTarget(target)}: ${request}: ${detail}`, exitCodes[kind], fix);
  }
}
