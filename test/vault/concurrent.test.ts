/**
 * The vault file under concurrent and interrupted writers, through the real CLI as child processes
 * (bin/powerstack.ts under tsx): `vault edit` does not undo a `rekey` or a token stored while its editor
 * was open (issue 16, item 13), and a killed `rekey`'s temp file is removed by the next write (item 14).
 */
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { decryptVault, encryptVault } from "../../src/vault/format.js";
import { removeStaleTemps } from "../../src/vault/atomic-write.js";

const ROOT = resolve(__dirname, "../..");
const PASSWORD = "Old-pw-never-shown-3b7e";
const NEW_PASSWORD = "New-pw-never-shown-c41d";
const dir = mkdtempSync(join(tmpdir(), "powerstack-vault-concurrent-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pwFile = join(dir, "pass");
const newPwFile = join(dir, "new-pass");
writeFileSync(pwFile, PASSWORD + "\n");
writeFileSync(newPwFile, NEW_PASSWORD + "\n");

const CLI = [process.execPath, "--import", "tsx", join(ROOT, "bin/powerstack.ts")];
const cliLine = CLI.map((a) => `'${a}'`).join(" ");
const env = (extra: NodeJS.ProcessEnv = {}) => {
  const e: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete e.POWERSTACK_VAULT_PASSWORD;
  delete e.POWERSTACK_NEW_VAULT_PASSWORD;
  return e;
};
function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(CLI[0]!, [...CLI.slice(1), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: env(extraEnv),
    timeout: 60_000,
  });
  for (const out of [r.stdout, r.stderr]) {
    expect(out).not.toContain(PASSWORD);
    expect(out).not.toContain(NEW_PASSWORD);
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
let n = 0;
function editorScript(body: string): string {
  const p = join(dir, `editor-${n++}.sh`);
  writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o700 });
  return p;
}
const ADD_LINE = `printf 'grafana_admin_password: edited\\n' >> "$1"`;
const temps = (d: string) => readdirSync(d).filter((f) => f.endsWith(".tmp"));

describe("vault edit while the vault changes (item 13)", () => {
  it("a rekey while the editor is open: the edit is refused, kept in a 0600 file, the rekey stands", () => {
    const work = mkdtempSync(join(dir, "rekey-"));
    const vault = join(work, "vault.yaml");
    writeFileSync(vault, encryptVault("k3s_token: tok\n", PASSWORD), { mode: 0o600 });
    // The editor runs a real `vault rekey` of the same file, then makes its edit.
    const editor = editorScript(
      `${cliLine} vault rekey '${vault}' --vault-password-file '${pwFile}' --new-vault-password-file '${newPwFile}' 2>/dev/null || exit 9\n${ADD_LINE}`,
    );
    const r = cli(["vault", "edit", vault, "--vault-password-file", pwFile], { EDITOR: editor });
    expect(r.code).toBe(1);
    const kept = /your edit is kept in (\S+) \(mode 0600/.exec(r.stderr)?.[1];
    expect(kept).toBeDefined();
    expect(kept!).toMatch(new RegExp(`^${vault.replace(/[.]/g, "\\.")}\\.unsaved-\\d{8}T\\d{6}Z$`));
    expect(r.stderr).toBe(
      `powerstack: ${vault} changed while the editor was open (a \`vault rekey\`, another edit, or \`up\` storing a token); your edit was not saved over it\n` +
        `  fix: your edit is kept in ${kept} (mode 0600, encrypted with the password you opened ${vault} with): see it with \`powerstack vault view ${kept}\`, make the change again with \`powerstack vault edit ${vault}\`, then remove ${kept}\n`,
    );
    // The rekey stands: the new password opens the vault, its content as before.
    expect(decryptVault(readFileSync(vault, "utf8"), NEW_PASSWORD, vault).plaintext).toBe("k3s_token: tok\n");
    // The edit is kept, 0600, encrypted with the password it was opened with, and the retry command works.
    expect(statSync(kept!).mode & 0o777).toBe(0o600);
    expect(readFileSync(kept!, "utf8")).toMatch(/^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    const view = cli(["vault", "view", kept!, "--vault-password-file", pwFile]);
    expect(view).toMatchObject({ code: 0, stdout: "k3s_token: tok\ngrafana_admin_password: edited\n" });
    expect(temps(work)).toEqual([]);
  }, 60_000);

  it("a token stored (same password) while the editor is open is not undone", () => {
    const work = mkdtempSync(join(dir, "token-"));
    const vault = join(work, "vault.yaml");
    writeFileSync(vault, encryptVault("bmc_password: b\n", PASSWORD), { mode: 0o600 });
    // What `up` writes when it stores a generated K3s token: the same vault plus the token.
    const withToken = join(work, "with-token");
    writeFileSync(withToken, encryptVault("bmc_password: b\nk3s_token: generated\n", PASSWORD));
    const editor = editorScript(`cp '${withToken}' '${vault}'\n${ADD_LINE}`);
    const r = cli(["vault", "edit", vault, "--vault-password-file", pwFile], { EDITOR: editor });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/changed while the editor was open/);
    expect(readFileSync(vault, "utf8")).toBe(readFileSync(withToken, "utf8"));
    const kept = readdirSync(work).filter((f) => f.startsWith("vault.yaml.unsaved-"));
    expect(kept).toHaveLength(1);
    expect(decryptVault(readFileSync(join(work, kept[0]!), "utf8"), PASSWORD, "kept").plaintext).toBe(
      "bmc_password: b\ngrafana_admin_password: edited\n",
    );
  }, 60_000);

  it("an edit with no change meanwhile is saved as before", () => {
    const work = mkdtempSync(join(dir, "plain-"));
    const vault = join(work, "vault.yaml");
    writeFileSync(vault, encryptVault("k3s_token: tok\n", PASSWORD), { mode: 0o600 });
    const r = cli(["vault", "edit", vault, "--vault-password-file", pwFile], {
      EDITOR: editorScript(ADD_LINE),
    });
    expect(r).toMatchObject({ code: 0, stderr: `${vault}: saved\n` });
    expect(decryptVault(readFileSync(vault, "utf8"), PASSWORD, vault).plaintext).toBe(
      "k3s_token: tok\ngrafana_admin_password: edited\n",
    );
    expect(readdirSync(work)).toEqual(["vault.yaml"]);
  }, 60_000);
});

describe("vault rekey while the vault changes", () => {
  it("a change between reading the vault and writing it (while the new password is asked) is not undone", () => {
    const work = mkdtempSync(join(dir, "rekey-race-"));
    const vault = join(work, "vault.yaml");
    writeFileSync(vault, encryptVault("k3s_token: tok\n", PASSWORD), { mode: 0o600 });
    const meanwhile = encryptVault("k3s_token: tok\nslack_webhook: s\n", PASSWORD);
    const changed = join(work, "changed");
    writeFileSync(changed, meanwhile);
    // The new password comes from a script, which changes the vault first (as a concurrent `up` would).
    const newPwScript = editorScript(`cp '${changed}' '${vault}'\necho '${NEW_PASSWORD}'`);
    const r = cli([
      "vault",
      "rekey",
      vault,
      "--vault-password-file",
      pwFile,
      "--new-vault-password-file",
      newPwScript,
    ]);
    expect(r).toMatchObject({
      code: 1,
      stderr: `powerstack: ${vault} changed since it was read; it was not overwritten\n  fix: run the command again: it will work on the file as it is now\n`,
    });
    expect(readFileSync(vault, "utf8")).toBe(meanwhile);
    expect(temps(work)).toEqual([]);
  }, 60_000);
});

describe("stale temp files (item 14)", () => {
  it("a rekey killed before its rename leaves a temp file; the next write removes it", async () => {
    const work = mkdtempSync(join(dir, "killed-"));
    const vault = join(work, "vault.yaml");
    const original = encryptVault("k3s_token: tok\n", PASSWORD);
    writeFileSync(vault, original, { mode: 0o600 });
    // The rekey hangs in fsync of its temp file (a slow disk), and is killed there.
    const hang = join(dir, "hang-in-fsync.mjs");
    writeFileSync(
      hang,
      `import { open } from "node:fs/promises";\n` +
        `const fh = await open(process.execPath, "r");\n` +
        `Object.getPrototypeOf(fh).sync = () => { setInterval(() => {}, 1000); return new Promise(() => {}); };\n` +
        `await fh.close();\n`,
    );
    const child = spawn(
      CLI[0]!,
      [
        "--import",
        pathToFileURL(hang).href,
        ...CLI.slice(1),
        "vault",
        "rekey",
        vault,
        "--vault-password-file",
        pwFile,
        "--new-vault-password-file",
        newPwFile,
      ],
      { cwd: ROOT, env: env(), stdio: "ignore" },
    );
    const exited = new Promise((r) => child.once("exit", r));
    const deadline = Date.now() + 30_000;
    while (temps(work).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGKILL");
    await exited;
    const left = temps(work);
    expect(left).toEqual([
      expect.stringMatching(new RegExp(`^\\.vault\\.yaml\\.${child.pid}-[0-9a-f]{12}\\.tmp$`)),
    ]);
    expect(readFileSync(vault, "utf8")).toBe(original);

    // Others' files beside it: a temp of a writer still running (this process), one of another file, and
    // ones from an older powerstack (no pid in the name), one old enough to be stale and one recent.
    const live = `.vault.yaml.${process.pid}-aaaaaaaaaaaa.tmp`;
    const otherFile = `.other.yaml.99999999-bbbbbbbbbbbb.tmp`;
    const oldStale = `.vault.yaml.cccccccccccc.tmp`;
    const oldRecent = `.vault.yaml.dddddddddddd.tmp`;
    for (const f of [live, otherFile, oldStale, oldRecent])
      writeFileSync(join(work, f), "x", { mode: 0o600 });
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(join(work, oldStale), hourAgo, hourAgo);

    const r = cli([
      "vault",
      "rekey",
      vault,
      "--vault-password-file",
      pwFile,
      "--new-vault-password-file",
      newPwFile,
    ]);
    expect(r).toMatchObject({ code: 0, stderr: `${vault}: rekeyed\n` });
    expect(decryptVault(readFileSync(vault, "utf8"), NEW_PASSWORD, vault).plaintext).toBe("k3s_token: tok\n");
    expect(temps(work).sort()).toEqual([live, otherFile, oldRecent].sort());
    expect(existsSync(join(work, left[0]!))).toBe(false);
  }, 60_000);

  it("removeStaleTemps never removes a link or a directory named like ours", async () => {
    const work = mkdtempSync(join(dir, "links-"));
    const target = join(work, "vault.yaml");
    writeFileSync(target, "v");
    const { symlinkSync, mkdirSync } = await import("node:fs");
    symlinkSync(target, join(work, ".vault.yaml.99999999-eeeeeeeeeeee.tmp"));
    mkdirSync(join(work, ".vault.yaml.99999998-ffffffffffff.tmp"));
    expect(await removeStaleTemps(target)).toEqual([]);
    expect(readdirSync(work)).toHaveLength(3);
  });
});
