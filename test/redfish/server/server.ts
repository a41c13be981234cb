/**
 * A Redfish service over HTTPS on 127.0.0.1 (ephemeral port), behaving like a BMC as the Redfish
 * specification (DSP0266) and Lenovo XCC describe it, and cross-checked with DMTF's `redfishtool`
 * (test/redfish/server-redfishtool.test.ts), so it is not shaped to powerstack's client:
 *
 * - `/redfish`, `/redfish/v1/` and `POST .../Sessions` are open; everything else answers 401 without
 *   a valid `X-Auth-Token` or (when enabled) Basic credentials.
 * - Sessions: 201 + `X-Auth-Token` + `Location`; a limit (16, like XCC) answered with
 *   `SessionLimitExceeded` on a 503, the status iDRAC uses, which a naive client would retry.
 * - Etags on the system and NetworkProtocol; PATCH needs `If-Match` (428 without, 412 when stale).
 * - `ComputerSystem.Reset` honours its AllowableValues and moves PowerState through PoweringOff/On.
 * - Faults on demand: a status (503) a number of times, a connection reset, a slow answer, a concurrent
 *   change of a resource just before a PATCH.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { makeSelfSignedCert, type TestCert } from "./certs.js";
import { DEFAULT_MOCKUP, errorBody, Mockup, V1, type MockupOptions, type MockupState } from "./mockup.js";

export interface TestBmcOptions extends Partial<MockupOptions> {
  users?: Record<string, string>;
  sessionLimit?: number;
  /** Accept `Authorization: Basic` (XCC does). */
  basicAuth?: boolean;
  powerState?: MockupState["powerState"];
  ipmiEnabled?: boolean;
  /** Time spent in PoweringOff / PoweringOn after a reset. */
  transitionMs?: number;
  /** The OS ignores GracefulShutdown (no ACPI handler): PowerState stays On. */
  ignoreGracefulShutdown?: boolean;
  /** Answer a successful PATCH with 204 instead of 200 + body. */
  patchNoContent?: boolean;
  /**
   * How a successful login is answered: `201` (default, the spec), `204` (DMTF's Redfish-Mockup-Server:
   * no body, a relative Location), or `201-no-token` (a session is made but no X-Auth-Token is sent).
   */
  loginReply?: "201" | "204" | "201-no-token";
  /** Reuse a certificate (e.g. one whose SAN does not name 127.0.0.1). */
  cert?: TestCert;
}

export interface FaultMatch {
  method?: string;
  /** Exact path, or a RegExp tested against it. */
  path?: string | RegExp;
}

export type Fault = FaultMatch & { times?: number } & (
    | { kind: "status"; status: number; retryAfter?: number }
    | { kind: "reset" }
    | { kind: "delay"; ms: number }
    /** Someone else changes the resource just before this request is handled (stale etag -> 412). */
    | { kind: "concurrent-change" }
  );

export interface RecordedRequest {
  method: string;
  path: string;
  auth: "none" | "basic" | "session" | "invalid";
  ifMatch?: string;
  status?: number;
  body?: unknown;
}

export const DEFAULT_USER = "USERID";
export const DEFAULT_PASSWORD = "PASSW0RD-test";

export class TestBmc {
  readonly requests: RecordedRequest[] = [];
  /** Called for each request as it arrives, e.g. to interleave it with kubectl calls in a timeline. */
  readonly onRequest: Array<(r: RecordedRequest) => void> = [];
  readonly state: MockupState;
  readonly mockup: Mockup;
  readonly cert: TestCert;
  private readonly faults: Array<Fault & { left: number }> = [];
  private server: Server | undefined;
  private timers = new Set<NodeJS.Timeout>();
  private port = 0;

  constructor(readonly options: TestBmcOptions = {}) {
    this.state = {
      powerState: options.powerState ?? "On",
      ipmiEnabled: options.ipmiEnabled ?? false,
      versions: new Map(),
      sessions: new Map(),
    };
    this.mockup = new Mockup({ ...DEFAULT_MOCKUP, ...options }, this.state);
    this.cert = options.cert ?? makeSelfSignedCert();
  }

