/**
 * BOUNDARY test of Grafana's admin password (issue 15: a rotated vault password never reached Grafana,
 * which reads GF_SECURITY_ADMIN_PASSWORD only when it creates its database, kept on a Retain volume).
 *
 * Neither K3s nor Grafana can run here. Stand-ins, each literal about what it accepts:
 *  - a fake Grafana on 127.0.0.1 (node:http) in place of the control node's NodePort: `GET /api/user` with
 *    Basic auth against its database's admin password, 401 `Invalid username or password` otherwise. It
 *    answers only while the kube-prometheus-stack release exists on the fake node (before that, the
 *    connection is dropped), and creates its database from the `grafana-admin` Secret at its first answer,
 *    as Grafana does at its first start;
 *  - FakeControlNode (its Helm renders the pinned chart for real, so the Deployment is live), whose
 *    `kubectl exec` into deploy/kube-prometheus-stack-grafana, container grafana, runs ONLY the exact
 *    `grafana cli ... admin reset-admin-password --password-from-stdin`, setting the fake Grafana's
 *    password to the first line of stdin.
 * The inventory points at the fake: control external_ip 127.0.0.1, cluster.node_ports.grafana its port.
 * The runs go through the real playbook, role registry, monitoring role and Runner (`up --only monitoring`).
 *
 * The names in the command (Deployment, container, grafana.ini) are checked against the real `helm
 * template` of the pinned chart at the end.
 */
import { createServer, type Server } from "node:http";
import { parseAllDocuments } from "yaml";
import { afterAll, describe, expect, test } from "vitest";
import { monitoringRelease, role } from "../../roles/monitoring/index.js";
import { Runner } from "../../src/engine/runner.js";
import type { Task, TaskResult } from "../../src/engine/types.js";
import { grafanaFullname } from "../../src/grafana/chart.js";
import type { Inventory } from "../../src/inventory/types.js";
import { RESET_SUMMARY, type GrafanaAdminParams } from "../../src/modules/grafana-admin.js";
import type { ExecResult } from "../../src/transport/host.js";
import { checkGrafanaLogin } from "../../src/verify/grafana-login.js";
import { freePort } from "../energy/prometheus-harness.js";
import { helmTemplate, requireCharts } from "../support/real-helm.js";
import { FakeControlNode } from "./fake-control-node.js";
import { runRoles } from "./run-roles.js";
import { inventory, roleContext, SECRETS, VAULT } from "./fixtures.js";

const TASK = "monitoring: Grafana admin login with the vault's password";
const ROTATED = "graf-R0tated-s3cret-pw";
const OLDER = "graf-0lder-kept-on-the-volume";
const ALL_PASSWORDS = [...SECRETS(), ROTATED, OLDER];

const EXEC_TARGET = "monitoring/deploy/kube-prometheus-stack-grafana";
const RESET =
  "grafana cli --homepath /usr/share/grafana --config /etc/grafana/grafana.ini admin reset-admin-password --password-from-stdin";
const RESET_LINE =
  "/usr/local/bin/k3s kubectl exec -i -n 'monitoring' 'deploy/kube-prometheus-stack-grafana' -c grafana -- " +
  RESET;

/** Grafana as seen through its NodePort; its database lives as long as the test says (the Retain volume). */
class FakeGrafana {
  /** The admin in Grafana's database; undefined: no database yet (created at the first answer). */
  admin?: { user: string; password: string };
  /** Simulates a Grafana that is installed but not answering. */
  down = false;
  /** false: the CLI exits 0 but the login keeps failing (e.g. another admin user than the vault's). */
  resetTakes = true;
  /** Connections dropped because nothing was installed (or Grafana was down). */
  dropped = 0;
  /** Every login attempt: whether it was accepted. */
  readonly logins: boolean[] = [];
  readonly resets: string[] = [];
  private server?: Server;
  port = 0;

  constructor(private readonly node: FakeControlNode) {
    node.execIn = (target, container, command, stdin) => this.exec(target, container, command, stdin);
  }

