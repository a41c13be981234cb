/**
 * Let the user edit decrypted text in $EDITOR. The plaintext lives only in a fresh 0700 directory
 * (mode 0600 file), is overwritten with zeros and removed afterwards, even when the editor fails or
 * the process exits early.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { InputError } from "../errors.js";

/** `$EDITOR`, then `$VISUAL`, then vi: what ansible-vault (and git) users expect. */
export function editorCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.EDITOR?.trim() || env.VISUAL?.trim() || "vi";
}

/**
 * Open `text` in the editor under a name like the vault's (so `.yaml` highlighting works) and return
 * what was saved. `reopen` lets a caller loop on the same private file (e.g. after invalid YAML).
 */
export interface EditOptions {
  /** Called with what was saved; returning text reopens the editor on it, undefined accepts. */
  reopen?: (edited: string) => Promise<string | undefined>;
  /** Ends the message when the editor fails, e.g. "the vault was left as it was". */
  untouched?: string;
}

export async function editInEditor(text: string, nameLike: string, opts: EditOptions = {}): Promise<string> {
  const { reopen = async () => undefined, untouched = "the vault was left as it was" } = opts;
  const dir = mkdtempSync(join(tmpdir(), "powerstack-vault-"));
  const file = join(dir, basename(nameLike) || "vault.yaml");
  const cleanup = () => shred(dir, file);
  // process.exit() elsewhere, or a kill while the editor is open, must not leave plaintext behind.
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.off(signal, onSignal);
    process.kill(process.pid, signal);
  };
  process.on("exit", cleanup);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  try {
    await chmod(dir, 0o700);
    await writeFile(file, text, { mode: 0o600 });
    let edited: string;
    for (;;) {
      await runEditor(file, untouched);
      edited = await readFile(file, "utf8");
      const again = await reopen(edited);
      if (again === undefined) break;
      await writeFile(file, again, { mode: 0o600 });
    }
    return edited;
  } finally {
    process.off("exit", cleanup);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
    cleanup();
  }
}

function runEditor(file: string, untouched: string): Promise<void> {
  const editor = editorCommand();
  return new Promise((done, fail) => {
    // Through the shell, like git: EDITOR may carry arguments ("code --wait") or quotes.
    const child = spawn("/bin/sh", ["-c", `${editor} "$1"`, "sh", file], { stdio: "inherit" });
    // Ctrl-C belongs to the editor (vi uses it); without this no-op listener Node would die and skip cleanup.
    const ignore = () => undefined;
    process.on("SIGINT", ignore);
    const finish = () => process.off("SIGINT", ignore);
    child.on("error", (err) => {
      finish();
      fail(
        new InputError(
          `cannot start the editor "${editor}": ${err.message}`,
          "set EDITOR to an editor that is installed",
        ),
      );
    });
    child.on("close", (code, signal) => {
      finish();
      if (code === 0) return done();
      fail(
        new InputError(
          `the editor "${editor}" failed (${signal ?? `exit code ${code}`}); ${untouched}`,
          "check the EDITOR variable, or quit the editor normally to save",
        ),
      );
    });
  });
}

/** Overwrite then remove: an unlinked file's blocks otherwise keep the plaintext until reused. */
function shred(dir: string, file: string): void {
  try {
    const size = statSync(file).size;
    if (size > 0) writeFileSync(file, Buffer.alloc(size));
  } catch {
    // Already gone, or the editor replaced it with something else: removing is all that is left.
  }
  rmSync(dir, { recursive: true, force: true });
}
