import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { CREATE_TEMPLATE } from "../../src/cli/vault.js";
import { decryptVault, encryptVault } from "../../src/vault/format.js";
import { resetVaultPasswordCache } from "../../src/vault/password.js";

// The terminal prompts, replaced: each test queues what a user would type or answer.
const typed: string[] = [];
const confirms: boolean[] = [];
const prompts: string[] = [];
vi.mock("@inquirer/prompts", () => ({
  password: vi.fn(async ({ message }: { message: string }) => {
    prompts.push(message);
    const next = typed.shift();
    if (next === undefined) throw new Error(`unexpected prompt: ${message}`);
    return next;
  }),
  confirm: vi.fn(async ({ message }: { message: string }) => {
    prompts.push(message);
    const next = confirms.shift();
    if (next === undefined) throw new Error(`unexpected prompt: ${message}`);
    return next;
  }),
}));

const PASSWORD = "Pw-never-shown-7f3a";
const NEW_PASSWORD = "New-pw-never-shown-91c2";

const dir = mkdtempSync(join(tmpdir(), "powerstack-vault-cli-test-"));
const pwFile = join(dir, "pass");
const newPwFile = join(dir, "new-pass");
const wrongPwFile = join(dir, "wrong-pass");
writeFileSync(pwFile, PASSWORD + "\n");
writeFileSync(newPwFile, NEW_PASSWORD + "\n");
writeFileSync(wrongPwFile, "not-the-password\n");

/** Editors are tiny shell scripts; they log what they saw to editor.log for the assertions. */
const editorLog = join(dir, "editor.log");
function editor(name: string, body: string): string {
  const path = join(dir, `${name}.sh`);
  writeFileSync(
    path,
    `#!/bin/sh\nprintf '%s %s %s\\n' "$1" "$(stat -c %a "$(dirname "$1")")" "$(stat -c %a "$1")" >> '${editorLog}'\n${body}\n`,
    {
      mode: 0o700,
    },
  );
  return path;
}
const ADD_SECRETS = editor("add", `printf 'k3s_token: tok-1\\nbmc_password: "yes"\\n' >> "$1"`);
const ROTATE = editor("rotate", `sed -i 's/^k3s_token: [a-z0-9-]*/k3s_token: rotated/' "$1"`);
const NOOP = editor("noop", "true");
const BREAK_YAML = editor("break", `printf 'k3s_token: [\\n' > "$1"`);
const FAIL = editor("fail", "exit 1");
// Breaks the YAML on its first run, writes a valid vault on the second (the user fixing their typo).
const BREAK_THEN_FIX = editor(
  "break-then-fix",
  `if [ -e '${dir}/fixed-once' ]; then printf 'k3s_token: fixed\\n' > "$1"; else touch '${dir}/fixed-once'; printf 'k3s_token: [\\n' > "$1"; fi`,
);

let n = 0;
const file = (content?: string) => {
  const p = join(dir, `vault-${n++}.yaml`);
  if (content !== undefined) writeFileSync(p, content, { mode: 0o600 });
  return p;
};
const vault = (plaintext: string, vaultId?: string) => file(encryptVault(plaintext, PASSWORD, { vaultId }));

