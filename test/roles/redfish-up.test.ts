/**
 * `powerstack up --only redfish` end to end (the real CLI, a child process) against Redfish test BMCs on
 * loopback: check mode changes nothing, the first run enables IPMI over LAN where asked, the rerun is all
 * ok, a wrong password fails that node with a clear message, and no secret reaches the output or the log.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { VaultStore } from "../../src/vault/store.js";
import { DEFAULT_PASSWORD, startTestBmc, type TestBmc } from "../redfish/server/server.js";

const VAULT_PASSWORD = "redfish-up-vault-pw";
let dir: string;
let ctl: TestBmc;
let w1: TestBmc;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "powerstack-redfish-up-"));
  [ctl, w1] = await Promise.all([startTestBmc(), startTestBmc({ ipmiEnabled: false })]);
  await VaultStore.create(join(dir, "vault.yaml"), VAULT_PASSWORD, {
    grafana_admin_password: "graf-S3cret",
    bmc_ctl: DEFAULT_PASSWORD,
    bmc_w1: DEFAULT_PASSWORD,
    bmc_bad: "wrong-Passw0rd",
  });
  writeFileSync(
    join(dir, "inventory.yaml"),
    `vault_file: vault.yaml
cluster: { nfs_network: 198.51.100.0/24 }
nodes:
  - { name: ctl, role: control, internal_ip: 198.51.100.10, storage_disk: /dev/vdb, bmc: { address: "${ctl.address}", username: USERID, password_secret: bmc_ctl, insecure: true } }
  - { name: w1, role: worker, internal_ip: 198.51.100.11, bmc: { address: "${w1.address}", username: USERID, password_secret: bmc_w1, insecure: true, ipmi_over_lan: true } }
  - { name: w2, role: worker, internal_ip: 198.51.100.12 }
`,
  );
});
afterAll(async () => {
  await Promise.all([ctl?.stop(), w1?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI as a child process; asynchronous, since the test BMCs answer from this very process. */
function up(
  ...extra: string[]
): Promise<{ code: number | null; stdout: string; stderr: string; tasks: any[] }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "bin/powerstack.ts",
      "-i",
      join(dir, "inventory.yaml"),
      "--log-dir",
      join(dir, "logs"),
      "--json",
      "up",
      "--only",
      "redfish",
      ...extra,
    ],
    {
      env: { ...process.env, POWERSTACK_VAULT_PASSWORD: VAULT_PASSWORD, CI: "true" },
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) =>
    child.on("close", (code) => {
      const objs = stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l));
      resolve({ code, stdout, stderr, tasks: objs.filter((o) => o.type === "task") });
    }),
  );
}

describe("up --only redfish (real CLI, test BMCs on loopback)", () => {
  test("check, apply, rerun", async () => {
    const checked = await up("--check");
    expect(checked.code).toBe(0);
    expect(checked.tasks.map((t) => [t.host, t.status])).toEqual([
      ["ctl", "ok"],
      ["w1", "changed"],
    ]);
    // The planned action (module contract, issue 17): check mode shows what applying will do.
    const planned = checked.tasks[1].changes.map((c: { summary: string }) => c.summary);
    expect(planned).toEqual([
      expect.stringMatching(
        /^Redfish [\d.]+, .*, enable IPMI over LAN \(PATCH \/redfish\/v1\/Managers\/[^/]+\/NetworkProtocol\)$/,
      ),
    ]);
    expect(w1.state.ipmiEnabled).toBe(false);

    const first = await up();
    expect(first.code).toBe(0);
    expect(first.tasks.map((t) => [t.host, t.status])).toEqual([
      ["ctl", "ok"],
      ["w1", "changed"],
    ]);
    expect(w1.state.ipmiEnabled).toBe(true);
    // Exactly the action check mode showed, and no check-mode wording (issue 19, item 6).
    expect(first.tasks[1].changes.map((c: { summary: string }) => c.summary)).toEqual(planned);
    expect(first.tasks[1].changes[0].summary).not.toMatch(/would/);

    const again = await up();
    expect(again.tasks.map((t) => t.status)).toEqual(["ok", "ok"]);
    // Every session opened was logged out: BMCs allow only a few.
    expect([ctl.state.sessions.size, w1.state.sessions.size]).toEqual([0, 0]);
  });

  test("a wrong BMC password fails that node only, clearly, exit 1, and no secret is printed or logged", async () => {
    writeFileSync(
      join(dir, "inventory.yaml"),
      readFileSync(join(dir, "inventory.yaml"), "utf8").replace(
        "password_secret: bmc_w1",
        "password_secret: bmc_bad",
      ),
    );
    const r = await up();
    expect(r.code).toBe(1);
    const failed = r.tasks.find((t) => t.status === "failed");
    expect(failed.host).toBe("w1");
    expect(failed.msg).toMatch(/401|credentials|password/i);
    const logs = readdirSync(join(dir, "logs"))
      .map((f) => readFileSync(join(dir, "logs", f), "utf8"))
      .join("\n");
    for (const secret of [DEFAULT_PASSWORD, "wrong-Passw0rd", "graf-S3cret", VAULT_PASSWORD]) {
      expect(r.stdout + r.stderr).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
  });
});