  /** `https://127.0.0.1:<port>` once started. */
  get address(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  get paths(): Mockup["paths"] {
    return this.mockup.paths;
  }

  async start(): Promise<this> {
    this.server = createServer({ key: this.cert.key, cert: this.cert.cert }, (req, res) => {
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) this.send(res, 500, errorBody("InternalError", err.message));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (!this.options.cert) this.cert.remove();
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  /** Requests other than the open service root, for assertions. */
  requestsTo(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.method === method && (typeof path === "string" ? r.path === path : path.test(r.path)),
    );
  }

  // ---- request handling -----------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "https://bmc");
    // Redfish allows a trailing slash on any URI; resources are keyed without it.
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    const method = req.method ?? "GET";
    const text = await readBody(req);
    const record: RecordedRequest = { method, path, auth: "none" };
    if (typeof req.headers["if-match"] === "string") record.ifMatch = req.headers["if-match"];
    if (text) record.body = parseJson(text);
    this.requests.push(record);
    for (const hook of this.onRequest) hook(record);
    const reply = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      this.send(res, status, body, headers);
    };

    for (const fault of this.faults) {
      if (fault.left <= 0 || !matches(fault, method, path)) continue;
      fault.left--;
      if (fault.kind === "reset") {
        record.status = 0;
        req.socket.destroy();
        return;
      }
      if (fault.kind === "delay") await new Promise<void>((r) => this.later(() => r(), fault.ms));
      if (fault.kind === "concurrent-change") this.mockup.bump(path);
      if (fault.kind === "status") {
        const headers: Record<string, string> =
          fault.retryAfter !== undefined ? { "Retry-After": String(fault.retryAfter) } : {};
        return reply(
          fault.status,
          errorBody(
            fault.status === 503 ? "ServiceTemporarilyUnavailable" : "GeneralError",
            `injected HTTP ${fault.status}`,
          ),
          headers,
        );
      }
    }

    // Open resources (DSP0266: the service root and the versions document need no authentication).
    if (method === "GET" && (path === "/redfish" || path === V1)) {
      return reply(200, path === "/redfish" ? { v1: `${V1}/` } : this.mockup.render(V1));
    }
    if (method === "POST" && path === this.paths.sessions && this.mockup.opts.sessions) {
      return this.createSession(text, reply);
    }
    if (method === "POST" && path === this.paths.sessions) {
      return reply(405, errorBody("OperationNotAllowed", "Sessions are not supported by this service."));
    }

    record.auth = this.authenticate(req);
    if (record.auth === "none" || record.auth === "invalid") {
      const challenge: Record<string, string> =
        this.options.basicAuth !== false ? { "WWW-Authenticate": 'Basic realm="Redfish"' } : {};
      return reply(
        401,
        errorBody("NoValidSession", "There is no valid session established with the implementation."),
        challenge,
      );
    }

    if (method === "GET") {
      const body = this.mockup.render(path);
      if (!body)
        return reply(
          404,
          errorBody("ResourceNotFound", `The requested resource of type ${path} was not found.`),
        );
      const etag = typeof body["@odata.etag"] === "string" ? { ETag: body["@odata.etag"] } : {};
      return reply(200, body, etag as Record<string, string>);
    }
    if (method === "DELETE" && path.startsWith(`${this.paths.sessions}/`)) {
      const id = path.slice(this.paths.sessions.length + 1);
      if (!this.state.sessions.delete(id))
        return reply(404, errorBody("ResourceNotFound", "No such session."));
      return reply(204);
    }
    if (method === "POST" && path === this.paths.reset) return this.reset(record.body, reply);
    if (method === "PATCH" && path === this.paths.networkProtocol)
      return this.patchNetworkProtocol(req, record.body, reply);
    if (this.mockup.render(path))
      return reply(405, errorBody("OperationNotAllowed", `${method} is not allowed on ${path}.`));
    return reply(404, errorBody("ResourceNotFound", `The requested resource of type ${path} was not found.`));
  }

  private authenticate(req: IncomingMessage): RecordedRequest["auth"] {
    const token = req.headers["x-auth-token"];
    if (typeof token === "string") {
      return [...this.state.sessions.values()].some((s) => s.token === token) ? "session" : "invalid";
    }
    const auth = req.headers.authorization;
    if (typeof auth === "string" && auth.startsWith("Basic ")) {
      if (this.options.basicAuth === false) return "invalid";
      const [user, ...rest] = Buffer.from(auth.slice(6), "base64").toString("utf8").split(":");
      return this.checkPassword(user ?? "", rest.join(":")) ? "basic" : "invalid";
    }
    return "none";
  }

  private checkPassword(user: string, password: string): boolean {
    const users = this.options.users ?? { [DEFAULT_USER]: DEFAULT_PASSWORD };
    return Object.prototype.hasOwnProperty.call(users, user) && users[user] === password;
  }

