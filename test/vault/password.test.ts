import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { encryptVault } from "../../src/vault/format.js";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InputError } from "../../src/errors.js";
import { getVaultPassword, newVaultPassword, resetVaultPasswordCache } from "../../src/vault/password.js";

// The terminal prompt, replaced: each test queues the answers a user would type.
const answers: string[] = [];
const asked: string[] = [];
vi.mock("@inquirer/prompts", () => ({
  password: vi.fn(async ({ message }: { message: string }) => {
    asked.push(message);
    const next = answers.shift();
    if (next === undefined) throw new Error(`unexpected prompt: ${message}`);
    return next;
  }),
}));

const dir = mkdtempSync(join(tmpdir(), "powerstack-password-test-"));
const file = (name: string, content: string, mode = 0o600) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
};

function setTTY(value: boolean): void {
  Object.defineProperty(process.stdin, "isTTY", { value, configurable: true });
}
const wasTTY = process.stdin.isTTY;

beforeEach(() => {
  resetVaultPasswordCache();
  answers.length = 0;
  asked.length = 0;
  setTTY(false);
});
afterEach(() => setTTY(Boolean(wasTTY)));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("getVaultPassword", () => {
  it("reads a password file, dropping exactly one trailing newline", async () => {
    expect(await getVaultPassword({ file: file("one", "s3cret\n"), env: {} })).toBe("s3cret");
    expect(await getVaultPassword({ file: file("crlf", "s3cret\r\n"), env: {} })).toBe("s3cret");
    expect(await getVaultPassword({ file: file("two", "s3cret \n\n"), env: {} })).toBe("s3cret \n");
    expect(await getVaultPassword({ file: file("none", "s3cret"), env: {} })).toBe("s3cret");
  });

  it("runs an executable password file and uses its stdout, as ansible does", async () => {
    const script = file("pass.sh", "#!/bin/sh\necho from-script\n", 0o700);
    expect(await getVaultPassword({ file: script, env: {} })).toBe("from-script");
  });

  it("a failing script, a missing file, an empty file: clear InputErrors that never show the file's content", async () => {
    const failing = file("fail.sh", "#!/bin/sh\necho leaked-secret\nexit 3\n", 0o700);
    await expect(getVaultPassword({ file: failing })).rejects.toThrow(
      /^vault password script .*fail\.sh failed \(exit code 3\)$/,
    );
    await expect(getVaultPassword({ file: failing })).rejects.not.toThrow(/leaked-secret/);
    await expect(getVaultPassword({ file: join(dir, "missing") })).rejects.toThrow(
      /vault password file .*missing does not exist/,
    );
    await expect(getVaultPassword({ file: file("empty", "\n") })).rejects.toThrow(/is empty/);
    await expect(getVaultPassword({ file: dir })).rejects.toBeInstanceOf(InputError);
  });

  it("the file wins over the environment, the environment over the prompt", async () => {
    const env = { POWERSTACK_VAULT_PASSWORD: "from-env" };
    expect(await getVaultPassword({ file: file("f", "from-file\n"), env })).toBe("from-file");
    setTTY(true);
    expect(await getVaultPassword({ env })).toBe("from-env");
    expect(asked).toEqual([]);
  });

  it("without a terminal, says which flag or variable to use", async () => {
    const err = await getVaultPassword({ env: {}, purpose: "for vault/vault.yaml" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toBe(
      "a vault password is needed for vault/vault.yaml, and there is no terminal to ask it on",
    );
    expect((err as InputError).fix).toMatch(/--vault-password-file.*POWERSTACK_VAULT_PASSWORD/);
  });

  it("asks once per process, even for concurrent callers", async () => {
    setTTY(true);
    answers.push("typed");
    const got = await Promise.all([
      getVaultPassword({ env: {} }),
      getVaultPassword({ env: {} }),
      getVaultPassword({ env: {} }),
    ]);
    expect(got).toEqual(["typed", "typed", "typed"]);
    expect(await getVaultPassword({ env: {} })).toBe("typed");
    expect(asked).toHaveLength(1);
    resetVaultPasswordCache();
    answers.push("again");
    expect(await getVaultPassword({ env: {} })).toBe("again");
  });

  it("runs a password script once per process", async () => {
    const counter = join(dir, "runs");
    const script = file("count.sh", `#!/bin/sh\necho run >> '${counter}'\necho counted\n`, 0o700);
    await getVaultPassword({ file: script });
    await getVaultPassword({ file: script });
    expect((await import("node:fs")).readFileSync(counter, "utf8")).toBe("run\n");
  });

  it("refuses an empty typed password", async () => {
    setTTY(true);
    answers.push("");
    await expect(getVaultPassword({ env: {} })).rejects.toThrow(/empty/);
  });
});

describe("executable password files (issue 16, item 6)", () => {
  it("an executable file without #! is read as the password, never run by /bin/sh", async () => {
    const marker = join(dir, "ran-by-sh");
    // Were it run, sh would execute the password as a command and create the marker.
    const pw = `touch ${marker}`;
    expect(await getVaultPassword({ file: file("exec-plain", pw + "\n", 0o755), env: {} })).toBe(pw);
    expect(existsSync(marker)).toBe(false);
    expect(await getVaultPassword({ file: file("exec-plain2", "Plain-Pw-42\n", 0o700), env: {} })).toBe(
      "Plain-Pw-42",
    );
  });

  it("an executable binary that is not a script is refused without running or quoting it", async () => {
    const bin = file("exec-bin", "\x7fELF\0\0secret-bytes", 0o755);
    const err = await getVaultPassword({ file: bin, env: {} }).catch((e: unknown) => e as InputError);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toBe(
      `vault password file ${bin} is executable but not a script (it does not start with #!)`,
    );
    expect((err as InputError).message).not.toMatch(/secret-bytes/);
  });

  it("a failing script's stderr is never shown; the error says only that there was some", async () => {
    const failing = file("fail-stderr.sh", "#!/bin/sh\necho Stderr-Secret-9 >&2\nexit 4\n", 0o700);
    await expect(getVaultPassword({ file: failing, env: {} })).rejects.toThrow(
      `vault password script ${failing} failed (exit code 4); its error output is not shown, as it may hold the password`,
    );
  });

  // The real CLI as a child process: whatever reaches its stderr file descriptor is seen, also what a
  // child of powerstack (sh, the script) writes there directly.
  it("through the CLI: neither the password of a non-script nor a script's stderr reaches the terminal", () => {
    const root = resolve(__dirname, "../..");
    const vaultFile = join(dir, "cli-vault.yaml");
    const cli = (pwFile: string) =>
      spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          join(root, "bin/powerstack.ts"),
          "vault",
          "view",
          vaultFile,
          "--vault-password-file",
          pwFile,
        ],
        {
          cwd: root,
          encoding: "utf8",
          env: { ...process.env, POWERSTACK_VAULT_PASSWORD: "" },
          timeout: 60_000,
        },
      );
    const pw = "No-Such-Command-Pw-5e1";
    writeFileSync(vaultFile, encryptVault("k3s_token: t\n", pw));
    const plain = cli(file("cli-exec-plain", pw + "\n", 0o755));
    expect(plain.stderr).not.toContain(pw);
    expect({ code: plain.status, stdout: plain.stdout }).toEqual({ code: 0, stdout: "k3s_token: t\n" });

    const script = file("cli-fail.sh", `#!/bin/sh\necho "${pw}" >&2\nexit 1\n`, 0o700);
    const failed = cli(script);
    expect(failed.stderr).not.toContain(pw);
    expect(failed.status).toBe(2);
    expect(failed.stderr).toContain(`vault password script ${script} failed (exit code 1)`);
  }, 60_000);
});

