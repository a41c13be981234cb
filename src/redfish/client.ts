/**
 * A Redfish client for one BMC, alive for one run.
 *
 * - Auth: one session per run (`POST .../Sessions`: any 2xx with `X-Auth-Token` is a login, 200, 201 or
 *   DMTF's 204 with a relative `Location`), deleted by `close()`, because a BMC that re-checks a password
 *   on every request is slow and some lock accounts on bursts of Basic logins; Basic auth when the BMC
 *   offers no sessions. Every client that may hold a session is in a registry until closed, so a Ctrl-C
 *   handler can log all of them out (`closeAllSessions()`): XCC allows 16 open sessions.
 * - TLS: a BMC's self-signed certificate is accepted only when pinned (`caFile`) or waived (`insecure`).
 * - Every request has a deadline (`bmc.timeout_sec`, default 10 s); 503s, broken connections and a
 *   GET that timed out are retried with backoff `bmc.retries` times (default 1); a 401 never is, nor a
 *   port that speaks plain HTTP. A BMC that accepts and never answers is reported after about 20.5 s.
 * - Errors name the BMC, the request and the fix; the password and the session token never appear in an
 *   error or a log line.
 */
import type { IncomingHttpHeaders } from "node:http";
import { Agent } from "node:https";
import { RedfishError, describeTarget, type RedfishTarget } from "./errors.js";
import { httpsRequest, TransportFailure, type HttpsResponse } from "./https-request.js";
import { errorBodyMessage, isObject, linkOf, stringProp, type RedfishResource } from "./resource.js";
import { DEFAULT_RETRY, retryDelayMs, sleep, type RetryPolicy } from "./retry-policy.js";
import { certificateFix, tlsAgentOptions } from "./tls-trust.js";

export type AuthMode = "session" | "basic";

export interface RedfishClientOptions {
  /** Inventory node this BMC belongs to: every error names it. */
  node?: string;
  /** `https://host[:port]`. */
  address: string;
  username: string;
  password: string;
  insecure?: boolean;
  caFile?: string;
  /** Where the password comes from, for the fix of an auth error (e.g. "vault key `bmc_password`"). */
  passwordSource?: string;
  /** `auto`: a session when the BMC offers them, else Basic. `basic`: never create a session. */
  auth?: "auto" | "basic";
  /** Deadline for one request, connect to last byte (default `DEFAULT_TIMEOUT_MS`). */
  timeoutMs?: number;
  /** `bmc.system_id`: the computer system this node is, on a BMC that lists several (`chooseSystem`). */
  systemId?: string;
  retry?: Partial<RetryPolicy>;
  /** Run-log sink: method, path, status, timing. Never headers or bodies. */
  log?: (event: string, data: Record<string, unknown>) => void;
}

export interface RedfishReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: RedfishResource;
}

export interface ReadResult {
  body: RedfishResource;
  /** `@odata.etag` of the body, else the `ETag` header: what a PATCH sends back as `If-Match`. */
  etag?: string;
}

export const SERVICE_ROOT = "/redfish/v1/";
/** `bmc.timeout_sec` default: with one retry a silent BMC is reported within about 20.5 s. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Deadline for the logout at close: it must not hold up the end of a run (or a Ctrl-C). */
const LOGOUT_TIMEOUT_MS = 3_000;

/**
 * Clients that may hold a session on a BMC: from their first login until `close()`. A SIGINT handler
 * calls `closeAllSessions()` so an interrupted run leaves no session open.
 */
const live = new Set<RedfishClient>();

/** How many clients may still hold a session (for tests and the run log). */
export function openClientCount(): number {
  return live.size;
}

/**
 * Log out of every session still open (Ctrl-C, a fatal error) and drop the connections; never throws.
 * Bounded: each logout has its own short deadline and they run in parallel, so this takes at most about
 * `LOGOUT_TIMEOUT_MS` plus a login that was in flight. Returns how many clients were closed.
 */
export async function closeAllSessions(): Promise<number> {
  const clients = [...live];
  await Promise.allSettled(clients.map((c) => c.close()));
  return clients.length;
}

// Said differently by every vendor: DMTF `Base.x.SessionLimitExceeded`, iDRAC "maximum number of user
// sessions is reached" (with a 503, which must not be retried blindly), others "too many sessions".
const SESSION_LIMIT =
  /SessionLimitExceeded|maximum number of (?:user )?sessions|session limit|too many (?:open |active )?sessions/i;

