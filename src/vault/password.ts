/**
 * Where the vault password comes from, in order: `--vault-password-file` (a file, or an executable
 * that prints it, as with ansible), the POWERSTACK_VAULT_PASSWORD environment variable, then one
 * prompt on a terminal. Answers are remembered for the life of the process: a run asks at most once.
 */
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { InputError } from "../errors.js";

export const PASSWORD_ENV = "POWERSTACK_VAULT_PASSWORD";
export const NEW_PASSWORD_ENV = "POWERSTACK_NEW_VAULT_PASSWORD";

export interface VaultPasswordOptions {
  /** `--vault-password-file`: a file holding the password, or an executable printing it. */
  file?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Shown in the prompt and in errors, e.g. "to open vault/vault.yaml". */
  purpose?: string;
}

export interface NewVaultPasswordOptions extends VaultPasswordOptions {
  /** The variable consulted after `file`; rekey uses POWERSTACK_NEW_VAULT_PASSWORD so the old one stays the old one. */
  envVar?: string;
  /** The flag named in the "no terminal" error. */
  fileFlag?: string;
}

// Promises, not values: two callers racing for the password share one prompt or one script run.
const cache = new Map<string, Promise<string>>();
const PROMPT = "prompt";

/** Forget remembered passwords (tests). */
export function resetVaultPasswordCache(): void {
  cache.clear();
}

export async function getVaultPassword(opts: VaultPasswordOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  if (opts.file) return fromFile(opts.file, "--vault-password-file");
  const fromEnv = env[PASSWORD_ENV];
  if (fromEnv) return fromEnv;

  const remembered = cache.get(PROMPT);
  if (remembered) return remembered;
  requireTerminal(opts.purpose, `pass --vault-password-file <file> or set ${PASSWORD_ENV}`);
  return remember(PROMPT, () => ask(promptMessage("Vault password", opts.purpose)));
}

/**
 * The password for a vault about to be written (create, encrypt, rekey): from `file`, then `envVar`,
 * else prompted twice on a terminal and compared, so a typo cannot lock the vault.
 */
export async function newVaultPassword(opts: NewVaultPasswordOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const envVar = opts.envVar ?? PASSWORD_ENV;
  const fileFlag = opts.fileFlag ?? "--vault-password-file";
  if (opts.file) return fromFile(opts.file, fileFlag);
  const fromEnv = env[envVar];
  if (fromEnv) return fromEnv;

  requireTerminal(opts.purpose, `pass ${fileFlag} <file> or set ${envVar}`);
  const first = await ask(promptMessage("New vault password", opts.purpose));
  const second = await ask("Confirm new vault password:");
  if (first !== second)
    throw new InputError(
      "the two vault passwords differ; nothing was written",
      "run the command again and type the same password twice",
    );
  // The vault just written opens with this password: a later read in this run must not ask again.
  cache.set(PROMPT, Promise.resolve(first));
  return first;
}

function remember(key: string, load: () => Promise<string>): Promise<string> {
  const existing = cache.get(key);
  if (existing) return existing;
  const pending = load();
  cache.set(key, pending);
  // A failure (typo in a path, Ctrl-C) must not be remembered: the next call tries again.
  pending.catch(() => cache.delete(key));
  return pending;
}

function fromFile(file: string, flag: string): Promise<string> {
  const path = resolve(file);
  return remember(`file:${path}`, () => readPasswordFile(file, path, flag));
}

async function readPasswordFile(shown: string, path: string, flag: string): Promise<string> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(
      err.code === "ENOENT"
        ? `vault password file ${shown} does not exist`
        : `cannot read vault password file ${shown}: ${err.code ?? err.message}`,
      `check the path given to ${flag}`,
    );
  });
  if (!info.isFile())
    throw new InputError(
      `vault password file ${shown} is not a regular file`,
      `give ${flag} the file that holds the password`,
    );

  const executable =
    (info.mode & 0o111) !== 0 &&
    (await access(path, constants.X_OK).then(
      () => true,
      () => false,
    ));
  const content = await readFile(path);
  // Only a `#!` script is run. Anything else executable (a password file on a filesystem that marks every
  // file executable, a chmod +x by mistake) would be handed by execvp to /bin/sh, which runs the password
  // as a command and prints it in its error: it is read as the password file it is.
  const script = executable && content.subarray(0, 2).toString("latin1") === "#!";
  if (
    executable &&
    !script &&
    (content.includes(0) || content.subarray(0, 4).toString("latin1") === "\x7fELF")
  ) {
    throw new InputError(
      `vault password file ${shown} is executable but not a script (it does not start with #!)`,
      `give ${flag} a text file holding the password, or a script starting with #! that prints it`,
    );
  }
  const raw = script ? await runPasswordScript(shown, path) : content.toString("utf8");
  // One trailing newline is the file's line end, not part of the password.
  const password = raw.replace(/\r?\n$/, "");
  if (password === "") {
    throw new InputError(
      script
        ? `vault password script ${shown} printed an empty password`
        : `vault password file ${shown} is empty`,
      "put the password on the file's first line (or make the script print it)",
    );
  }
  return password;
}

/**
 * ansible's ScriptVaultSecret: run it with no arguments, the password is its stdout. Its stderr is read
 * and dropped, never shown (ansible quotes it in its error): a failing script's messages may hold the
 * password. stdin stays the terminal's; a script that asks its user something does so on /dev/tty, as
 * pass, gpg and ssh-askpass do.
 */
function runPasswordScript(shown: string, path: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(path, [], { stdio: ["inherit", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let errBytes = 0;
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => (errBytes += c.length));
    child.on("error", (err) =>
      fail(
        new InputError(
          `cannot run vault password script ${shown}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
          "if it is not a script, remove its executable bit (chmod -x)",
        ),
      ),
    );
    child.on("close", (code, signal) => {
      if (code === 0) return done(Buffer.concat(chunks).toString("utf8"));
      // Neither its stdout nor its stderr is shown: either may hold the password.
      fail(
        new InputError(
          `vault password script ${shown} failed (${signal ?? `exit code ${code}`})${errBytes > 0 ? "; its error output is not shown, as it may hold the password" : ""}`,
          "run it by hand to see why",
        ),
      );
    });
  });
}

function requireTerminal(purpose: string | undefined, fix: string): void {
  if (!process.stdin.isTTY) {
    throw new InputError(
      `a vault password is needed${purpose ? ` ${purpose}` : ""}, and there is no terminal to ask it on`,
      fix,
    );
  }
}

function promptMessage(what: string, purpose: string | undefined): string {
  return `${what}${purpose ? ` ${purpose}` : ""}:`;
}

async function ask(message: string): Promise<string> {
  // Imported here: only an interactive run pays for loading the prompt library.
  const { password } = await import("@inquirer/prompts");
  let answer: string;
  try {
    // stderr, so `powerstack vault view > file` captures the plaintext, not the prompt.
    answer = await password({ message, mask: false }, { output: process.stderr });
  } catch (err) {
    if (err instanceof Error && err.name === "ExitPromptError")
      throw new InputError("vault password prompt cancelled; nothing was changed");
    throw err;
  }
  if (answer === "")
    throw new InputError(
      "the vault password is empty",
      "type the password (ansible-vault refuses empty passwords too)",
    );
  return answer;
}