/** Everything any run printed, checked at the end for the passwords. */
const everything: string[] = [];

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const capture = (into: string[]) => (chunk: string | Uint8Array) => {
    into.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  const so = vi
    .spyOn(process.stdout, "write")
    .mockImplementation(capture(out) as typeof process.stdout.write);
  const se = vi
    .spyOn(process.stderr, "write")
    .mockImplementation(capture(err) as typeof process.stderr.write);
  try {
    resetVaultPasswordCache();
    const code = await main(argv);
    everything.push(...out, ...err);
    return { code, stdout: out.join(""), stderr: err.join("") };
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
}
const withPw = (...argv: string[]) => run(...argv, "--vault-password-file", pwFile);
const plaintextOf = (p: string, password = PASSWORD) => decryptVault(readFileSync(p, "utf8"), password, p);
const mode = (p: string) => statSync(p).mode & 0o777;

const savedEnv = { ...process.env };
const wasTTY = process.stdin.isTTY;
beforeEach(() => {
  Object.defineProperty(process.stdin, "isTTY", { value: false, configurable: true });
  delete process.env.POWERSTACK_VAULT_PASSWORD;
  delete process.env.VISUAL;
  writeFileSync(editorLog, "");
  typed.length = 0;
  confirms.length = 0;
  prompts.length = 0;
});
afterEach(() => {
  process.env = { ...savedEnv };
  Object.defineProperty(process.stdin, "isTTY", { value: wasTTY, configurable: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const setTTY = (value: boolean) =>
  Object.defineProperty(process.stdin, "isTTY", { value, configurable: true });

function editorRuns(): Array<{ path: string; dirMode: string; fileMode: string }> {
  return readFileSync(editorLog, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [path, dirMode, fileMode] = l.split(" ") as [string, string, string];
      return { path, dirMode, fileMode };
    });
}

describe("vault create", () => {
  it("opens $EDITOR on a private temp file, encrypts the result 0600, and removes the temp dir", async () => {
    process.env.EDITOR = ADD_SECRETS;
    const p = join(dir, "sub", "created.yaml");
    const r = await withPw("vault", "create", p);
    expect(r).toMatchObject({ code: 0, stdout: "" });
    expect(r.stderr).toBe(`${p}: created, encrypted\n`);

    const [seen] = editorRuns();
    expect(seen).toMatchObject({ dirMode: "700", fileMode: "600" });
    expect(seen!.path.startsWith(tmpdir())).toBe(true);
    expect(seen!.path.endsWith("/created.yaml")).toBe(true);
    expect(existsSync(seen!.path)).toBe(false);
    expect(existsSync(join(seen!.path, ".."))).toBe(false);

    expect(mode(p)).toBe(0o600);
    expect(plaintextOf(p)).toEqual({
      plaintext: `${CREATE_TEMPLATE}k3s_token: tok-1\nbmc_password: "yes"\n`,
      version: "1.1",
      vaultId: undefined,
    });
  });

  it("--vault-id writes a 1.2 header; the global flag works before the command too", async () => {
    process.env.EDITOR = ADD_SECRETS;
    const p = file();
    expect((await run("--vault-password-file", pwFile, "vault", "create", p, "--vault-id", "lab")).code).toBe(
      0,
    );
    expect(plaintextOf(p)).toMatchObject({ version: "1.2", vaultId: "lab" });
  });

  it("refuses to overwrite, and writes nothing when the template is left unchanged", async () => {
    process.env.EDITOR = ADD_SECRETS;
    const existing = vault("a: 1\n");
    const before = readFileSync(existing);
    const r = await withPw("vault", "create", existing);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/already exists; refusing to overwrite it/);
    expect(readFileSync(existing).equals(before)).toBe(true);
    expect(editorRuns()).toEqual([]);

    process.env.EDITOR = NOOP;
    const p = file();
    expect((await withPw("vault", "create", p)).code).toBe(2);
    expect(existsSync(p)).toBe(false);

    process.env.EDITOR = FAIL;
    const failed = await withPw("vault", "create", p);
    expect(failed.stderr).toMatch(/failed \(exit code 1\); nothing was written\n/);
    expect(existsSync(p)).toBe(false);
  });
});

describe("vault view and edit", () => {
  it("view prints the plaintext, and POWERSTACK_VAULT_PASSWORD works", async () => {
    const p = vault("# c\nk3s_token: t\n");
    expect(await withPw("vault", "view", p)).toEqual({ code: 0, stdout: "# c\nk3s_token: t\n", stderr: "" });
    process.env.POWERSTACK_VAULT_PASSWORD = PASSWORD;
    expect((await run("vault", "view", p)).stdout).toBe("# c\nk3s_token: t\n");
  });

  it("edit re-encrypts a change, keeping comments, the 1.2 vault id and mode 0600", async () => {
    process.env.EDITOR = ROTATE;
    const p = vault("# rotated by ops\nk3s_token: old # keep me\nbmc_password: b\n", "lab");
    writeFileSync(p, readFileSync(p), { mode: 0o644 });
    const r = await withPw("vault", "edit", p);
    expect(r).toMatchObject({ code: 0, stderr: `${p}: saved\n` });
    expect(plaintextOf(p)).toEqual({
      plaintext: "# rotated by ops\nk3s_token: rotated # keep me\nbmc_password: b\n",
      version: "1.2",
      vaultId: "lab",
    });
    expect(mode(p)).toBe(0o600);
    const [seen] = editorRuns();
    expect(existsSync(join(seen!.path, ".."))).toBe(false);
  });

  it("edit without a change leaves the file byte-identical", async () => {
    process.env.EDITOR = NOOP;
    const p = vault("a: 1\n");
    const before = readFileSync(p);
    const mtime = statSync(p).mtimeMs;
    expect(await withPw("vault", "edit", p)).toMatchObject({ code: 0, stderr: `${p}: no changes\n` });
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(statSync(p).mtimeMs).toBe(mtime);
  });

  it("invalid YAML or a failing editor: exit 2, file untouched, temp removed", async () => {
    const p = vault("k3s_token: t\n");
    const before = readFileSync(p);
    process.env.EDITOR = BREAK_YAML;
    const broken = await withPw("vault", "edit", p);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(
      new RegExp(
        `^powerstack: ${p} \\(edited\\):\\d+:\\d+: invalid YAML in the vault: .*; the vault was left as it was\\n`,
      ),
    );
    process.env.EDITOR = FAIL;
    const failed = await withPw("vault", "edit", p);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(
      /the editor ".*fail\.sh" failed \(exit code 1\); the vault was left as it was/,
    );
    expect(readFileSync(p).equals(before)).toBe(true);
    for (const seen of editorRuns()) expect(existsSync(join(seen.path, ".."))).toBe(false);
  });
});

describe("a wrong password", () => {
  it("is one line on stderr, exit 2, and leaves the file byte-identical, for every action that reads", async () => {
    process.env.EDITOR = ROTATE;
    const p = vault("k3s_token: t\n", "lab");
    const before = readFileSync(p);
    const mtime = statSync(p).mtimeMs;
    for (const action of ["view", "edit", "decrypt", "rekey"]) {
      const extra = action === "rekey" ? ["--new-vault-password-file", newPwFile] : [];
      const r = await run("vault", action, p, "--vault-password-file", wrongPwFile, ...extra);
      expect(r, action).toEqual({
        code: 2,
        stdout: "",
        stderr: `powerstack: ${p}: wrong vault password, or the file was modified (HMAC mismatch)\n`,
      });
    }
    expect(readFileSync(p).equals(before)).toBe(true);
    expect(statSync(p).mtimeMs).toBe(mtime);
    expect(editorRuns()).toEqual([]);
  });

  it("no password source and no terminal: says how to give one", async () => {
    const r = await run("vault", "view", vault("a: 1\n"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /no terminal to ask it on\n {2}fix: pass --vault-password-file <file> or set POWERSTACK_VAULT_PASSWORD\n$/,
    );
  });
});

describe("vault encrypt and decrypt", () => {
  it("encrypt in place (0600), then refuses to encrypt again; decrypt restores the exact bytes", async () => {
    const plain = "# mine\nk3s_token: t\n";
    const p = file(plain);
    expect(await withPw("vault", "encrypt", p)).toMatchObject({ code: 0, stderr: `${p}: encrypted\n` });
    expect(mode(p)).toBe(0o600);
    expect(plaintextOf(p).plaintext).toBe(plain);

    const encrypted = readFileSync(p);
    const again = await withPw("vault", "encrypt", p);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(new RegExp(`^powerstack: ${p} is already encrypted\\n`));
    expect(readFileSync(p).equals(encrypted)).toBe(true);

    expect(await withPw("vault", "decrypt", p)).toMatchObject({ code: 0, stderr: `${p}: decrypted\n` });
    expect(readFileSync(p, "utf8")).toBe(plain);
    expect(mode(p)).toBe(0o600);
    const plainAgain = await withPw("vault", "decrypt", p);
    expect(plainAgain.code).toBe(2);
    expect(plainAgain.stderr).toMatch(/is not encrypted \(no \$ANSIBLE_VAULT header\)/);
  });

  it("--output writes elsewhere (or to stdout with -), leaving the source as it was", async () => {
    const src = file("a: 1\n");
    const out = join(dir, "out.yaml");
    expect((await withPw("vault", "encrypt", src, "--output", out, "--vault-id", "lab")).code).toBe(0);
    expect(readFileSync(src, "utf8")).toBe("a: 1\n");
    expect(plaintextOf(out)).toMatchObject({ plaintext: "a: 1\n", vaultId: "lab" });

    const toStdout = await withPw("vault", "decrypt", out, "--output", "-");
    expect(toStdout.stdout).toBe("a: 1\n");
    expect(readFileSync(out, "utf8")).toMatch(/^\$ANSIBLE_VAULT;1\.2;AES256;lab\n/);
  });

  it("encrypt refuses a file powerstack could not use as a vault", async () => {
    const p = file("- root\n- admin\n");
    const r = await withPw("vault", "encrypt", p);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the vault must be a YAML mapping of `key: value` lines, not a list/);
    expect(readFileSync(p, "utf8")).toBe("- root\n- admin\n");
  });
});

describe("vault rekey", () => {
  it("re-encrypts with the new password, keeping the vault id unless --vault-id is given", async () => {
    const p = vault("k3s_token: t\n", "lab");
    expect(await withPw("vault", "rekey", p, "--new-vault-password-file", newPwFile)).toMatchObject({
      code: 0,
      stderr: `${p}: rekeyed (vault id lab)\n`,
    });
    expect(plaintextOf(p, NEW_PASSWORD)).toEqual({
      plaintext: "k3s_token: t\n",
      version: "1.2",
      vaultId: "lab",
    });
    expect(() => plaintextOf(p, PASSWORD)).toThrow(/wrong vault password/);

    const r = await run(
      "vault",
      "rekey",
      p,
      "--vault-password-file",
      newPwFile,
      "--new-vault-password-file",
      pwFile,
      "--vault-id",
      "prod",
    );
    expect(r.code).toBe(0);
    expect(plaintextOf(p)).toMatchObject({ version: "1.2", vaultId: "prod" });
  });

  it("without a new password source and no terminal: exit 2, names the flag, file untouched", async () => {
    const p = vault("a: 1\n");
    const before = readFileSync(p);
    const r = await withPw("vault", "rekey", p);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /fix: pass --new-vault-password-file <file> or set POWERSTACK_NEW_VAULT_PASSWORD/,
    );
    expect(readFileSync(p).equals(before)).toBe(true);
  });
});

describe("on a terminal", () => {
  it("create asks the new password twice; view then asks once", async () => {
    setTTY(true);
    process.env.EDITOR = ADD_SECRETS;
    const p = file();
    typed.push(PASSWORD, PASSWORD);
    expect((await run("vault", "create", p)).code).toBe(0);
    expect(prompts).toEqual([`New vault password for ${p}:`, "Confirm new vault password:"]);
    typed.push(PASSWORD);
    expect((await run("vault", "view", p)).stdout).toMatch(/k3s_token: tok-1/);
    expect(prompts).toHaveLength(3);
  });

  it("create with two different passwords writes nothing", async () => {
    setTTY(true);
    process.env.EDITOR = ADD_SECRETS;
    const p = file();
    typed.push(PASSWORD, "typo");
    const r = await run("vault", "create", p);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the two vault passwords differ; nothing was written/);
    expect(existsSync(p)).toBe(false);
    expect(editorRuns()).toEqual([]);
  });

  it("invalid YAML offers to edit again, keeping the user's text, then saves the fix", async () => {
    setTTY(true);
    process.env.EDITOR = BREAK_THEN_FIX;
    const p = vault("k3s_token: t\n");
    confirms.push(true);
    const r = await withPw("vault", "edit", p);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/invalid YAML in the vault/);
    expect(prompts).toEqual(["Edit again? (no discards your changes)"]);
    expect(plaintextOf(p).plaintext).toBe("k3s_token: fixed\n");
    const runs = editorRuns();
    expect(runs).toHaveLength(2);
    expect(runs[0]!.path).toBe(runs[1]!.path);
    expect(existsSync(join(runs[0]!.path, ".."))).toBe(false);
  });
});