  async start(): Promise<void> {
    this.port = await freePort({ min: 30000, max: 32767 });
    this.server = createServer((req, res) => {
      if (this.down || !this.node.releases.has("monitoring/kube-prometheus-stack")) {
        this.dropped++;
        req.socket.destroy(); // nothing behind the NodePort yet
        return;
      }
      this.admin ??= this.fromSecret();
      res.setHeader("content-type", "application/json");
      if (req.url !== "/api/user") {
        res.statusCode = 404;
        return void res.end('{"message":"Not found"}');
      }
      const [scheme, token] = (req.headers.authorization ?? "").split(" ");
      const [user, ...rest] = Buffer.from(token ?? "", "base64")
        .toString("utf8")
        .split(":");
      const ok = scheme === "Basic" && user === this.admin.user && rest.join(":") === this.admin.password;
      this.logins.push(ok);
      if (!ok) {
        res.statusCode = 401;
        return void res.end('{"message":"Invalid username or password","traceID":""}');
      }
      res.end(JSON.stringify({ id: 1, login: user, isGrafanaAdmin: true, orgId: 1 }));
    });
    await new Promise<void>((r) => this.server!.listen(this.port, "127.0.0.1", r));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }

  /** GF_SECURITY_ADMIN_USER/PASSWORD from the Secret, read when Grafana creates its database. */
  private fromSecret(): { user: string; password: string } {
    const s = this.node.objects.get("Secret/monitoring/grafana-admin")!;
    const d = (k: string) => Buffer.from(s.data[k], "base64").toString("utf8");
    return { user: d("admin-user"), password: d("admin-password") };
  }

  private exec(target: string, container: string, command: string, stdin: string): ExecResult {
    if (target !== EXEC_TARGET || container !== "grafana" || command !== RESET)
      return { code: 127, stdout: "", stderr: `fake: unknown exec ${target} -c ${container} -- ${command}` };
    // kubectl resolves deploy/<name> to a pod of the live Deployment (the one Helm rendered from the chart).
    const deploy = this.node.objects.get("Deployment/monitoring/kube-prometheus-stack-grafana");
    if (!deploy)
      return {
        code: 1,
        stdout: "",
        stderr: 'Error from server (NotFound): deployments.apps "kube-prometheus-stack-grafana" not found',
      };
    if (!deploy.spec.template.spec.containers.some((c: { name: string }) => c.name === container))
      return { code: 1, stdout: "", stderr: `error: container ${container} not found` };
    // Grafana's CLI: bufio.Scanner, one line from stdin.
    const password = stdin.split("\n")[0]!;
    this.resets.push(password);
    if (this.resetTakes) this.admin = { ...(this.admin ?? this.fromSecret()), password };
    return { code: 0, stdout: "Admin password changed successfully ✔\n", stderr: "" };
  }
}

let grafana: FakeGrafana;
let node: FakeControlNode;

/** The lab inventory, its control node's NodePorts reached at the fake Grafana. */
function labInventory(): Inventory {
  const inv = inventory();
  inv.nodes.find((n) => n.role === "control")!.externalIp = "127.0.0.1";
  inv.cluster.nodePorts.grafana = grafana.port;
  return inv;
}

async function up(opts: { check?: boolean; vault?: Record<string, string> } = {}) {
  const sentBefore = node.sent.length;
  const { results, changed } = await runRoles(labInventory(), node, ["monitoring"], {
    check: opts.check,
    vault: opts.vault ?? VAULT,
  });
  return {
    results,
    task: results.find((r) => r.task === TASK),
    changed,
    sent: node.sent.length - sentBefore,
  };
}

const execs = () => node.sent.filter((s) => s.command.includes("kubectl exec"));

/** No password, old or new, in any command line, nor in what the run reports (output, --diff, run log). */
function noPasswordLeaks(results: TaskResult[]): void {
  for (const s of node.sent) for (const p of ALL_PASSWORDS) expect(s.command).not.toContain(p);
  const reported = JSON.stringify(results);
  for (const p of ALL_PASSWORDS) expect(reported).not.toContain(p);
}

async function fresh(): Promise<void> {
  await grafana?.stop();
  node = new FakeControlNode();
  grafana = new FakeGrafana(node);
  await grafana.start();
}

afterAll(async () => grafana?.stop());

