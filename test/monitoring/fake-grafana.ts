/**
 * Grafana behind its NodePort, as the boundary tests of `up` need it: it answers once the fake control
 * node has the kube-prometheus-stack release, with the credentials of the live `grafana-admin` Secret
 * (`/api/user` with Basic auth, as src/grafana/login.ts asks). Before that it drops the connection, as a
 * NodePort with no pod behind it does.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { FakeControlNode } from "./fake-control-node.js";

export interface FakeGrafana {
  port: number;
  close(): Promise<void>;
}

/** `node()` is the control node of the test running now (undefined between tests). */
export async function startFakeGrafana(node: () => FakeControlNode | undefined): Promise<FakeGrafana> {
  const server = createServer((req, res) => {
    const n = node();
    const secret = n?.objects.get("Secret/monitoring/grafana-admin");
    if (!n?.releases.has("monitoring/kube-prometheus-stack") || !secret) return void req.socket.destroy();
    const d = (k: string) => Buffer.from(secret.data[k], "base64").toString("utf8");
    const login = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString();
    res.setHeader("content-type", "application/json");
    if (req.url !== "/api/user" || login !== `${d("admin-user")}:${d("admin-password")}`) {
      res.statusCode = 401;
      return void res.end('{"message":"Invalid username or password"}');
    }
    res.end(JSON.stringify({ id: 1, login: d("admin-user"), isGrafanaAdmin: true, orgId: 1 }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