describe("usage", () => {
  it("unknown actions and misplaced flags are usage errors (exit 2)", async () => {
    const p = vault("a: 1\n");
    expect((await withPw("vault", "shred", p)).stderr).toMatch(
      /unknown vault action "shred"\n {2}fix: use one of: create, view, edit, encrypt, decrypt, rekey/,
    );
    expect((await withPw("vault", "view", p, "--vault-id", "x")).code).toBe(2);
    expect((await withPw("vault", "view", p, "--output", "x")).code).toBe(2);
    expect((await withPw("vault", "encrypt", file("a: 1\n"), "--vault-id", "a;b")).stderr).toMatch(
      /invalid vault id "a;b"/,
    );
    expect((await withPw("vault", "view", join(dir, "nope.yaml"))).stderr).toMatch(
      /nope\.yaml does not exist/,
    );
  });

  it("--json prints one object per action on stdout", async () => {
    const p = file("a: 1\n");
    const r = await withPw("--json", "vault", "encrypt", p);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ action: "encrypt", file: p, changed: true });
  });

  it("the default file is vault/vault.yaml", async () => {
    const cwd = process.cwd();
    const work = join(dir, "project");
    mkdirSync(join(work, "vault"), { recursive: true });
    writeFileSync(join(work, "vault", "vault.yaml"), encryptVault("k: v\n", PASSWORD));
    process.chdir(work);
    try {
      expect((await withPw("vault", "view")).stdout).toBe("k: v\n");
    } finally {
      process.chdir(cwd);
    }
  });
});

describe("secrecy", () => {
  // Runs last: every line any test above printed, on stdout or stderr.
  it("no output ever contained a password", () => {
    expect(everything.length).toBeGreaterThan(20);
    for (const line of everything) {
      expect(line).not.toContain(PASSWORD);
      expect(line).not.toContain(NEW_PASSWORD);
    }
  });
});
