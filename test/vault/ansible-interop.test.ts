/**
 * Interoperability with the real `ansible-vault`, both directions, 1.1 and 1.2 headers. Each ansible
 * call costs about a second, so files are batched: two encrypt calls (in parallel) and one view call.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { decryptVault, encryptVault } from "../../src/vault/format.js";
import { resetVaultPasswordCache } from "../../src/vault/password.js";
import { VaultStore } from "../../src/vault/store.js";
import { NESTED_VAULT, NESTED_VAULT_VALUES } from "../support/nested-vault.js";

const exec = promisify(execFile);

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const PASSWORD = "interop-pass-5d1e";
const NEW_PASSWORD = "interop-new-pass-a4b7";

describe.skipIf(!onPath("ansible-vault"))("interoperability with the real ansible-vault", () => {
  let dir: string;
  let pw: string;
  let newPw: string;
  /** ansible with its home, temp and config kept inside our temp dir. */
  const ansible = (...args: string[]) =>
    exec("ansible-vault", args, {
      env: {
        ...process.env,
        HOME: dir,
        ANSIBLE_LOCAL_TEMP: join(dir, "ansible-tmp"),
        ANSIBLE_CONFIG: join(dir, "none.cfg"),
        PAGER: "cat",
      },
    });

  const fromAnsible11 = '# by ansible\nk3s_token: "0123"\nbmc_password: grüße\n';
  const fromAnsible12 =
    "grafana_admin_password: yes # by ansible, 1.2\nslack_webhook: https://hooks.example/T/B/X\n";
  /** The original project's shape (issue 18), read by the playbooks as `ansible_vault.*`. */
  const nested = NESTED_VAULT;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "powerstack-interop-test-"));
    mkdirSync(join(dir, "ansible-tmp"));
    pw = join(dir, "pass");
    newPw = join(dir, "new-pass");
    writeFileSync(pw, PASSWORD + "\n");
    writeFileSync(newPw, NEW_PASSWORD + "\n");
    writeFileSync(join(dir, "a11.yaml"), fromAnsible11);
    writeFileSync(join(dir, "a12.yaml"), fromAnsible12);
    writeFileSync(join(dir, "nested.yaml"), nested);
    writeFileSync(join(dir, "nested-edit.yaml"), nested);
    await Promise.all([
      ansible("encrypt", join(dir, "a11.yaml"), "--vault-password-file", pw),
      ansible("encrypt", join(dir, "a12.yaml"), "--vault-id", `lab@${pw}`),
      // One call for both: ansible-vault encrypts every file it is given.
      ansible(
        "encrypt",
        join(dir, "nested.yaml"),
        join(dir, "nested-edit.yaml"),
        "--vault-password-file",
        pw,
      ),
    ]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("powerstack reads files ansible-vault encrypted (1.1 and 1.2)", async () => {
    const a11 = readFileSync(join(dir, "a11.yaml"), "utf8");
    const a12 = readFileSync(join(dir, "a12.yaml"), "utf8");
    expect(a11.split("\n")[0]).toBe("$ANSIBLE_VAULT;1.1;AES256");
    expect(a12.split("\n")[0]).toBe("$ANSIBLE_VAULT;1.2;AES256;lab");
    expect(decryptVault(a11, PASSWORD)).toEqual({
      plaintext: fromAnsible11,
      version: "1.1",
      vaultId: undefined,
    });
    expect(decryptVault(a12, PASSWORD)).toEqual({ plaintext: fromAnsible12, version: "1.2", vaultId: "lab" });
    const store = await VaultStore.open(join(dir, "a11.yaml"), PASSWORD);
    expect(store.get("k3s_token")).toBe("0123");
    expect(store.get("bmc_password")).toBe("grüße");
  });

  it("powerstack reads a nested vault ansible-vault encrypted, by dotted paths", async () => {
    const store = await VaultStore.open(join(dir, "nested.yaml"), PASSWORD);
    expect(Object.fromEntries(store.leafPaths().map((k) => [k, store.get(k)]))).toEqual(NESTED_VAULT_VALUES);
    expect(() => store.get("ansible_vault.bmc")).toThrow(
      /`ansible_vault\.bmc` is a mapping \(keys: user, password\)/,
    );
  });

  it("ansible-vault view reads what powerstack wrote: format, store, and every CLI action that writes", async () => {
    // `view` prints the files one after another, adding a newline to any text that lacks one.
    const expected: Array<[string, string]> = [];
    const add = (name: string, text: string, plaintext: string) => {
      writeFileSync(join(dir, name), text);
      expected.push([name, plaintext]);
    };
    add("p11.yaml", encryptVault("a: 1\n", PASSWORD), "a: 1\n");
    add("p12.yaml", encryptVault("b: ünïcödé 🔑\n", PASSWORD, { vaultId: "lab" }), "b: ünïcödé 🔑\n");
    add("p16.yaml", encryptVault("c: 0123456789a\n", PASSWORD), "c: 0123456789a\n"); // 16 bytes: a whole padding block
    add("p-empty.yaml", encryptVault("", PASSWORD), "");

    const stored = join(dir, "store.yaml");
    const store = await VaultStore.create(
      stored,
      PASSWORD,
      { k3s_token: "tok", bmc_password: "yes" },
      { vaultId: "lab" },
    );
    store.set("k3s_token", "rotated");
    await store.save();
    expected.push(["store.yaml", 'k3s_token: rotated\nbmc_password: "yes"\n']);

    // The nested ansible-made vault: values changed and added by path; everything else byte for byte.
    const nestedStore = await VaultStore.open(join(dir, "nested.yaml"), PASSWORD);
    nestedStore.set("ansible_vault.token", "K10rotated::server:new");
    nestedStore.set("ansible_vault.ca", "-----BEGIN CERTIFICATE-----\nNEW\n-----END CERTIFICATE-----\n");
    nestedStore.set("ansible_vault.bmc.ipmi_password", "yes");
    nestedStore.set("grafana.admin_password", "g");
    await nestedStore.save();
    expected.push([
      "nested.yaml",
      nested
        .replace("K10abc::server:xyz   #", "K10rotated::server:new   #")
        .replace("    MIIB\n", "    NEW\n")
        .replace("    password: 0123\n", '    password: 0123\n    ipmi_password: "yes"\n') +
        "grafana:\n  admin_password: g\n",
    ]);

    // The CLI, in-process: edit the ansible-made 1.2 file (keeps its header), encrypt a plain file, rekey one.
    const cli = async (...argv: string[]) => {
      resetVaultPasswordCache();
      const quiet = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
      try {
        return await main(argv);
      } finally {
        quiet.mockRestore();
      }
    };
    const editor = join(dir, "editor.sh");
    writeFileSync(
      editor,
      // Each expression matches in one of the files edited below.
      `#!/bin/sh\nsed -i -e 's/^grafana_admin_password: yes/grafana_admin_password: edited/' -e 's/^    user: USERID/    user: admin # edited/' "$1"\n`,
      { mode: 0o700 },
    );
    const savedEditor = process.env.EDITOR;
    process.env.EDITOR = editor;
    try {
      expect(await cli("vault", "edit", join(dir, "a12.yaml"), "--vault-password-file", pw)).toBe(0);
      expect(await cli("vault", "edit", join(dir, "nested-edit.yaml"), "--vault-password-file", pw)).toBe(0);
    } finally {
      process.env.EDITOR = savedEditor;
    }
    expect(readFileSync(join(dir, "a12.yaml"), "utf8").split("\n")[0]).toBe("$ANSIBLE_VAULT;1.2;AES256;lab");
    expected.push(["a12.yaml", fromAnsible12.replace("yes #", "edited #")]);
    expected.push(["nested-edit.yaml", nested.replace("    user: USERID", "    user: admin # edited")]);

    writeFileSync(join(dir, "cli-enc.yaml"), "slack_webhook: https://x\n");
    expect(
      await cli(
        "vault",
        "encrypt",
        join(dir, "cli-enc.yaml"),
        "--vault-password-file",
        pw,
        "--vault-id",
        "lab",
      ),
    ).toBe(0);
    expected.push(["cli-enc.yaml", "slack_webhook: https://x\n"]);
    // A nested plaintext is a vault powerstack can use: `vault encrypt` takes it as it is.
    writeFileSync(join(dir, "cli-enc-nested.yaml"), nested);
    expect(await cli("vault", "encrypt", join(dir, "cli-enc-nested.yaml"), "--vault-password-file", pw)).toBe(
      0,
    );
    expected.push(["cli-enc-nested.yaml", nested]);

    writeFileSync(join(dir, "cli-rekey.yaml"), encryptVault("r: 1\n", PASSWORD));
    const rekey = [
      "vault",
      "rekey",
      join(dir, "cli-rekey.yaml"),
      "--vault-password-file",
      pw,
      "--new-vault-password-file",
      newPw,
    ];
    expect(await cli(...rekey)).toBe(0);
    expected.push(["cli-rekey.yaml", "r: 1\n"]);

    // One ansible call for all of them; both passwords offered, as a user with two vault ids would.
    const { stdout } = await ansible(
      "view",
      ...expected.map(([name]) => join(dir, name)),
      "--vault-id",
      `lab@${pw}`,
      "--vault-id",
      `new@${newPw}`,
    );
    expect(stdout).toBe(
      expected.map(([, plaintext]) => (plaintext.endsWith("\n") ? plaintext : plaintext + "\n")).join(""),
    );
  });
});
