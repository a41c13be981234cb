/**
 * Drive the CLI through a real pseudo-terminal: a detached tmux session runs it, `send-keys` types,
 * `capture-pane` reads the screen. Every wait polls the screen with a deadline (never a blind sleep), and
 * every session has its own name so test files can run side by side.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

const POLL_MS = 100;
/** A tmux server of our own: the tests never touch (or see) a developer's sessions. */
const SOCKET = "powerstack-init-tests";

export interface StartOptions {
  cwd: string;
  env?: Record<string, string>;
}

export interface AnswerOptions {
  /** Keys pressed after the text, before Enter (e.g. Down in a list). */
  keys?: string[];
  /** Empty the line first (a pre-filled value). */
  clear?: boolean;
  timeoutMs?: number;
}

export class TmuxSession {
  private constructor(readonly name: string) {}

  /**
   * Run `argv` in a fresh 200x50 terminal with ONLY `opts.env` (plus PATH and a UTF-8 terminal): a tmux
   * server hands its panes the environment of whoever started it, so nothing of the caller's (a real
   * POWERSTACK_VAULT_PASSWORD, say) leaks in. When the command exits, `[exit N]` is printed and the pane
   * stays for reading.
   */
  static start(argv: string[], opts: StartOptions): TmuxSession {
    const name = `psinit-${process.pid}-${randomBytes(4).toString("hex")}`;
    const vars = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      TERM: "xterm-256color",
      LANG: "C.UTF-8",
      ...opts.env,
    };
    const env = Object.entries(vars).map(([k, v]) => `${k}=${shellQuote(v)}`);
    const command = `env -i ${env.join(" ")} ${argv.map(shellQuote).join(" ")}; echo "[exit $?]"; sleep 600`;
    tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50", "-c", opts.cwd, command);
    return new TmuxSession(name);
  }

  /** The whole pane, scrollback included (tmux keeps 2000 lines: more than a run prints), wrapped lines joined. */
  screen(): string {
    return tmux("capture-pane", "-p", "-J", "-S", "-", "-t", this.name);
  }

  /** Wait until the screen matches `pattern`; fails with the screen shown after `timeoutMs`. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string> {
    const test = (text: string) =>
      typeof pattern === "string" ? text.includes(pattern) : pattern.test(text);
    return this.until(test, String(pattern), timeoutMs);
  }

  /** Type literal text (no key names interpreted). */
  type(text: string): void {
    if (text !== "") tmux("send-keys", "-t", this.name, "-l", text);
  }

  /** Press keys by tmux name: Enter, Down, C-u... */
  press(...keys: string[]): void {
    tmux("send-keys", "-t", this.name, ...keys);
  }

  /** Wait until `test(screen)` holds; fails with the screen shown after `timeoutMs`. */
  async until(test: (screen: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.screen();
      if (test(text)) return text;
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; screen:\n${text}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /**
   * Wait for the ACTIVE prompt `? <question>` (answered ones turn into `✔`), type the answer (none: take
   * the default or the highlighted choice), press Enter, and wait until the prompt is done. Waiting for
   * each prompt before typing matters: keys sent between two prompts may be lost.
   */
  async answer(question: string, text = "", opts: AnswerOptions = {}): Promise<void> {
    const { timeoutMs } = opts;
    const active = activePrompt(question);
    await this.waitFor(active, timeoutMs);
    // Ctrl-U empties a pre-filled line (readline) before the new text.
    if (opts.clear) this.press("C-u");
    this.type(text);
    if (opts.keys) this.press(...opts.keys);
    this.press("Enter");
    const screen = await this.until(
      (s) => !active.test(s) || /^> /m.test(s),
      `the answer to "${question}" to be taken`,
      timeoutMs,
    );
    if (active.test(screen)) throw new Error(`the answer to "${question}" was rejected; screen:\n${screen}`);
  }

  /** Type an answer that must be refused with `error` shown under the prompt, then clear the line. */
  async rejected(question: string, text: string, error: string, timeoutMs?: number): Promise<string> {
    await this.waitFor(activePrompt(question), timeoutMs);
    this.type(text);
    this.press("Enter");
    const screen = await this.waitFor(promptError(error), timeoutMs);
    // Ctrl-U empties the line (readline), ready for the corrected answer.
    this.press("C-u");
    await this.until((s) => !promptError(error).test(s), "the error to clear", timeoutMs);
    return screen;
  }

  /** The exit code once the command has finished. */
  async exitCode(timeoutMs = 30_000): Promise<number> {
    const text = await this.waitFor(/\[exit \d+\]/, timeoutMs);
    return Number(/\[exit (\d+)\]/.exec(text)![1]);
  }

  kill(): void {
    try {
      tmux("kill-session", "-t", this.name);
    } catch {
      // Already gone.
    }
  }
}

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", SOCKET, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `? question` at the start of a line, with its cursor still on it (not yet `✔`). */
export function activePrompt(question: string): RegExp {
  return new RegExp(`^\\? ${escape(question)}`, "m");
}

/** An error line inquirer shows under a prompt (`> reason`). */
export function promptError(text: string): RegExp {
  return new RegExp(`^> .*${escape(text)}`, "m");
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