describe("Grafana admin password, up --only monitoring (boundary: fake Grafana on loopback, fake control node)", () => {
  test("first install: probed before the release exists, looked at again after it; the vault's password logs in, no exec; rerun: zero changes", async () => {
    await fresh();
    const first = await up();
    expect(first.results.filter((r) => r.status === "failed")).toEqual([]);
    // Probed (with every task) before anything was installed: Grafana did not answer then.
    expect(grafana.dropped).toBeGreaterThan(0);
    // The release task installed Grafana, so the runner probed again: the login works, nothing to do.
    expect(first.task).toMatchObject({ status: "ok", changes: [] });
    expect(first.changed).not.toContain(TASK);
    expect(grafana.admin).toEqual({ user: "boss", password: VAULT.grafana_admin_password });
    expect(execs()).toEqual([]);

    const rerun = await up();
    expect(rerun.changed).toEqual([]);
    expect(rerun.results.every((r) => r.status === "ok")).toBe(true);
    expect(rerun.sent).toBe(2); // facts + ONE batched probe; the login is from the operator's machine
    expect(execs()).toEqual([]);
    expect(grafana.logins.at(-1)).toBe(true);
    noPasswordLeaks([...first.results, ...rerun.results]);
  });

  test("rotated vault password: Secret updated AND Grafana reset, the password only on stdin; the login then works; rerun: zero changes", async () => {
    await fresh();
    await up();
    const rotatedVault = { ...VAULT, grafana_admin_password: ROTATED };
    const rotated = await up({ vault: rotatedVault });
    expect(rotated.changed).toEqual(["monitoring: namespace monitoring and its Secrets", TASK]);
    expect(rotated.task!.changes).toEqual([{ kind: "reset", summary: RESET_SUMMARY }]);
    // Exactly one command acted in Grafana, literally this one, with the password as its stdin.
    expect(execs().map((s) => s.command)).toEqual([RESET_LINE]);
    expect(execs()[0]!.stdin!.toString()).toBe(`${ROTATED}\n`);
    expect(grafana.admin).toEqual({ user: "boss", password: ROTATED });
    // Then Grafana's pod restarts (its sidecars read the admin login only at start), after the reset.
    expect(node.restarts).toEqual(["monitoring/deploy/kube-prometheus-stack-grafana"]);
    const at = (re: RegExp) => node.sent.findIndex((x) => re.test(x.command));
    expect(at(/rollout restart 'deploy\/kube-prometheus-stack-grafana'/)).toBeGreaterThan(
      at(/reset-admin-password/),
    );
    // What `powerstack verify` checks passes now.
    const v = await checkGrafanaLogin({
      url: `http://127.0.0.1:${grafana.port}`,
      user: "boss",
      password: ROTATED,
      passwordSource: "vault key `grafana_admin_password`",
      namespace: "monitoring",
    });
    expect(v.status).toBe("pass");

    const rerun = await up({ vault: rotatedVault });
    expect(rerun.changed).toEqual([]);
    expect(rerun.sent).toBe(2);
    expect(execs()).toHaveLength(1);
    expect(node.restarts).toHaveLength(1);
    noPasswordLeaks([...rotated.results, ...rerun.results]);
  });

  test("Grafana's database kept an older password (reinstall on the Retain volume): exactly one change, the reset", async () => {
    await fresh();
    await up();
    grafana.admin = { user: "boss", password: OLDER }; // what the database says; the Secret is current
    const r = await up();
    expect(r.changed).toEqual([TASK]);
    expect(r.task!.changes).toEqual([{ kind: "reset", summary: RESET_SUMMARY }]);
    expect(execs().map((s) => [s.command, s.stdin?.toString()])).toEqual([
      [RESET_LINE, `${VAULT.grafana_admin_password}\n`],
    ]);
    expect(grafana.logins.slice(-2)).toEqual([false, true]); // probe refused, re-check after the reset works
    expect((await up()).changed).toEqual([]);
    noPasswordLeaks(r.results);
  });

  test("--check: the reset is planned, nothing is sent that acts; before K3s exists, the login is left for after the install", async () => {
    await fresh();
    await up();
    grafana.admin = { user: "boss", password: OLDER };
    const actionsBefore = node.actions().length;
    const checked = await up({ check: true, vault: { ...VAULT, grafana_admin_password: ROTATED } });
    expect(checked.task).toMatchObject({ status: "changed", changes: [{ summary: RESET_SUMMARY }] });
    expect(node.actions().length).toBe(actionsBefore);
    expect(execs()).toEqual([]);
    expect(grafana.admin.password).toBe(OLDER);
    expect(checked.task!.changes.every((c) => c.diff === undefined)).toBe(true);
    noPasswordLeaks(checked.results);

    await fresh();
    node.k3sInstalled = false;
    node.helmInstalled = false;
    const before = await up({ check: true });
    expect(before.results.filter((r) => r.status === "failed")).toEqual([]);
    expect(before.task!.status).toBe("changed");
    expect(before.task!.changes.map((c) => c.summary)).toEqual([
      `check Grafana's admin login once kube-prometheus-stack is installed and Grafana answers (now: cannot reach Grafana at http://127.0.0.1:${grafana.port}: other side closed)`,
    ]);
    expect(node.actions()).toEqual([]);
  });

  test("a reset that does not take fails clearly after bounded re-checks; a failing exec names the pod to look at", async () => {
    await fresh();
    await up();
    grafana.admin = { user: "boss", password: OLDER };
    grafana.resetTakes = false;
    // The role's own tasks, with a short re-check so the test does not wait 2 s between logins.
    const ctx = roleContext(labInventory());
    const tasks: Task[] = (await role.tasks(ctx)).tasks.map((t) =>
      t.module.name === "grafana-admin"
        ? { ...t, params: { ...(t.params as GrafanaAdminParams), recheck: { attempts: 3, delayMs: 10 } } }
        : t,
    );
    const run = async () => {
      const results: TaskResult[] = [];
      const runner = new Runner({
        check: false,
        forks: 1,
        connect: async () => node,
        reporter: { playStart() {}, taskResult: (r) => results.push(r), playEnd() {} },
      });
      await runner.runPlay({ name: "monitoring", hosts: ["ctl"], tasksFor: () => ({ tasks }) });
      await runner.close();
      return results.find((r) => r.task === "Grafana admin login with the vault's password")!;
    };
    const loginsBefore = grafana.logins.length;
    const failed = await run();
    expect(failed.status).toBe("failed");
    expect(failed.msg).toContain(
      `Grafana's admin password was reset, but the login still fails 3 time(s): Grafana at http://127.0.0.1:${grafana.port} refused the login of \`boss\` (HTTP 401: Invalid username or password)`,
    );
    expect(failed.msg).toContain("resets the user Grafana created first (id 1)");
    expect(grafana.logins.length - loginsBefore).toBe(1 + 3); // the probe, then exactly 3 re-checks
    expect(execs()).toHaveLength(1);
    noPasswordLeaks([failed]);

    // The pod is not there: kubectl's error, and where to look.
    node.execIn = () => ({
      code: 1,
      stdout: "",
      stderr: 'error: unable to upgrade connection: container not found ("grafana")',
    });
    const broken = await run();
    expect(broken.status).toBe("failed");
    expect(broken.msg).toContain(
      "resetting Grafana's admin password in monitoring/deploy/kube-prometheus-stack-grafana failed",
    );
    expect(broken.msg).toContain("container not found");
    expect(broken.msg).toContain(
      "k3s kubectl -n monitoring logs deploy/kube-prometheus-stack-grafana -c grafana",
    );
    noPasswordLeaks([broken]);
  });

  test("installed but Grafana does not answer (not --check): the task fails with the fix, nothing is reset", async () => {
    await fresh();
    await up();
    grafana.down = true;
    const r = await up();
    expect(r.task).toMatchObject({ status: "failed" });
    expect(r.task!.msg).toBe(
      `cannot reach Grafana at http://127.0.0.1:${grafana.port}: other side closed\n` +
        "  fix: check that Grafana runs (`kubectl -n monitoring get pods`) and that the control node's external_ip and cluster.node_ports.grafana in the inventory are right",
    );
    expect(execs()).toEqual([]);
  });
});

