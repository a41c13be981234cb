/**
 * Issue 16, items 7 and 9-12: inventories a mistaken or hostile user gives. Each is refused with one
 * clear message at file:line:col and exit 2, quickly, without echoing what might be a secret.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadInventory, MAX_INVENTORY_BYTES, parseInventory } from "../../src/inventory/load.js";
import { excerpt, looksSecret, MAX_LISTED_PROBLEMS } from "../../src/inventory/schema-walker.js";
import { encryptVault } from "../../src/vault/format.js";
import { powerstack } from "../energy/cli.js";
// base: the minimal valid inventory each test breaks one thing in; the line numbers below refer to it.
import {
  INVENTORY_FILE as FILE,
  MINIMAL_INVENTORY as base,
  rejection as problems,
} from "../support/minimal-inventory.js";

const dir = mkdtempSync(join(tmpdir(), "powerstack-inventory-bad-input-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function one(text: string) {
  const err = problems(text);
  expect(err.problems).toHaveLength(1);
  return err.problems[0]!;
}

let n = 0;
function file(content: string | Buffer): string {
  const path = join(dir, `inv-${n++}.yaml`);
  writeFileSync(path, content);
  return path;
}

/** `powerstack render`: it loads the inventory and nothing else (no vault, no host). */
const render = (inventory: string) => powerstack(["render", "-i", inventory, join(dir, "rendered")]);

