import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { decryptVault, encryptVault, VaultError } from "../../src/vault/format.js";
import { VaultStore } from "../../src/vault/store.js";

const dir = mkdtempSync(join(tmpdir(), "powerstack-store-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const path = (name = `v${n++}.yaml`) => join(dir, name);
const mode = (p: string) => statSync(p).mode & 0o777;
/** Write `plaintext` as an encrypted vault file, like someone using ansible-vault would have. */
function vaultFile(plaintext: string, opts: { vaultId?: string } = {}): string {
  const p = path();
  writeFileSync(p, encryptVault(plaintext, "pw", opts), { mode: 0o644 });
  return p;
}

describe("VaultStore.open", () => {
  it("reads a mapping; scalars become the text that was written", async () => {
    const store = await VaultStore.open(
      vaultFile('a: plain\nb: "quoted: yes"\nc: 0123\nd: yes\ne:\nf: 1e3\ng: |\n  line1\n  line2\n'),
      "pw",
    );
    expect(store.keys()).toEqual(["a", "b", "c", "d", "e", "f", "g"]);
    expect(Object.fromEntries(store.keys().map((k) => [k, store.get(k)]))).toEqual({
      a: "plain",
      b: "quoted: yes",
      c: "0123",
      d: "yes",
      e: "",
      f: "1e3",
      g: "line1\nline2\n",
    });
    expect(store.has("a")).toBe(true);
    expect(store.has("zz")).toBe(false);
    expect(store.get("zz")).toBeUndefined();
  });

  it("an empty vault, or one with only comments, has no keys", async () => {
    expect((await VaultStore.open(vaultFile(""), "pw")).keys()).toEqual([]);
    expect((await VaultStore.open(vaultFile("# nothing yet\n"), "pw")).keys()).toEqual([]);
  });

  it("rejects non-mappings, invalid YAML and duplicate keys, naming the file", async () => {
    const list = vaultFile("- a\n- b\n");
    await expect(VaultStore.open(list, "pw")).rejects.toThrow(`${list}: the vault must be a YAML mapping`);
    const broken = vaultFile("a: [\n");
    await expect(VaultStore.open(broken, "pw")).rejects.toThrow(
      new RegExp(`^${broken}:\\d+:\\d+: invalid YAML`),
    );
    const dup = vaultFile("a: 1\na: 2\n");
    await expect(VaultStore.open(dup, "pw")).rejects.toBeInstanceOf(InputError);
  });

  it("a wrong password or a missing file is a clear InputError", async () => {
    const p = vaultFile("a: 1\n");
    await expect(VaultStore.open(p, "nope")).rejects.toBeInstanceOf(VaultError);
    await expect(VaultStore.open(join(dir, "absent.yaml"), "pw")).rejects.toThrow(/does not exist/);
  });
});

describe("VaultStore.set and save", () => {
  it("keeps comments, the header version and the vault id; writes 0600 with no temp files left", async () => {
    const original =
      "# secrets for the lab\nk3s_token: old # rotated yearly\n\n# Grafana\ngrafana_admin_password: g\n";
    const p = vaultFile(original, { vaultId: "lab" });
    const store = await VaultStore.open(p, "pw");
    store.set("k3s_token", "new");
    store.set("slack_webhook", "https://hooks.example/x");
    await store.save();

    const { plaintext, version, vaultId } = decryptVault(readFileSync(p, "utf8"), "pw");
    expect(version).toBe("1.2");
    expect(vaultId).toBe("lab");
    expect(plaintext).toBe(
      "# secrets for the lab\nk3s_token: new # rotated yearly\n\n# Grafana\ngrafana_admin_password: g\nslack_webhook: https://hooks.example/x\n",
    );
    expect(mode(p)).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const reopened = await VaultStore.open(p, "pw");
    expect(reopened.get("k3s_token")).toBe("new");
  });

  it("values that YAML would read as something else are quoted, so they read back the same", async () => {
    const p = vaultFile("a: x\n");
    const store = await VaultStore.open(p, "pw");
    const tricky = {
      yes: "yes",
      on: "on",
      zero: "0123",
      tilde: "~",
      colon: "a: b",
      hash: "x #y",
      multi: "l1\nl2",
      space: " lead",
      empty: "",
    };
    for (const [k, v] of Object.entries(tricky)) store.set(k, v);
    await store.save();
    const back = await VaultStore.open(p, "pw");
    for (const [k, v] of Object.entries(tricky)) expect(back.get(k), k).toBe(v);
    // YAML 1.1 (ansible's PyYAML) would read an unquoted `yes`, key or value, as true.
    expect(decryptVault(readFileSync(p, "utf8"), "pw").plaintext).toContain('"yes": "yes"');
  });

  it("a key written as `yes` or `123` is updated in place, not duplicated", async () => {
    const p = vaultFile("yes: a\n123: b\n");
    const store = await VaultStore.open(p, "pw");
    expect(store.keys()).toEqual(["yes", "123"]);
    store.set("yes", "c");
    store.set("123", "d");
    await store.save();
    expect(decryptVault(readFileSync(p, "utf8"), "pw").plaintext).toBe("yes: c\n123: d\n");
  });

  it("replaces a symlink's target, not the link", async () => {
    const target = vaultFile("a: 1\n");
    const link = path("link.yaml");
    symlinkSync(target, link);
    const store = await VaultStore.open(link, "pw");
    store.set("a", "2");
    await store.save();
    expect(statSync(link, { throwIfNoEntry: true }).isFile()).toBe(true);
    expect((await VaultStore.open(target, "pw")).get("a")).toBe("2");
  });
});

describe("VaultStore.create", () => {
  it("writes a new 1.1 or 1.2 vault with mode 0600", async () => {
    const p = path();
    const store = await VaultStore.create(p, "pw", { k3s_token: "t", bmc_password: "yes" });
    expect(store.get("bmc_password")).toBe("yes");
    expect(mode(p)).toBe(0o600);
    expect(readFileSync(p, "utf8").split("\n")[0]).toBe("$ANSIBLE_VAULT;1.1;AES256");
    expect((await VaultStore.open(p, "pw")).get("bmc_password")).toBe("yes");

    const p2 = join(dir, "new-dir", "deeper", "v.yaml");
    await VaultStore.create(p2, "pw", {}, { vaultId: "prod" });
    expect(readFileSync(p2, "utf8").split("\n")[0]).toBe("$ANSIBLE_VAULT;1.2;AES256;prod");
  });

  it("refuses to overwrite an existing file, leaving it untouched", async () => {
    const p = vaultFile("a: 1\n");
    const before = readFileSync(p);
    await expect(VaultStore.create(p, "pw", { a: "2" })).rejects.toThrow(
      /already exists; refusing to overwrite/,
    );
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

describe("vault/example.yaml", () => {
  it("opens with the documented password and holds the keys the example inventory names", async () => {
    const example = fileURLToPath(new URL("../../vault/example.yaml", import.meta.url));
    const readme = readFileSync(fileURLToPath(new URL("../../vault/README.md", import.meta.url)), "utf8");
    const password = /password is \*\*`([^`]+)`\*\*/.exec(readme)?.[1];
    expect(password).toBe("powerstack-example");
    const store = await VaultStore.open(example, password!);
    expect(store.keys().sort()).toEqual([
      "bmc_password",
      "grafana_admin_password",
      "k3s_token",
      "slack_webhook",
    ]);
  });
});

// `up` holds the vault open for the whole run and stores a generated K3s token at its end: a `vault edit`
// or `rekey` done meanwhile must not be undone by that save.
describe("VaultStore.save when the file changed since it was opened", () => {
  it("keeps what was written meanwhile and sets this store's keys on top", async () => {
    const p = vaultFile("# lab\nbmc_password: b\n", { vaultId: "lab" });
    const up = await VaultStore.open(p, "pw");
    // Someone edits the vault while `up` runs.
    writeFileSync(
      p,
      encryptVault("# lab\nbmc_password: rotated\nslack_webhook: s\n", "pw", { vaultId: "lab" }),
    );
    up.set("k3s_token", "generated");
    await up.save();
    expect(decryptVault(readFileSync(p, "utf8"), "pw")).toEqual({
      plaintext: "# lab\nbmc_password: rotated\nslack_webhook: s\nk3s_token: generated\n",
      version: "1.2",
      vaultId: "lab",
    });
    expect(up.get("bmc_password")).toBe("rotated");
    // Saved again later, with nothing changed meanwhile: a plain write.
    up.set("k3s_token", "second");
    await up.save();
    expect((await VaultStore.open(p, "pw")).get("k3s_token")).toBe("second");
    expect((await VaultStore.open(p, "pw")).get("slack_webhook")).toBe("s");
  });

  it("rekeyed meanwhile: refuses, names the keys not stored (never their values), leaves the file as it is", async () => {
    const p = vaultFile("bmc_password: b\n");
    const up = await VaultStore.open(p, "pw");
    const rekeyed = encryptVault("bmc_password: b\n", "new-pw");
    writeFileSync(p, rekeyed);
    up.set("k3s_token", "tok-value-9");
    const err = (await up.save().then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(
      `${p} changed while powerstack ran and no longer opens with this run's password (rekeyed?); \`k3s_token\` not stored, the file left as it is`,
    );
    expect(err.message).not.toContain("tok-value-9");
    expect((err as { exitCode?: number }).exitCode).toBe(1);
    expect(readFileSync(p, "utf8")).toBe(rekeyed);
  });
});