type Method = "GET" | "POST" | "PATCH" | "DELETE";

interface Session {
  token: string;
  /** Path to DELETE at close; undefined when the BMC gave neither `Location` nor `@odata.id`. */
  path?: string;
}

/**
 * For a CLI command that talks to BMCs (`up`, `verify`, `power`): on SIGINT or SIGTERM, log out of every
 * open session, then exit 130 / 143. Returns the function that removes the handlers (call it when the
 * command ends). A second signal while logging out exits at once.
 */
export function closeSessionsOnSignal(
  exit: (code: number) => void = (code) => process.exit(code),
  signals: Pick<NodeJS.EventEmitter, "on" | "off"> = process,
): () => void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    const code = signal === "SIGINT" ? 130 : 143;
    if (closing) return exit(code);
    closing = true;
    void closeAllSessions().finally(() => exit(code));
  };
  signals.on("SIGINT", handler);
  signals.on("SIGTERM", handler);
  return () => {
    signals.off("SIGINT", handler);
    signals.off("SIGTERM", handler);
  };
}

export class RedfishClient {
  readonly target: RedfishTarget;
  /** `bmc.system_id`, when the inventory chooses among several systems. */
  readonly systemId: string | undefined;
  private readonly agent: Agent;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private mode: AuthMode | undefined;
  private session: Session | undefined;
  private loggingIn: Promise<AuthMode> | undefined;
  private root: RedfishResource | undefined;
  private closed = false;

  constructor(private readonly opts: RedfishClientOptions) {
    this.target = { node: opts.node, address: opts.address.replace(/\/+$/, "") };
    this.systemId = opts.systemId;
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.agent = new Agent({
      keepAlive: true,
      // BMCs are small: a few parallel connections is what they handle well.
      maxSockets: 4,
      ...tlsAgentOptions(
        { insecure: opts.insecure ?? false, caFile: opts.caFile },
        describeTarget(this.target),
      ),
    });
  }

  /** How this client authenticates, once logged in. */
  get authMode(): AuthMode | undefined {
    return this.mode;
  }

  /** `GET /redfish/v1/`, the one resource a BMC serves without credentials. Cached for the run. */
  async serviceRoot(): Promise<RedfishResource> {
    if (!this.root) {
      const res = await this.exchange("GET", SERVICE_ROOT, { auth: false });
      this.expectSuccess(res, "GET", SERVICE_ROOT);
      this.root = this.parse(res, "GET", SERVICE_ROOT);
    }
    return this.root;
  }

  /** Authenticate now (otherwise the first request does): proves the credentials. */
  login(): Promise<AuthMode> {
    if (this.mode) return Promise.resolve(this.mode);
    if (this.closed) return Promise.reject(this.closedError());
    live.add(this);
    // Parallel first requests share one login rather than opening a session each.
    this.loggingIn ??= this.doLogin().finally(() => (this.loggingIn = undefined));
    return this.loggingIn;
  }

  async get(path: string): Promise<RedfishResource> {
    return (await this.read(path)).body;
  }

  async read(path: string): Promise<ReadResult> {
    const res = await this.request("GET", path);
    this.expectSuccess(res, "GET", path);
    const body = this.parse(res, "GET", path);
    const header = res.headers.etag;
    return {
      body,
      etag: stringProp(body, "@odata.etag") ?? (typeof header === "string" ? header : undefined),
    };
  }

  async post(path: string, body: unknown): Promise<RedfishReply> {
    const res = await this.request("POST", path, JSON.stringify(body));
    this.expectSuccess(res, "POST", path);
    return { status: res.status, headers: res.headers, body: this.parse(res, "POST", path) };
  }

