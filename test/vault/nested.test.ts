/**
 * Vaults as Ansible users write them (issue 18, item 5): values nested in mappings and lists, named by dotted
 * paths; a `set` changes only the value's own bytes. The files are written with our encryptVault (the same
 * format ansible-vault writes; ansible-interop.test.ts checks the real tool on a nested file).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { decryptVault, encryptVault } from "../../src/vault/format.js";
import { VaultStore } from "../../src/vault/store.js";
import { NESTED_VAULT, NESTED_VAULT_VALUES } from "../support/nested-vault.js";

const dir = mkdtempSync(join(tmpdir(), "powerstack-nested-vault-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function vaultFile(plaintext: string): string {
  const p = join(dir, `v${n++}.yaml`);
  writeFileSync(p, encryptVault(plaintext, "pw"));
  return p;
}
const plaintextOf = (p: string) => decryptVault(readFileSync(p, "utf8"), "pw").plaintext;
/** A new file holding NESTED_VAULT, and the store opened on it. */
async function openNestedCopy(): Promise<{ p: string; store: VaultStore }> {
  const p = vaultFile(NESTED_VAULT);
  return { p, store: await VaultStore.open(p, "pw") };
}

describe("reading a nested vault by dotted paths", () => {
  it("every value by its path, as the text written; keys() and leafPaths() list them in file order", async () => {
    const store = await VaultStore.open(vaultFile(NESTED_VAULT), "pw");
    const expected = NESTED_VAULT_VALUES;
    expect(store.leafPaths()).toEqual(Object.keys(expected));
    // context.ts redacts `get(k)` for every `k` of keys(): every nested value must be among them.
    expect(store.keys()).toEqual(store.leafPaths());
    expect(Object.fromEntries(store.keys().map((k) => [k, store.get(k)]))).toEqual(expected);
    expect(store.has("ansible_vault.token")).toBe(true);
    expect(store.has("ansible_vault.nope")).toBe(false);
    expect(store.get("ansible_vault.token.deeper")).toBeUndefined();
    expect(store.get("ansible_vault.ssh_keys.2")).toBeUndefined();
    expect(store.get("ansible_vault.ssh_keys.01")).toBeUndefined();
    expect(store.get("token")).toBeUndefined();
  });

  it("a path to a mapping or a list is an InputError naming the path and what is there", async () => {
    const { p, store } = await openNestedCopy();
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as InputError;
      }
      throw new Error("expected an error");
    };
    const map = err(() => store.get("ansible_vault.bmc"));
    expect(map).toBeInstanceOf(InputError);
    expect(map.message).toBe(
      `${p}: vault key \`ansible_vault.bmc\` is a mapping (keys: user, password), not a single value`,
    );
    expect(map.fix).toBe("name one of its values, e.g. `ansible_vault.bmc.user`");
    // has() too: the inventory named something that is there, only not a value; "missing" would mislead.
    expect(err(() => store.has("ansible_vault")).message).toMatch(
      /`ansible_vault` is a mapping \(keys: token, /,
    );
    const list = err(() => store.get("ansible_vault.ssh_keys"));
    expect(list.message).toBe(
      `${p}: vault key \`ansible_vault.ssh_keys\` is a list of 2 item(s), not a single value`,
    );
    expect(list.fix).toMatch(/e\.g\. `ansible_vault\.ssh_keys\.0`/);
  });

  it("a key holding dots: the exact key wins, at the top and below; a value it shadows is listed nowhere", async () => {
    const store = await VaultStore.open(
      vaultFile('"a.b": top\na:\n  b: shadowed\n  c: reachable\nx:\n  "y.z": deep\n'),
      "pw",
    );
    expect(store.get("a.b")).toBe("top");
    expect(store.get("a.c")).toBe("reachable");
    expect(store.get("x.y.z")).toBe("deep");
    expect(store.leafPaths()).toEqual(["a.b", "a.c", "x.y.z"]);
    // Writing follows the same rule: the exact key is the one changed.
    store.set("a.b", "changed");
    store.set("x.y.z", "deeper");
    await store.save();
    expect(plaintextOf(store.path)).toBe(
      '"a.b": changed\na:\n  b: shadowed\n  c: reachable\nx:\n  "y.z": deeper\n',
    );
  });

  it("aliases are read through; a vault of only comments has no names", async () => {
    const store = await VaultStore.open(
      vaultFile("base: &pw s3cret\nbmc:\n  password: *pw   # shared\n"),
      "pw",
    );
    expect(store.get("bmc.password")).toBe("s3cret");
    expect(store.leafPaths()).toEqual(["base", "bmc.password"]);
    expect(() => store.set("bmc.password", "x")).toThrow(/goes through a YAML alias/);
    // A change elsewhere leaves the anchor and its alias as written.
    store.set("bmc.user", "admin");
    await store.save();
    expect(plaintextOf(store.path)).toBe(
      "base: &pw s3cret\nbmc:\n  password: *pw   # shared\n  user: admin\n",
    );
    expect((await VaultStore.open(vaultFile("# later\n"), "pw")).leafPaths()).toEqual([]);
  });
});

