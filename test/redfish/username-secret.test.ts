/**
 * A BMC user kept in the vault, as the original Ansible setup keeps it (issue 18, item 5): `username_secret`
 * beside `password_secret` in a node's `bmc`, exactly one of `username` / `username_secret`. Checked from the
 * inventory through `openRun`'s missing-key report to a login at the Redfish test BMC on loopback.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentRedfishFile, legacyRedfishCsv, redfishPlan } from "../../roles/kepler/redfish.js";
import { openRun } from "../../src/cli/context.js";
import { InputError } from "../../src/errors.js";
import type { GlobalOptions } from "../../src/cli/options.js";
import { parseInventory, secretReferences } from "../../src/inventory/load.js";
import { inventoryClientFactory } from "../../src/redfish/from-inventory.js";
import { resetVaultPasswordCache } from "../../src/vault/password.js";
import { VaultStore } from "../../src/vault/store.js";
import { CONTROL_NODE_INVENTORY, INVENTORY_FILE as FILE, rejection } from "../support/minimal-inventory.js";
import { DEFAULT_PASSWORD, DEFAULT_USER, startTestBmc, type TestBmc } from "./server/server.js";

const dir = mkdtempSync(join(tmpdir(), "powerstack-username-secret-test-"));
let bmc: TestBmc;
beforeAll(async () => {
  bmc = await startTestBmc();
});
afterAll(async () => {
  await bmc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** An inventory whose control node's `bmc` block ends with `userLines` (indented under it). */
const inventory = (address: string, userLines: string) => `vault_file: vault.yaml
${CONTROL_NODE_INVENTORY}    bmc:
      address: ${address}
      insecure: true
      password_secret: ansible_vault.bmc.password
${userLines}`;

const problemsOf = (text: string) => rejection(text).problems.map((p) => ({ ...p, file: undefined }));

describe("bmc.username_secret in the inventory", () => {
  it("is read, and named among the vault keys the inventory needs", () => {
    const inv = parseInventory(
      inventory("https://203.0.113.10", "      username_secret: ansible_vault.bmc.user\n"),
      FILE,
    );
    expect(inv.nodes[0]!.bmc).toMatchObject({ usernameSecret: "ansible_vault.bmc.user" });
    expect(inv.nodes[0]!.bmc!.username).toBeUndefined();
    expect(secretReferences(inv).filter((r) => r.key.startsWith("nodes["))).toEqual([
      { secret: "ansible_vault.bmc.user", key: "nodes[0].bmc.username_secret" },
      { secret: "ansible_vault.bmc.password", key: "nodes[0].bmc.password_secret" },
    ]);
  });

  it("exactly one of username and username_secret: neither or both is an error at its line", () => {
    expect(problemsOf(inventory("https://203.0.113.10", ""))).toEqual([
      expect.objectContaining({
        line: 10,
        key: "nodes[0].bmc",
        message: "required key `username` is missing",
        fix: "add `username: <user>`, or `username_secret: <vault key>` when the vault holds the user",
      }),
    ]);
    expect(
      problemsOf(
        inventory(
          "https://203.0.113.10",
          "      username: admin\n      username_secret: ansible_vault.bmc.user\n",
        ),
      ),
    ).toEqual([
      expect.objectContaining({
        line: 14,
        col: 7,
        key: "nodes[0].bmc.username_secret",
        message: "`username` and `username_secret` both name the BMC user",
      }),
    ]);
  });
});

describe("the BMC user from the vault", () => {
  const opts = (inv: string): GlobalOptions => ({
    inventory: inv,
    check: false,
    diff: false,
    json: false,
    verbose: 0,
    forks: 5,
    vaultPasswordFile: join(dir, "pw"),
    yes: true,
    logDir: join(dir, "logs"),
  });
  const setup = async (name: string, vault: string) => {
    const sub = mkdtempSync(join(dir, `${name}-`));
    writeFileSync(join(dir, "pw"), "vault-pw\n");
    writeFileSync(
      join(sub, "inventory.yaml"),
      inventory(bmc.address, "      username_secret: ansible_vault.bmc.user\n"),
    );
    const store = await VaultStore.create(join(sub, "vault.yaml"), "vault-pw", {});
    // The original project's nested layout, the user beside the password.
    store.set("grafana_admin_password", "g");
    for (const [k, v] of Object.entries({
      "ansible_vault.bmc.password": DEFAULT_PASSWORD,
      ...JSON.parse(vault),
    }))
      store.set(k, v as string);
    await store.save();
    resetVaultPasswordCache();
    return join(sub, "inventory.yaml");
  };

  it("missing from the vault: reported like any other missing key, before anything is contacted", async () => {
    const inv = await setup("missing", "{}");
    const err = await openRun("power", opts(inv)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(InputError);
    // The same line as a missing password_secret's (the file, maybe its line:col, the key, the vault file).
    expect(err!.message.startsWith(`${inv}:`)).toBe(true);
    expect(err!.message).toContain(`nodes[0].bmc.username_secret`);
    expect(err!.message).toContain(
      `names vault key \`ansible_vault.bmc.user\`, which ${join(inv, "..", "vault.yaml")} lacks`,
    );
  });

  it("present: the Redfish client logs in with it, Kepler's Redfish files carry it, and output redacts it", async () => {
    const inv = await setup("present", JSON.stringify({ "ansible_vault.bmc.user": DEFAULT_USER }));
    const ctx = await openRun("power", opts(inv));
    try {
      const node = ctx.inventory.nodes[0]!;
      const client = inventoryClientFactory((k) => ctx.secret(k))(node as never);
      try {
        expect(await client.login()).toBeDefined();
      } finally {
        await client.close();
      }
      const plan = redfishPlan({
        ...ctx.inventory,
        cluster: { ...ctx.inventory.cluster, kepler: { ...ctx.inventory.cluster.kepler, flavour: "legacy" } },
      });
      expect(legacyRedfishCsv(plan, (k) => ctx.secret(k))).toBe(
        `ctl,${DEFAULT_USER},${DEFAULT_PASSWORD},${bmc.address}\n`,
      );
      expect(currentRedfishFile(plan, (k) => ctx.secret(k))).toContain(`username: ${DEFAULT_USER}`);
      expect(ctx.redactor.redact(`user ${DEFAULT_USER}`)).not.toContain(DEFAULT_USER);
    } finally {
      ctx.close();
    }

    // A wrong user in the vault is the BMC's 401, as with a wrong `username`.
    const wrong = await setup("wrong", JSON.stringify({ "ansible_vault.bmc.user": "nobody" }));
    const ctx2 = await openRun("power", opts(wrong));
    try {
      const client = inventoryClientFactory((k) => ctx2.secret(k), { retry: { attempts: 1 } })(
        ctx2.inventory.nodes[0]! as never,
      );
      await expect(client.login()).rejects.toThrow(/wrong user name or password/);
      await client.close();
    } finally {
      ctx2.close();
    }
  });
});
