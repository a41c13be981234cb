/**
 * `powerstack verify` through the real command line (in-process `main`), against real peers on loopback:
 * every node is the loopback sshd (read only: the data path is an empty temp dir, so no NFS round trip
 * is attempted), the control node's BMC is the Redfish test BMC, Prometheus is a real one with no Kepler,
 * Grafana a stand-in at a NodePort. K3s is absent, so kubectl fails. Checked: the table and the `--json`
 * shape, the exit codes (1 failed, 3 unreachable), and that no secret reaches the output or the run log.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultStore } from "../../src/vault/store.js";
import { jsonLines, powerstackInProcess } from "../energy/cli.js";
import { freePort, startPrometheus, type RunningPrometheus } from "../energy/prometheus-harness.js";
import { closedPort } from "../redfish/helpers.js";
import { DEFAULT_PASSWORD, startTestBmc, type TestBmc } from "../redfish/server/server.js";
import { startSshd, type Sshd } from "../support/sshd.js";
import { inventoryYaml, NODE_ADDRESSES } from "./fixtures.js";

const SECRETS = { grafana_admin_password: "grafana-cli-S3cret-77", bmc_password: DEFAULT_PASSWORD };
const VAULT_PASSWORD = "verify-cli-vault-pw";

const dir = mkdtempSync(join(tmpdir(), "powerstack-verify-cli-"));
const dataPath = join(dir, "data");
const logDir = join(dir, "logs");
mkdirSync(dataPath);
let sshd: Sshd;
let bmc: TestBmc;
let prom: RunningPrometheus;
let grafana: Server;
let grafanaPort: number;
let inventory: string;
let deadInventory: string;

beforeAll(async () => {
  [sshd, bmc, prom] = await Promise.all([
    startSshd({ addresses: NODE_ADDRESSES }),
    startTestBmc(),
    startPrometheus(),
  ]);
  grafanaPort = await freePort({ min: 30000, max: 32767 });
  grafana = createServer((req, res) => {
    const ok =
      req.headers.authorization ===
      `Basic ${Buffer.from(`admin:${SECRETS.grafana_admin_password}`).toString("base64")}`;
    res.statusCode = req.url === "/api/user" && ok ? 200 : 401;
    res.end(ok ? '{"login":"admin","isGrafanaAdmin":true}' : '{"message":"Invalid username or password"}');
  });
  await new Promise<void>((r) => grafana.listen(grafanaPort, "127.0.0.1", r));
  writeFileSync(join(dir, "pw"), VAULT_PASSWORD + "\n");
  await VaultStore.create(join(dir, "vault.yaml"), VAULT_PASSWORD, SECRETS);
  const common = {
    keyFile: sshd.keyFile,
    knownHostsFile: sshd.knownHostsFile,
    dataPath,
    grafanaPort,
    ctlBmc: bmc.address,
  };
  inventory = join(dir, "inventory.yaml");
  writeFileSync(inventory, inventoryYaml({ ...common, sshPort: sshd.port }));
  deadInventory = join(dir, "dead.yaml");
  writeFileSync(deadInventory, inventoryYaml({ ...common, sshPort: await closedPort() }));
}, 60_000);

afterAll(async () => {
  grafana?.closeAllConnections();
  await new Promise((r) => grafana?.close(r));
  await Promise.allSettled([sshd?.stop(), bmc?.stop(), prom?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const verify = (inv: string, ...extra: string[]) =>
  powerstackInProcess([
    "-i",
    inv,
    "--vault-password-file",
    join(dir, "pw"),
    "--log-dir",
    logDir,
    "verify",
    "--prometheus",
    prom.url,
    ...extra,
  ]);

describe("powerstack verify (command line)", () => {
  it("--json: one object per check in a fixed order, then the summary; exit 1 when checks fail", async () => {
    const r = await verify(inventory, "--json");
    expect(r.code).toBe(1);
    const objects = jsonLines(r.stdout);
    const checks = objects.filter((o) => o.type === "check");
    const summary = objects.at(-1)!;
    expect(objects.filter((o) => o.type === "summary")).toHaveLength(1);

    expect(checks.map((c) => `${c.name} ${c.scope} ${c.status}`)).toEqual([
      "ssh.connect ctl pass",
      "kernel.perf_event_paranoid ctl " + checks[1]!.status, // this machine's own value
      "storage.data-mount ctl fail",
      "nfs.export ctl fail",
      "k3s.service ctl fail",
      "ssh.connect w1 pass",
      "kernel.perf_event_paranoid w1 " + checks[6]!.status,
      "nfs.client-mount w1 fail",
      "k3s.service w1 fail",
      "ssh.connect w2 pass",
      "kernel.perf_event_paranoid w2 " + checks[10]!.status,
      "nfs.client-mount w2 fail",
      "k3s.service w2 fail",
      "nfs.round-trip ctl skip",
      "k8s.api ctl fail",
      "k8s.node-ready ctl skip",
      "k8s.node-ready w1 skip",
      "k8s.node-ready w2 skip",
      "k8s.pods kube-system skip",
      "k8s.pods monitoring skip",
      "k8s.pods kepler skip",
      "k8s.pvcs-bound monitoring skip",
      "bmc.power-reading ctl pass",
      "bmc.power-reading w1 skip",
      "bmc.power-reading w2 skip",
      "kepler.targets-up prometheus fail",
      "kepler.energy-nonzero prometheus fail",
      "kepler.one-source-per-node prometheus skip",
      "grafana.login grafana pass",
    ]);
    for (const c of checks) {
      expect(Object.keys(c).sort()).toEqual(
        ["type", "name", "scope", "status", "detail", "ms", ...(c.status === "fail" ? ["fix"] : [])].sort(),
      );
      expect(typeof c.detail).toBe("string");
    }
    expect(checks.find((c) => c.name === "storage.data-mount")!.detail).toBe(
      `nothing is mounted at ${dataPath}, and /etc/fstab has no entry for it`,
    );
    expect(checks.find((c) => c.name === "k8s.api")!.fix).toBe(
      "run `powerstack up` (installs the K3s server on the control node)",
    );
    expect(checks.find((c) => c.name === "nfs.round-trip")!.detail).toBe(
      `not checked: no worker has the NFS share mounted at ${dataPath} (see nfs.client-mount)`,
    );
    expect(checks.find((c) => c.name === "grafana.login")!.detail).toBe(
      `logged in as admin (Grafana admin) at http://127.0.0.1:${grafanaPort}`,
    );
    const passed = checks.filter((c) => c.status === "pass").length;
    expect(summary).toEqual({
      type: "summary",
      total: 29,
      passed,
      failed: checks.filter((c) => c.status === "fail").length,
      skipped: 11,
      unreachable: 0,
      exitCode: 1,
    });
    expect(readdirSync(dataPath, { withFileTypes: true }).length).toBe(0); // nothing was written

    // No secret in the output or the run log; the log has every check.
    const logFile = readdirSync(logDir)
      .filter((f) => f.endsWith("-verify.jsonl"))
      .at(-1)!;
    const log = readFileSync(join(logDir, logFile), "utf8");
    for (const secret of [...Object.values(SECRETS), VAULT_PASSWORD]) {
      expect(r.stdout + r.stderr).not.toContain(secret);
      expect(log).not.toContain(secret);
    }
    expect(log.split("\n").filter((l) => l.includes('"event":"check"'))).toHaveLength(29);
  });

  it("prints a table for people, the fixes, and a summary line", async () => {
    const r = await verify(inventory);
    expect(r.code).toBe(1);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^check\s+scope\s+result\s+detail$/);
    expect(lines[1]).toMatch(/^-+\s+-+\s+-+\s+-+$/);
    expect(lines.some((l) => /^grafana\.login\s+grafana\s+ok\s+logged in as admin/.test(l))).toBe(true);
    expect(
      lines.some((l) =>
        /^k8s\.api\s+ctl\s+FAIL\s+`kubectl get nodes -o json` on ctl: K3s is not installed/.test(l),
      ),
    ).toBe(true);
    expect(r.stdout).toContain("\nTo fix:\n");
    expect(r.stdout).toContain("\n  storage.data-mount (ctl): run `powerstack up --only storage`");
    expect(lines.filter(Boolean).at(-1)).toMatch(/^\d+ passed, \d+ failed, 11 skipped, of 29 checks$/);
  });

  it("exits 3 when the nodes cannot be reached, and says so once per node", async () => {
    const r = await verify(deadInventory, "--json");
    expect(r.code).toBe(3);
    const checks = jsonLines(r.stdout).filter((o) => o.type === "check");
    const ssh = checks.filter((c) => c.name === "ssh.connect");
    expect(ssh.map((c) => [c.scope, c.status, c.unreachable])).toEqual([
      ["ctl", "fail", true],
      ["w1", "fail", true],
      ["w2", "fail", true],
    ]);
    expect(ssh[0]!.detail).toMatch(/^ctl: connection refused by root@127\.0\.0\.1:\d+$/);
    expect(checks.find((c) => c.name === "k3s.service" && c.scope === "w1")).toMatchObject({
      status: "skip",
      detail: "not checked: w1 is unreachable (ssh.connect)",
    });
    expect(checks.find((c) => c.name === "k8s.api")).toMatchObject({ status: "fail", unreachable: true });
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: "summary", exitCode: 3, unreachable: 4 });
  });

  it("documents --prometheus and the exit codes in --help", async () => {
    const r = await powerstackInProcess(["verify", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--prometheus <url>");
    expect(r.stdout).toContain("Exit code: 0 all pass, 1 a check");
  });
});