describe("item 9: YAML errors, each once, at the real line:col", () => {
  test("an unclosed quote is reported where it opens, not past the end of the file", () => {
    const p = one(base.replace("  - name: w1", '  - name: "w1'));
    expect(p).toMatchObject({ file: FILE, line: 8, col: 11, key: "(yaml)" });
    expect(p.message).toMatch(/double quote opened here is never closed/);
    expect(p.fix).toMatch(/close it with "/);
    const single = one(base.replace("nfs_network: 198.51.100.0/24", "nfs_network: '198.51.100.0/24"));
    expect(single).toMatchObject({ line: 2, col: 16 });
    expect(single.message).toMatch(/single quote/);
  });

  test("a duplicate key is named, with the lines of both", () => {
    const p = one(base.replace("    role: worker\n", "    role: worker\n    role: control\n"));
    expect(p).toMatchObject({ line: 10, col: 5, key: "nodes[1].role" });
    expect(p.message).toBe("duplicate key `role` (first at line 9): YAML would keep only this one");
  });

  test("one tab gives one message, at the tab, saying to indent with spaces", () => {
    for (const [text, line, col] of [
      [base.replace("    role: worker", "\trole: worker"), 9, 1],
      [base.replace("  nfs_network", "\tnfs_network"), 2, 1],
      [base.replace("    internal_ip: 198.51.100.10", "  \t  internal_ip: 198.51.100.10"), 6, 3],
    ] as const) {
      const p = one(text);
      expect(p).toMatchObject({ line, col, key: "(yaml)" });
      expect(p.message).toMatch(/tab in the indentation/);
      expect(p.fix).toMatch(/spaces/);
    }
  });

  test("an alias bomb is refused at the alias that crosses the limit, quickly", () => {
    const bomb =
      'a: &a ["x","x","x","x","x","x","x","x","x"]\n' +
      ["b", "c", "d", "e", "f", "g", "h", "i"]
        .map((k, i) => `${k}: &${k} [${Array(9).fill(`*${"abcdefgh"[i]}`).join(",")}]\n`)
        .join("") +
      base;
    const started = performance.now();
    const p = one(bomb);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(p).toMatchObject({ line: 5, col: 8, key: "e[0]" });
    expect(p.message).toMatch(/aliases expand the file past 10000 values here/);
  });

  test("an alias without an anchor is named at its place", () => {
    const p = one(base.replace("role: worker", "role: *worker"));
    expect(p).toMatchObject({ line: 9, col: 11, key: "nodes[1].role" });
    expect(p.message).toMatch(/alias `\*worker` has no anchor/);
  });

  test("a parser message that would quote the file is replaced by its meaning", () => {
    const p = one(base.replace("nfs_network: 198.51.100.0/24", 'nfs_network: "\\q-not-shown"'));
    expect(p).toMatchObject({ line: 2, col: 17 });
    expect(p.message).toBe("an invalid escape sequence in a double-quoted string");
  });

  test("through the CLI: file:line:col once, exit 2", async () => {
    const results = await Promise.all([
      render(file(base.replace("  - name: w1", '  - name: "w1'))),
      render(file(base.replace("    role: worker", "\trole: worker"))),
      render(file(base.replace("    role: worker\n", "    role: worker\n    role: control\n"))),
    ]);
    const [quote, tab, dup] = results;
    for (const r of results) {
      expect(r.code).toBe(2);
      expect(r.stderr.match(/\.yaml:\d+:\d+: /g)).toHaveLength(1);
    }
    expect(quote!.stderr).toMatch(
      /inv-\d+\.yaml:8:11: \(yaml\): the double quote opened here is never closed/,
    );
    expect(tab!.stderr).toMatch(/inv-\d+\.yaml:9:1: \(yaml\): a tab in the indentation/);
    expect(dup!.stderr).toMatch(
      /inv-\d+\.yaml:10:5: nodes\[1\]\.role: duplicate key `role` \(first at line 9\)/,
    );
  });
});

describe("item 7: errors never echo a secret", () => {
  test("a password file given as -i: refused, its content never printed", async () => {
    const password = randomBytes(24).toString("base64");
    const r = await render(file(`${password}\n`));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/:1:1: \(top level\): not an inventory: the file is a single value/);
    expect(r.stdout + r.stderr).not.toContain(password.slice(0, 6));
  });

  test("a password that happens to parse as a mapping: its keys are not shown either", () => {
    const p = one("hunter2-is-my: password\n");
    expect(p.message).toMatch(/none of its 1 top-level key\(s\) is one of/);
    expect(p.message).not.toContain("hunter2");
    // A mistyped inventory still gets its did-you-mean.
    expect(problems(base.replace("cluster:", "clustr:")).problems[0]!.fix).toMatch(/did you mean `cluster`/);
  });

  test("a binary file is refused as not text, without dumping it", async () => {
    const binary = Buffer.concat([Buffer.from("cluster:\n  name: "), randomBytes(4096)]);
    const elf = Buffer.concat([
      Buffer.from("\x7fELF\x02\x01\x01\0"),
      Buffer.from("nodes: secret-bytes\n".repeat(50)),
    ]);
    const [r, e] = await Promise.all([render(file(binary)), render(file(elf))]);
    for (const x of [r, e]) {
      expect(x.code).toBe(2);
      expect(x.stderr).toMatch(/is not a text\/YAML file: it holds (binary data|bytes that are not UTF-8)/);
      expect(x.stderr.length).toBeLessThan(400);
    }
    expect(e.stderr).not.toContain("secret-bytes");
  });

  test("random printable garbage: no run of it appears in the message, whatever the parser makes of it", () => {
    // Seeded (mulberry32), so every run tries the same 300 files.
    let seed = 16;
    const next = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 :-[]{},#&*!|>'\"%@`?\n\t";
    for (let f = 0; f < 300; f++) {
      const text = Array.from({ length: 400 }, () => alphabet[Math.floor(next() * alphabet.length)]).join("");
      let message = "";
      try {
        parseInventory(text, FILE);
      } catch (err) {
        message = (err as Error).message.replaceAll(FILE, "");
      }
      expect(message, text).not.toBe("");
      for (let i = 0; i + 12 <= text.length; i++) {
        const run = text.slice(i, i + 12);
        if (!/^[a-z0-9]+$/.test(run) || run.length < 12) continue;
        expect(message, text).not.toContain(run);
      }
    }
  });

  test("a long or unprintable value is quoted as a short printable excerpt", () => {
    const long = "a".repeat(5000);
    const p = one(base.replace("role: worker", `role: ${long}`));
    expect(p.message.length).toBeLessThan(200);
    expect(p.message).toMatch(/^`a{39}…` is not one of/);
    const ctl = one(base.replace("role: worker", 'role: "wor\\u0007ker"'));
    expect(ctl.message).toMatch(/^`wor\uFFFDker` is not one of/);
  });

  test("a secret typed where a vault key name belongs is not echoed", () => {
    const err = problems(base.replace("cluster:\n", "cluster:\n  k3s: { token: Sup3r-S3cret-Tok3n }\n"));
    expect(err.message).toMatch(/unknown key `token`/);
    expect(err.message).not.toContain("Sup3r");
  });

  test("excerpt: secret-looking keys are hidden, `*_secret` names are shown", () => {
    for (const key of ["password", "adminPassword", "token", "api_key", "k3s_token", "privateKey"])
      expect([key, looksSecret(["cluster", key])]).toEqual([key, true]);
    for (const key of ["token_secret", "bmc_password_secret", "key_file", "name", "role"])
      expect([key, looksSecret(["cluster", key])]).toEqual([key, false]);
    expect(excerpt("hunter2", ["grafana", "adminPassword"])).not.toContain("hunter2");
    expect(excerpt("bmc_password", ["password_secret"])).toBe("bmc_password");
  });
});