  private createSession(text: string, reply: Reply): void {
    const body = parseJson(text) as { UserName?: unknown; Password?: unknown } | undefined;
    if (!body || typeof body.UserName !== "string" || typeof body.Password !== "string") {
      return reply(
        400,
        errorBody(
          "PropertyMissing",
          "The property UserName or Password is a required property and must be included in the request.",
        ),
      );
    }
    if (!this.checkPassword(body.UserName, body.Password)) {
      return reply(
        401,
        errorBody(
          "ResourceAtUriUnauthorized",
          "While accessing the resource at /redfish/v1/SessionService/Sessions, the service received an authorization error unauthorized.",
        ),
      );
    }
    if (this.state.sessions.size >= (this.options.sessionLimit ?? 16)) {
      return reply(
        503,
        errorBody(
          "SessionLimitExceeded",
          "The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.",
          "Reduce the number of other sessions before trying to establish the session or increase the limit of simultaneous sessions (if supported).",
        ),
      );
    }
    const id = randomBytes(6).toString("hex");
    const token = randomBytes(16).toString("hex");
    this.state.sessions.set(id, { id, token, user: body.UserName });
    const location = `${this.paths.sessions}/${id}`;
    const how = this.options.loginReply ?? "201";
    if (how === "204") return reply(204, undefined, { "X-Auth-Token": token, Location: location });
    if (how === "201-no-token") return reply(201, this.mockup.render(location), { Location: location });
    reply(201, this.mockup.render(location), { "X-Auth-Token": token, Location: location });
  }

  private reset(body: unknown, reply: Reply): void {
    const type = (body as { ResetType?: unknown } | undefined)?.ResetType;
    if (typeof type !== "string" || !this.mockup.opts.resetTypes.includes(type)) {
      return reply(
        400,
        errorBody(
          "ActionParameterNotSupported",
          `The parameter ResetType for the action ComputerSystem.Reset is not supported on the target resource.`,
        ),
      );
    }
    const s = this.state;
    const settle = (transient: MockupState["powerState"], final: MockupState["powerState"]) => {
      const ms = this.options.transitionMs ?? 50;
      s.powerState = transient;
      this.mockup.bump(this.paths.system);
      this.later(() => {
        s.powerState = final;
        this.mockup.bump(this.paths.system);
      }, ms);
    };
    if ((type === "GracefulShutdown" || type === "ForceOff") && s.powerState === "On") {
      if (!(type === "GracefulShutdown" && this.options.ignoreGracefulShutdown)) settle("PoweringOff", "Off");
    } else if ((type === "On" || type === "ForceOn") && s.powerState === "Off") {
      settle("PoweringOn", "On");
    }
    reply(204);
  }

  private patchNetworkProtocol(req: IncomingMessage, body: unknown, reply: Reply): void {
    const path = this.paths.networkProtocol;
    const ifMatch = req.headers["if-match"];
    if (ifMatch === undefined) {
      return reply(
        428,
        errorBody(
          "PreconditionRequired",
          "A precondition header or annotation is required to change the resource.",
        ),
      );
    }
    if (ifMatch !== this.mockup.etag(path) && ifMatch !== "*") {
      return reply(
        412,
        errorBody(
          "PreconditionFailed",
          "The ETag supplied did not match the ETag required to change this resource.",
        ),
      );
    }
    const ipmi = (body as { IPMI?: { ProtocolEnabled?: unknown } } | undefined)?.IPMI;
    const keys = body && typeof body === "object" ? Object.keys(body) : [];
    if (keys.length === 0 || keys.some((k) => k !== "IPMI") || typeof ipmi?.ProtocolEnabled !== "boolean") {
      return reply(
        400,
        errorBody("PropertyUnknown", "Only IPMI.ProtocolEnabled can be changed on this test BMC."),
      );
    }
    if (this.state.ipmiEnabled !== ipmi.ProtocolEnabled) {
      this.state.ipmiEnabled = ipmi.ProtocolEnabled;
      this.mockup.bump(path);
    }
    if (this.options.patchNoContent) return reply(204);
    const resource = this.mockup.render(path)!;
    reply(200, resource, { ETag: resource["@odata.etag"] as string });
  }

  private send(
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, {
      "OData-Version": "4.0",
      ...(text ? { "Content-Type": "application/json; charset=utf-8" } : {}),
      "Content-Length": String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

type Reply = (status: number, body?: unknown, headers?: Record<string, string>) => void;

function matches(f: FaultMatch, method: string, path: string): boolean {
  if (f.method && f.method !== method) return false;
  if (f.path === undefined) return true;
  return typeof f.path === "string" ? f.path === path : f.path.test(path);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function startTestBmc(options: TestBmcOptions = {}): Promise<TestBmc> {
  return new TestBmc(options).start();
}
