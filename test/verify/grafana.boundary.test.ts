/**
 * BOUNDARY test of grafana.login (Grafana cannot run here): a tiny HTTP server on loopback that answers
 * `/api/user` as Grafana does (Basic auth; 401 `{"message":"Invalid username or password"}`), and the
 * exact request verify sends to it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { checkGrafanaLogin, type GrafanaLogin } from "../../src/verify/grafana-login.js";
import { closedPort } from "../redfish/helpers.js";

interface Seen {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
}

const USER = "admin";
const PASSWORD = "grafana-S3cret:with-colon";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** Grafana's `/api/user` with Basic auth, or `mode` to answer as something else would. */
async function fakeGrafana(mode: "grafana" | "not-grafana" | "login-redirect" = "grafana") {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    if (mode === "not-grafana") return void res.end("<html>nginx</html>");
    if (mode === "login-redirect") {
      res.writeHead(302, { location: "/login" });
      return void res.end();
    }
    const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
    res.setHeader("content-type", "application/json");
    if (req.url !== "/api/user") {
      res.statusCode = 404;
      return void res.end('{"message":"Not found"}');
    }
    if (req.headers.authorization !== expected) {
      res.statusCode = 401;
      return void res.end('{"message":"Invalid username or password","traceID":""}');
    }
    res.end(
      JSON.stringify({
        id: 1,
        email: "admin@localhost",
        name: "",
        login: USER,
        isGrafanaAdmin: true,
        orgId: 1,
      }),
    );
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const login = (url: string, password = PASSWORD): GrafanaLogin => ({
  url,
  user: USER,
  password,
  passwordSource: "vault key `grafana_admin_password`",
  namespace: "monitoring",
});

describe("grafana.login (boundary)", () => {
  it("sends GET /api/user with the vault's credentials as Basic auth, and passes on Grafana's 200", async () => {
    const g = await fakeGrafana();
    const r = await checkGrafanaLogin(login(g.url));
    expect(r).toEqual({ status: "pass", detail: `logged in as admin (Grafana admin) at ${g.url}` });
    expect(g.seen).toHaveLength(1);
    expect(g.seen[0]).toMatchObject({
      method: "GET",
      url: "/api/user",
      headers: {
        authorization: `Basic ${Buffer.from("admin:grafana-S3cret:with-colon").toString("base64")}`,
        accept: "application/json",
      },
    });
  });

  it("fails a refused login naming the user and the vault key, never the password", async () => {
    const g = await fakeGrafana();
    const r = await checkGrafanaLogin(login(g.url, "stale-password"));
    expect(r.status).toBe("fail");
    expect(r.detail).toBe(
      `Grafana at ${g.url} refused the login of \`admin\` (HTTP 401: Invalid username or password)`,
    );
    expect(r.fix).toContain("vault key `grafana_admin_password`");
    expect(r.fix).toContain("grafana cli admin reset-admin-password");
    expect(JSON.stringify(r)).not.toContain("stale-password");
  });

  it("tells Grafana from something else on the port, and from a login redirect", async () => {
    const other = await fakeGrafana("not-grafana");
    const r = await checkGrafanaLogin(login(other.url));
    expect(r).toMatchObject({
      status: "fail",
      detail: `${other.url}/api/user answered 200 without Grafana's user JSON (<html>nginx</html>)`,
    });
    await new Promise((res) => server!.close(res));
    server = undefined;
    const proxy = await fakeGrafana("login-redirect");
    expect((await checkGrafanaLogin(login(proxy.url))).detail).toContain("redirects (HTTP 302)");
  });

  it("throws an unreachable error (exit code 3) when nothing listens", async () => {
    const port = await closedPort();
    const err = await checkGrafanaLogin(login(`http://127.0.0.1:${port}`)).catch((e: unknown) => e);
    expect(err).toMatchObject({
      exitCode: 3,
      message: `cannot reach Grafana at http://127.0.0.1:${port}: connection refused (nothing listens on that port)`,
    });
  });
});