describe("newVaultPassword", () => {
  it("asks twice and compares; the answer is remembered for later reads", async () => {
    setTTY(true);
    answers.push("new-one", "new-one");
    expect(await newVaultPassword({ env: {}, purpose: "for v.yaml" })).toBe("new-one");
    expect(asked).toEqual(["New vault password for v.yaml:", "Confirm new vault password:"]);
    expect(await getVaultPassword({ env: {} })).toBe("new-one");
    expect(asked).toHaveLength(2);
  });

  it("two different answers: an error, nothing remembered", async () => {
    setTTY(true);
    answers.push("one", "other");
    await expect(newVaultPassword({ env: {} })).rejects.toThrow(/differ/);
    answers.push("third");
    expect(await getVaultPassword({ env: {} })).toBe("third");
  });

  it("takes a file or the named variable without asking; without a terminal names the rekey flag", async () => {
    expect(await newVaultPassword({ file: file("n", "from-file\n") })).toBe("from-file");
    const env = { POWERSTACK_VAULT_PASSWORD: "old", POWERSTACK_NEW_VAULT_PASSWORD: "new" };
    expect(await newVaultPassword({ env, envVar: "POWERSTACK_NEW_VAULT_PASSWORD" })).toBe("new");
    const err = await newVaultPassword({
      env: { POWERSTACK_VAULT_PASSWORD: "old" },
      envVar: "POWERSTACK_NEW_VAULT_PASSWORD",
      fileFlag: "--new-vault-password-file",
    }).catch((e: unknown) => e as InputError);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).fix).toBe(
      "pass --new-vault-password-file <file> or set POWERSTACK_NEW_VAULT_PASSWORD",
    );
  });
});