describe("set and save on a nested vault: only the changed value's bytes change", () => {
  it("in place: a plain value keeps its comment, a block scalar stays a block, a list item, a flow value, an empty value", async () => {
    const { p, store } = await openNestedCopy();
    store.set("ansible_vault.token", "K10new::server:abc");
    store.set("ansible_vault.ca", "-----BEGIN CERTIFICATE-----\nNEW\n-----END CERTIFICATE-----\n");
    store.set("ansible_vault.ssh_keys.1", "ssh-ed25519 BBBB three");
    store.set("ansible_vault.slack.webhook", "https://hooks.example/new, with comma");
    store.set("ansible_vault.unset", "now set");
    await store.save();
    expect(plaintextOf(p)).toBe(
      NESTED_VAULT.replace("K10abc::server:xyz   #", "K10new::server:abc   #")
        .replace("    MIIB\n", "    NEW\n")
        .replace("  - ssh-ed25519 AAAA two", "  - ssh-ed25519 BBBB three")
        .replace("https://hooks.example/T/B/X,", '"https://hooks.example/new, with comma",')
        .replace("  unset:\n", "  unset: now set\n"),
    );
    const back = await VaultStore.open(p, "pw");
    expect(back.get("ansible_vault.slack.webhook")).toBe("https://hooks.example/new, with comma");
    expect(back.get("ansible_vault.slack.enabled")).toBe("yes");
  });

  it("new names: added at the end of their mapping, indented like it; missing mappings are created", async () => {
    const { p, store } = await openNestedCopy();
    store.set("ansible_vault.bmc.ipmi_password", "yes");
    store.set("k3s.token", "generated");
    store.set("note", "two\nlines");
    expect(store.get("k3s.token")).toBe("generated");
    await store.save();
    expect(plaintextOf(p)).toBe(
      NESTED_VAULT.replace("    password: 0123\n", '    password: 0123\n    ipmi_password: "yes"\n') +
        "k3s:\n  token: generated\nnote: |-\n  two\n  lines\n",
    );
    // A second save splices into the text the first one wrote.
    store.set("k3s.token", "rotated");
    await store.save();
    expect(plaintextOf(p)).toContain("k3s:\n  token: rotated\nnote: |-\n");
  });

  it("a value a change cannot be spliced into (a new key in a flow mapping) re-serialises the Document: comments kept, values right", async () => {
    const p = vaultFile("# kept\nslack: {webhook: w}   # flow\nother: o # also kept\n");
    const store = await VaultStore.open(p, "pw");
    store.set("slack.channel", "#lab");
    await store.save();
    const text = plaintextOf(p);
    expect(text).toContain("# kept\n");
    expect(text).toContain("# flow");
    expect(text).toContain("other: o # also kept\n");
    const back = await VaultStore.open(p, "pw");
    expect(Object.fromEntries(back.keys().map((k) => [k, back.get(k)]))).toEqual({
      "slack.webhook": "w",
      "slack.channel": "#lab",
      other: "o",
    });
  });

  it("refuses to replace a mapping or list, to go through a single value, or past a list's end", async () => {
    const { p, store } = await openNestedCopy();
    expect(() => store.set("ansible_vault.bmc", "x")).toThrow(
      `${p}: vault key \`ansible_vault.bmc\` is a mapping; powerstack will not replace it with a single value`,
    );
    expect(() => store.set("ansible_vault.token.sub", "x")).toThrow(
      `${p}: vault key \`ansible_vault.token.sub\`: \`ansible_vault.token\` is a single value, it cannot hold \`sub\``,
    );
    expect(() => store.set("ansible_vault.ssh_keys.5", "x")).toThrow(
      `${p}: vault key \`ansible_vault.ssh_keys.5\`: the list \`ansible_vault.ssh_keys\` has no item \`5\` (it has 2)`,
    );
  });

  it("a nested name set by `up` survives a `vault edit` made meanwhile", async () => {
    const p = vaultFile(NESTED_VAULT);
    const up = await VaultStore.open(p, "pw");
    const edited = NESTED_VAULT.replace("user: USERID", "user: admin # changed meanwhile");
    writeFileSync(p, encryptVault(edited, "pw"));
    up.set("ansible_vault.token", "K10generated");
    await up.save();
    expect(plaintextOf(p)).toBe(edited.replace("K10abc::server:xyz   #", "K10generated   #"));
    expect(up.get("ansible_vault.bmc.user")).toBe("admin");
  });

  it("the store shows no secret when logged or serialised", async () => {
    const store = await VaultStore.open(vaultFile(NESTED_VAULT), "pw");
    const { inspect } = await import("node:util");
    expect(inspect(store, { depth: 10 })).not.toContain("K10abc");
    expect(JSON.stringify(store)).not.toContain("K10abc");
  });
});