describe.skipIf(!requireCharts())(
  "the names in the reset command are the pinned chart's (real helm template)",
  () => {
    test("Deployment kube-prometheus-stack-grafana, container grafana (Grafana 13.2.0), grafana.ini at /etc/grafana/grafana.ini", async () => {
      const p = monitoringRelease(inventory());
      const docs = parseAllDocuments(
        await helmTemplate({
          release: p.release,
          namespace: p.namespace,
          chart: "kubePrometheusStack",
          values: p.values,
        }),
      ).map((d) => d.toJS());
      const name = grafanaFullname(p.release);
      expect(name).toBe("kube-prometheus-stack-grafana");
      const deploy = docs.find((d) => d?.kind === "Deployment" && d.metadata.name === name);
      expect(deploy?.metadata.namespace).toBe("monitoring");
      const c = deploy.spec.template.spec.containers.find((x: { name: string }) => x.name === "grafana");
      expect(c.image).toBe("docker.io/grafana/grafana:13.2.0");
      expect(c.workingDir).toBeUndefined(); // kubectl exec starts in the image's WORKDIR; --homepath is explicit anyway
      expect(c.volumeMounts).toContainEqual({
        name: "config",
        mountPath: "/etc/grafana/grafana.ini",
        subPath: "grafana.ini",
      });
      expect(c.env).toContainEqual({
        name: "GF_SECURITY_ADMIN_PASSWORD",
        valueFrom: { secretKeyRef: { name: "grafana-admin", key: "admin-password" } },
      });
      // The release name does not contain "grafana": the chart appends it; a name that does is kept.
      expect(grafanaFullname("my-grafana")).toBe("my-grafana");
    }, 120_000);
  },
);