  /**
   * PATCH guarded by `If-Match` so a concurrent change (BMC web UI, another tool) is not overwritten.
   * On 412 the resource is read again and the PATCH retried once with the fresh etag; a second 412
   * means someone keeps changing it, and that is reported rather than fought.
   */
  async patch(path: string, body: unknown, etag?: string): Promise<RedfishReply> {
    let ifMatch = etag;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = ifMatch ? { "If-Match": ifMatch } : {};
      const res = await this.request("PATCH", path, JSON.stringify(body), headers);
      // 428: the BMC insists on If-Match and we had no etag; same remedy as a stale one.
      if ((res.status === 412 || res.status === 428) && attempt === 1) {
        this.log("redfish.etag-retry", { path, status: res.status });
        ifMatch = (await this.read(path)).etag;
        continue;
      }
      if (res.status === 412 || res.status === 428) {
        throw new RedfishError(
          "precondition",
          this.target,
          `PATCH ${path}`,
          `the resource changed again between reading and writing it (HTTP ${res.status}, If-Match rejected twice)`,
          "something else (the BMC web UI, another tool, a firmware task) is changing this setting; retry when it is done",
          res.status,
        );
      }
      this.expectSuccess(res, "PATCH", path);
      return { status: res.status, headers: res.headers, body: this.parse(res, "PATCH", path) };
    }
  }

  async delete(path: string): Promise<RedfishReply> {
    const res = await this.request("DELETE", path);
    this.expectSuccess(res, "DELETE", path);
    return { status: res.status, headers: res.headers, body: this.parse(res, "DELETE", path) };
  }

  /**
   * Log out (DELETE the session) and drop connections. Never throws: a failed logout must not hide the
   * run's real result, and the BMC expires the session on its own (it is logged for the operator).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.loggingIn) await this.loggingIn.catch(() => undefined);
      const session = this.session;
      if (session) await this.logout(session);
    } finally {
      this.session = undefined;
      this.mode = undefined;
      this.closed = true;
      live.delete(this);
      this.agent.destroy();
    }
  }

  // ---- authentication -------------------------------------------------------------------------------

  /** DELETE a session, once, with a short deadline; logged, never thrown. */
  private async logout(session: Session, auth?: Record<string, string>): Promise<void> {
    if (!session.path) return;
    try {
      const res = await this.exchange("DELETE", session.path, {
        auth: false,
        headers: auth ?? { "X-Auth-Token": session.token },
        attempts: 1,
        timeoutMs: Math.min(this.timeoutMs, LOGOUT_TIMEOUT_MS),
      });
      if (res.status >= 300 && res.status !== 404) {
        this.log("redfish.logout-failed", { path: session.path, status: res.status });
      } else {
        this.log("redfish.logout", { path: session.path, status: res.status });
      }
    } catch (err) {
      this.log("redfish.logout-failed", { path: session.path, error: (err as Error).message });
    }
  }

  private closedError(): Error {
    return new Error(`${describeTarget(this.target)}: client used after close()`);
  }

  private async doLogin(): Promise<AuthMode> {
    const root = await this.serviceRoot();
    const sessionsPath = linkOf(isObject(root.Links) ? root.Links : undefined, "Sessions");
    if (this.opts.auth !== "basic" && sessionsPath) {
      const request = `POST ${sessionsPath}`;
      const res = await this.exchange("POST", sessionsPath, {
        auth: false,
        body: JSON.stringify({ UserName: this.opts.username, Password: this.opts.password }),
      });
      // Some BMCs answer a bad login with 400 "invalid credentials" rather than 401.
      const badLogin = res.status === 400 && /credential|unauthori/i.test(res.text);
      if (res.status === 401 || res.status === 403 || badLogin) throw this.authError(request, res);
      // Any 2xx is a created session: 201 (the spec), 200 (some firmware), 204 with no body (DMTF's server).
      if (res.status >= 200 && res.status < 300) {
        const token = res.headers["x-auth-token"];
        const path = sessionPath(res, this.target.address);
        if (typeof token !== "string" || token.length === 0) {
          // A session may exist on the BMC now; delete it with Basic credentials, as nothing else can.
          if (path) await this.logout({ token: "", path }, this.basicHeader());
          throw new RedfishError(
            "protocol",
            this.target,
            request,
            `session created (HTTP ${res.status}) but no X-Auth-Token header was returned`,
            "use Basic auth for this BMC, or update its firmware",
            res.status,
          );
        }
        if (!path) this.log("redfish.session-without-location", { path: sessionsPath });
        this.session = { token, path };
        this.mode = "session";
        this.log("redfish.login", { mode: "session", status: res.status });
        return this.mode;
      }
      // The BMC advertises sessions but refuses to create them this way: fall back to Basic.
      if (res.status !== 404 && res.status !== 405 && res.status !== 501) {
        this.expectSuccess(res, "POST", sessionsPath);
      }
    }
    // Basic: the credentials are only known to be good once an authenticated GET succeeds.
    this.mode = "basic";
    const probe = linkOf(root, "Systems") ?? "/redfish/v1/Systems";
    const res = await this.exchange("GET", probe, { auth: true });
    if (res.status === 401 || res.status === 403) {
      this.mode = undefined;
      throw this.authError(`GET ${probe}`, res);
    }
    this.log("redfish.login", { mode: "basic", status: res.status });
    return this.mode;
  }

  private authError(request: string, res: HttpsResponse): RedfishError {
    const source = this.opts.passwordSource ? ` and the password in ${this.opts.passwordSource}` : "";
    if (res.status === 403 && !/credential|password|unauthori/i.test(res.text)) {
      return new RedfishError(
        "auth",
        this.target,
        request,
        `user \`${this.opts.username}\` is not allowed to do this (HTTP 403)`,
        "give the BMC user the Operator or Administrator role (power control and network settings need it)",
        res.status,
      );
    }
    return new RedfishError(
      "auth",
      this.target,
      request,
      `wrong user name or password for user \`${this.opts.username}\` (HTTP ${res.status})`,
      `check \`bmc.username\`${source}; after repeated failures a BMC may lock the account for a while`,
      res.status,
    );
  }

  private authHeader(): Record<string, string> {
    if (this.mode === "session" && this.session) return { "X-Auth-Token": this.session.token };
    return this.basicHeader();
  }

  private basicHeader(): Record<string, string> {
    const basic = Buffer.from(`${this.opts.username}:${this.opts.password}`, "utf8").toString("base64");
    return { Authorization: `Basic ${basic}` };
  }

  /** An authenticated request; renews an expired session once (a long wait can outlive its timeout). */
  private async request(
    method: Method,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<HttpsResponse> {
    if (this.closed) throw this.closedError();
    await this.login();
    let res = await this.exchange(method, path, { auth: true, body, headers });
    if (res.status === 401 && this.mode === "session") {
      this.log("redfish.session-expired", { path });
      const old = this.session;
      this.session = undefined;
      this.mode = undefined;
      await this.login();
      // Usually gone already (404); if the BMC merely refused it, it must not stay open.
      const fresh = this.session as Session | undefined;
      if (old?.path && old.path !== fresh?.path) await this.logout(old, this.authHeader());
      res = await this.exchange(method, path, { auth: true, body, headers });
    }
    if (res.status === 401) throw this.authError(`${method} ${path}`, res);
    return res;
  }

  // ---- transport with retries -----------------------------------------------------------------------

  private async exchange(
    method: Method,
    path: string,
    {
      auth,
      body,
      headers = {},
      attempts = this.retry.attempts,
      timeoutMs = this.timeoutMs,
    }: {
      auth: boolean;
      body?: string;
      headers?: Record<string, string>;
      attempts?: number;
      timeoutMs?: number;
    },
  ): Promise<HttpsResponse> {
    const url = new URL(path, this.target.address + "/");
    const request = `${method} ${url.pathname}`;
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      const all: Record<string, string> = {
        Accept: "application/json",
        "OData-Version": "4.0",
        ...(body !== undefined ? { "Content-Type": "application/json; charset=utf-8" } : {}),
        ...(auth ? this.authHeader() : {}),
        ...headers,
      };
      let res: HttpsResponse;
      try {
        res = await httpsRequest({
          url,
          method,
          headers: all,
          body,
          agent: this.agent,
          timeoutMs,
        });
      } catch (err) {
        if (!(err instanceof TransportFailure)) throw err;
        this.log("redfish.request", {
          method,
          path: url.pathname,
          error: err.kind,
          code: err.code,
          ms: Date.now() - started,
          attempt,
        });
        if (attempt < attempts && this.mayRetry(method, err)) {
          await sleep(retryDelayMs(this.retry, attempt));
          continue;
        }
        throw this.transportError(request, err, attempt);
      }
      this.log("redfish.request", {
        method,
        path: url.pathname,
        status: res.status,
        ms: Date.now() - started,
        attempt,
      });
      if (res.status >= 400 && SESSION_LIMIT.test(res.text)) {
        throw new RedfishError(
          "session-limit",
          this.target,
          request,
          `the BMC refuses new sessions: its limit of open sessions is reached (HTTP ${res.status}${this.bmcSays(res)})`,
          "log out stale sessions in the BMC web UI (its list of active sessions) or wait for them to time out; powerstack logs out of its own session at the end of every run",
          res.status,
        );
      }
      if (res.status === 503 && attempt < attempts) {
        await sleep(retryDelayMs(this.retry, attempt, res.headers["retry-after"]));
        continue;
      }
      return res;
    }
  }

  /**
   * A request that never left is always safe to repeat. One that may have reached the BMC is repeated
   * only when doing it twice is harmless: a GET, a DELETE, a PATCH (same values). A POST (new session,
   * reset action) is not, and a timed-out write may still be running on the BMC.
   */
  private mayRetry(method: Method, err: TransportFailure): boolean {
    if (err.kind === "tls" || err.kind === "plain-http") return false;
    if (err.kind === "unreachable") return true;
    if (err.kind === "timeout") return method === "GET";
    return method !== "POST";
  }

  private transportError(request: string, err: TransportFailure, attempts: number): RedfishError {
    const tries = attempts > 1 ? ` (${attempts} attempts)` : "";
    switch (err.kind) {
      case "tls":
        return new RedfishError(
          "tls",
          this.target,
          request,
          err.message,
          certificateFix(err.code, { insecure: this.opts.insecure ?? false, caFile: this.opts.caFile }),
        );
      case "plain-http":
        return new RedfishError(
          "tls",
          this.target,
          request,
          err.message,
          "Redfish needs HTTPS: put the BMC's HTTPS port in `bmc.address` (`https://host` for 443), not its plain HTTP port",
        );
      case "unreachable":
        return new RedfishError(
          "unreachable",
          this.target,
          request,
          `unreachable: ${err.message}${tries}`,
          "check `bmc.address` (scheme, host, port), that the BMC is powered and on the network, and that no firewall blocks HTTPS to it",
        );
      case "timeout":
        return new RedfishError(
          "timeout",
          this.target,
          request,
          `no answer: ${err.message}${tries}`,
          "the BMC is slow or overloaded: retry in a minute; if it persists, reset the BMC (not the server) from its web UI",
        );
      case "reset":
        return new RedfishError(
          "unreachable",
          this.target,
          request,
          `connection broken: ${err.message}${tries}`,
          "the BMC dropped the connection: retry; if it persists, check that `bmc.address` points at the BMC's HTTPS port",
        );
    }
  }

  // ---- responses --------------------------------------------------------------------------------------

  private bmcSays(res: HttpsResponse): string {
    const { message } = errorBodyMessage(res.text);
    return message ? `; the BMC says: ${message}` : "";
  }

  private expectSuccess(res: HttpsResponse, method: Method, path: string): void {
    if (res.status >= 200 && res.status < 300) return;
    const request = `${method} ${path}`;
    if (res.status === 401 || res.status === 403) throw this.authError(request, res);
    if (res.status === 404) {
      throw new RedfishError(
        "not-found",
        this.target,
        request,
        `not found (HTTP 404${this.bmcSays(res)})`,
        "this BMC's firmware does not offer this resource; check the firmware version supports it",
        404,
      );
    }
    if (res.status === 405 || res.status === 501) {
      throw new RedfishError(
        "not-allowed",
        this.target,
        request,
        `the BMC does not support this (HTTP ${res.status}${this.bmcSays(res)})`,
        "update the BMC firmware or make this change in its web UI",
        res.status,
      );
    }
    throw new RedfishError(
      "http",
      this.target,
      request,
      `HTTP ${res.status}${this.bmcSays(res)}`,
      "read the BMC's message; the run log lists every request made to it",
      res.status,
    );
  }

  private parse(res: HttpsResponse, method: Method, path: string): RedfishResource {
    if (res.text.trim() === "") return {};
    const body = safeJson(res.text);
    if (!isObject(body)) {
      throw new RedfishError(
        "protocol",
        this.target,
        `${method} ${path}`,
        `the answer is not a JSON object (HTTP ${res.status}, ${res.text.length} bytes)`,
        "check that `bmc.address` points at the BMC's Redfish service, not another web server",
        res.status,
      );
    }
    return body;
  }

  private log(event: string, data: Record<string, unknown>): void {
    this.opts.log?.(event, { bmc: this.target.address, node: this.target.node, ...data });
  }
}

/** Where to DELETE a new session: its `Location` (absolute or relative), else the body's `@odata.id`. */
function sessionPath(res: HttpsResponse, base: string): string | undefined {
  const location = res.headers.location;
  if (typeof location === "string" && location) return new URL(location, base + "/").pathname;
  return stringProp(safeJson(res.text), "@odata.id");
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