describe("item 10: limits", () => {
  test("an inventory over 1 MiB is refused before parsing, naming the limit and its size; fast", async () => {
    // 20 MB of a plausible inventory: nodes after nodes.
    const node = (i: number) => `  - name: n${i}\n    role: worker\n    internal_ip: 198.51.100.${i % 256}\n`;
    const chunk = Array.from({ length: 1000 }, (_, i) => node(i)).join("");
    const big = file(base + chunk.repeat(Math.ceil((20 * 1024 * 1024) / chunk.length)));
    let started = performance.now();
    expect(() => loadInventory(big)).toThrow(/is 20\.\d MiB \(\d+ bytes\), over the 1\.0 MiB limit/);
    expect(performance.now() - started).toBeLessThan(1000);
    // Given as text (as `init` does), the same limit holds.
    started = performance.now();
    expect(() => parseInventory("#".repeat(MAX_INVENTORY_BYTES + 1), FILE)).toThrow(
      /over the 1\.0 MiB limit/,
    );
    expect(performance.now() - started).toBeLessThan(1000);
    const r = await render(big);
    expect(r.code).toBe(2);
    expect(r.stderr.length).toBeLessThan(400);
  });

  test("750 000 errors: refused fast, with a short message", async () => {
    const errors = file(
      base.replace(
        "    storage_disk: /dev/vdb\n",
        "    storage_disk: /dev/vdb\n    labels:\n" + "      - =\n".repeat(750_000),
      ),
    );
    const started = performance.now();
    expect(() => loadInventory(errors)).toThrow(/over the 1\.0 MiB limit/);
    expect(performance.now() - started).toBeLessThan(1000);
    // Under 1 MiB, a flow list of tiny items is still half a million YAML nodes: refused before parsing.
    const flow = base.replace(
      "    storage_disk: /dev/vdb\n",
      `    storage_disk: /dev/vdb\n    labels: [${"=,".repeat(500_000)}]\n`,
    );
    expect(() => parseInventory(flow, FILE)).toThrow(/has 500\d+ lines and commas, over the 100000 limit/);
    const r = await render(errors);
    expect(r.code).toBe(2);
    expect(r.stderr.length).toBeLessThan(400);
  });

  test("a device or pipe without end is read only up to the limit", () => {
    const started = performance.now();
    expect(() => loadInventory("/dev/zero")).toThrow(/is over the 1\.0 MiB limit: reading stopped there/);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test("nesting too deep for the parser, a second document, a control character: one located message each", () => {
    const deep = one(`cluster: ${"[".repeat(3000)}${"]".repeat(3000)}\n`);
    expect(deep).toMatchObject({ line: 1, key: "(yaml)" });
    expect(deep.message).toBe("the values nest too deeply here for the parser");
    expect(one(`${base}---\nnodes: []\n`)).toMatchObject({
      line: 11,
      col: 1,
      message: "a second YAML document (after `---`)",
    });
    expect(() => parseInventory(base.replace("role: worker", "role: wor\x01ker"), FILE)).toThrow(
      /not a text\/YAML file: it holds binary data \(a control character first at line 9, column 14\)/,
    );
  });

  test("past 50 problems, the rest are counted, not listed", () => {
    const labels = "    labels:\n" + "      - =\n".repeat(2000);
    const err = problems(
      base.replace("    storage_disk: /dev/vdb\n", `    storage_disk: /dev/vdb\n${labels}`),
    );
    expect(err.problems).toHaveLength(MAX_LISTED_PROBLEMS);
    expect(err.unlisted).toBe(2000 - MAX_LISTED_PROBLEMS);
    expect(
      err.message.split("\n").filter((l) => /^\/srv\/inv\.yaml:\d+:\d+: /.test(l) || /: \/srv/.test(l)),
    ).toHaveLength(MAX_LISTED_PROBLEMS);
    expect(err.message).toMatch(/\n\.\.\. and 1950 more problem\(s\), not listed/);
    // Duplicate keys are counted the same way.
    const dups = problems(base + "vault_file: x\n".repeat(200));
    expect(dups.problems).toHaveLength(MAX_LISTED_PROBLEMS);
    expect(dups.unlisted).toBe(199 - MAX_LISTED_PROBLEMS);
  });
});

describe("item 12: two nodes on one SSH address and port", () => {
  const withSsh = (ctl: string, w1: string, top = "") =>
    top +
    base
      .replace("    internal_ip: 198.51.100.10\n", `    internal_ip: 198.51.100.10\n${ctl}`)
      .replace("    internal_ip: 198.51.100.11\n", `    internal_ip: 198.51.100.11\n${w1}`);

  test("the same ssh_address and default port: refused, naming both nodes", () => {
    const p = one(withSsh("", "    ssh_address: 198.51.100.10\n"));
    expect(p).toMatchObject({ line: 11, col: 18, key: "nodes[1].ssh_address" });
    expect(p.message).toBe(
      "nodes `ctl` (nodes[0]) and `w1` both connect to SSH 198.51.100.10:22: one machine would get both nodes' roles",
    );
  });

  test("the effective port counts: the node's ssh_port, else ssh.port", () => {
    expect(
      one(withSsh("    ssh_port: 2222\n", "    ssh_address: 198.51.100.10\n    ssh_port: 2222\n")).message,
    ).toMatch(/both connect to SSH 198\.51\.100\.10:2222/);
    expect(
      one(
        withSsh(
          "    ssh_address: gw.lab\n",
          "    ssh_address: GW.lab\n    ssh_port: 2200\n",
          "ssh: { port: 2200 }\n",
        ),
      ).message,
    ).toMatch(/both connect to SSH gw\.lab:2200/);
    // One address, two ports (nodes behind one NAT address): fine.
    expect(() =>
      parseInventory(
        withSsh("    ssh_address: gw.lab\n", "    ssh_address: gw.lab\n    ssh_port: 2201\n"),
        FILE,
      ),
    ).not.toThrow();
  });

  test("reached through one external_ip: refused; one internal IP is reported once, as such", () => {
    expect(one(withSsh("    external_ip: 192.0.2.1\n", "    external_ip: 192.0.2.1\n")).key).toBe(
      "nodes[1].external_ip",
    );
    expect(one(base.replace("198.51.100.11", "198.51.100.10")).message).toMatch(/duplicate internal IP/);
  });
});

describe("item 11: a vault key the vault lacks, at the inventory's line", () => {
  test("up names file:line:col of the `*_secret` key, exit 2, before any host", async () => {
    const password = "Pw-for-bad-input-test";
    const pwFile = join(dir, "vault-pass");
    writeFileSync(pwFile, password + "\n", { mode: 0o600 });
    const vault = join(dir, "vault.yaml");
    writeFileSync(vault, encryptVault("grafana_admin_password: g\nk3s_token: t\n", password), {
      mode: 0o600,
    });
    const inv = file(
      `vault_file: ${vault}\n` +
        base.replace(
          "    storage_disk: /dev/vdb\n",
          "    storage_disk: /dev/vdb\n    bmc:\n      address: https://127.0.0.1:1\n      username: u\n      password_secret: bmc_pw_missing\n",
        ),
    );
    const r = await powerstack(["up", "--check", "-i", inv, "--vault-password-file", pwFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${inv}:12:7: nodes[0].bmc.password_secret: names vault key \`bmc_pw_missing\`, which ${vault} lacks`,
    );
    expect(r.stderr).toMatch(/fix: add the key with `powerstack vault edit/);
    expect(r.stderr.match(/names vault key/g)).toHaveLength(1);

    // A `*_secret` key left to its default: at its nearest written ancestor, saying so.
    writeFileSync(vault, encryptVault("bmc_pw_missing: b\n", password), { mode: 0o600 });
    const defaulted = await powerstack(["up", "--check", "-i", inv, "--vault-password-file", pwFile]);
    expect(defaulted.code).toBe(2);
    expect(defaulted.stderr).toContain(
      `${inv}:3:3: cluster.monitoring.grafana_admin_password_secret: names vault key \`grafana_admin_password\`, which ${vault} lacks (the default: the key is not written)`,
    );
  });
});
