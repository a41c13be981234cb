/**
 * One SSH connection per host for the whole run; every command is a channel on it, and so is SFTP
 * (putFile). ssh2 directly (not node-ssh's wrapper, which opens a connection of its own) because we need
 * the raw channel: stdin for secrets and sudo passwords, exit signals, a socket we provide ourselves for
 * ProxyCommand and jump hosts, and ssh2's own sftp.fastPut (parallel chunked writes with progress).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Duplex } from "node:stream";
import { Client, type ConnectConfig, type ServerHostKeyAlgorithm, type SFTPWrapper } from "ssh2";
import { ExitCode, PowerstackError } from "../errors.js";
import type { SshSettings } from "../inventory/types.js";
import { InterruptedError, UnreachableError } from "./errors.js";
import {
  settlesWithin,
  SftpUnavailableError,
  shq,
  STOP_GRACE_MS,
  type ExecOptions,
  type ExecResult,
  type Host,
  type PutFileOptions,
} from "./host.js";
import { hostKeyAlgorithms, verifyHostKey } from "./known-hosts.js";
import { killSessionsCommand, reportSession, splitSessionLine } from "./session-kill.js";
import { mark, timed, TIMING } from "../timing.js";

/** A command in flight: its channel, and the node-side session it runs in once the marker arrived. */
interface RunningCommand {
  session?: number;
  close(): void;
  closed: Promise<void>;
}

export interface SshTarget {
  name: string;
  address: string;
  port: number;
}

export interface SshSecrets {
  /** sudo password, when the user is not root and sudo asks for one. */
  becomePassword?: string;
}

/** How long to wait between connection attempts: 0.5 s, 1 s, 2 s… */
const backoffMs = (attempt: number) => 500 * 2 ** attempt;

export class SshHost implements Host {
  readonly name: string;
  private client: Client | undefined;
  private lost: Error | undefined;
  /** Set after the first sudo command: whether sudo needs a password on this host. */
  private sudoNeedsPassword: boolean | undefined;
  /** Set when the node refused the SFTP subsystem (why), so later uploads go straight to stdin. */
  private noSftp: string | undefined;
  /** Commands and transfers in flight, so an interrupted run can stop them on the node. */
  private readonly running = new Set<RunningCommand>();
  private readonly transfers = new Set<SFTPWrapper>();
  /** Set by stopRunning(): start nothing new on this connection (what is already running is being ended). */
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly target: SshTarget,
    private readonly settings: SshSettings,
    private readonly secrets: SshSecrets,
  ) {
    this.name = target.name;
  }

  /** Connect with bounded retries; a refused key or host key mismatch is not retried. */
  static async connect(target: SshTarget, settings: SshSettings, secrets: SshSecrets = {}): Promise<SshHost> {
    const host = new SshHost(target, settings, secrets);
    let last: unknown;
    for (let attempt = 0; attempt < settings.connectRetries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, backoffMs(attempt - 1)));
      try {
        await timed(`ssh:connect:${target.name}`, () => host.open());
        return host;
      } catch (err) {
        last = err;
        if (err instanceof UnreachableError && err.retryable === false) break;
      }
    }
    throw last;
  }

  private get isRoot(): boolean {
    return this.settings.user === "root";
  }

  private async open(): Promise<void> {
    const { settings, target } = this;
    const client = new Client();
    let hostKeyRefusal: { reason: string; fix: string } | undefined;
    const config: ConnectConfig = {
      host: target.address,
      port: target.port,
      username: settings.user,
      algorithms: serverHostKeyOrder(settings, target.address, target.port),
      readyTimeout: settings.connectTimeoutSec * 1000,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      hostVerifier: (key: Buffer) => {
        const verdict = verifyHostKey(
          settings.knownHosts,
          settings.knownHostsFile,
          target.address,
          target.port,
          key,
        );
        if (!verdict.ok) hostKeyRefusal = verdict;
        return verdict.ok;
      },
    };
    if (settings.keyFile) {
      try {
        config.privateKey = readFileSync(settings.keyFile);
      } catch (err) {
        throw new UnreachableError(
          this.name,
          `cannot read SSH key ${settings.keyFile}: ${(err as Error).message}`,
          "fix ssh.key_file in the inventory",
          false,
        );
      }
    } else if (process.env.SSH_AUTH_SOCK) {
      config.agent = process.env.SSH_AUTH_SOCK;
    } else {
      throw new UnreachableError(
        this.name,
        "no SSH key: ssh.key_file is not set and no ssh-agent is running",
        "set ssh.key_file in the inventory or start ssh-agent",
        false,
      );
    }
    const cleanups: Array<() => void> = [];
    if (settings.proxyCommand) {
      const { sock, kill } = proxyCommandSocket(settings.proxyCommand, target);
      config.sock = sock;
      cleanups.push(kill);
    } else if (settings.jumpHost) {
      const { sock, close } = await jumpHostSocket(settings, target, config);
      config.sock = sock;
      cleanups.push(close);
    }

    // One listener for the client's whole life: a failed connect can be followed by more errors (the
    // proxy socket being torn down), and an 'error' without a listener would crash the process.
    let settle: ((err?: Error) => void) | undefined;
    client.on("error", (err: Error & { level?: string; code?: string }) => {
      if (settle) settle(this.describeConnectError(err, hostKeyRefusal));
      else this.lost ??= err;
    });
    client.on("close", () => {
      this.lost ??= new Error("connection closed");
      cleanups.forEach((c) => c());
      settle?.(
        new UnreachableError(
          this.name,
          "connection closed before the SSH handshake finished",
          "check the address, and that sshd runs there",
        ),
      );
    });
    await new Promise<void>((resolve, reject) => {
      settle = (err) => {
        settle = undefined;
        if (err) {
          cleanups.forEach((c) => c());
          client.destroy();
          reject(err);
        } else resolve();
      };
      client.once("ready", () => settle?.());
      client.connect(config);
      // Every command is a few small packets each way and waits for the answer: with Nagle's algorithm on
      // (ssh2's default), a packet sent while the previous one is unacknowledged waits for the peer's
      // delayed ACK, about 40 ms on Linux, several times per command. OpenSSH turns it off too. (A
      // ProxyCommand's pipe has no such option: the proxy's own socket decides.)
      client.setNoDelay(true);
    });
    this.client = client;
  }

  private describeConnectError(
    err: Error & { level?: string; code?: string },
    refusal?: { reason: string; fix: string },
  ): UnreachableError {
    const where = `${this.settings.user}@${this.target.address}:${this.target.port}`;
    if (refusal) return new UnreachableError(this.name, refusal.reason, refusal.fix, false);
    if (err.level === "client-authentication") {
      return new UnreachableError(
        this.name,
        `SSH authentication failed for ${where}`,
        "check ssh.user and ssh.key_file, and that the key is in the node's authorized_keys",
        false,
      );
    }
    if (err.code === "ECONNREFUSED")
      return new UnreachableError(
        this.name,
        `connection refused by ${where}`,
        "is sshd running and is the port right (ssh.port / ssh_port)?",
      );
    if (/Timed out/i.test(err.message) || err.code === "ETIMEDOUT") {
      return new UnreachableError(
        this.name,
        `connection to ${where} timed out after ${this.settings.connectTimeoutSec}s`,
        "check the address, routing and firewalls, or raise ssh.connect_timeout",
      );
    }
    if (err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH")
      return new UnreachableError(this.name, `no route to ${where}`, "check the node's address and network");
    if (err.code === "ENOTFOUND")
      return new UnreachableError(
        this.name,
        `cannot resolve ${this.target.address}`,
        "use an IP address or fix DNS",
        false,
      );
    return new UnreachableError(this.name, `cannot connect to ${where}: ${err.message}`);
  }

  private liveClient(): Client {
    const client = this.client;
    if (!client || this.lost) {
      throw new UnreachableError(
        this.name,
        `connection lost${this.lost ? `: ${this.lost.message}` : ""}`,
        "check the node, then rerun: completed tasks are not repeated",
      );
    }
    return client;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (TIMING) return timed(`ssh:exec:${this.name}:${commandKind(command)}`, () => this.run(command, opts));
    return this.run(command, opts);
  }

  private async run(command: string, opts: ExecOptions): Promise<ExecResult> {
    this.liveClient();
    if (this.stopping) throw new InterruptedError(this.name, "not started");
    // sshd does not kill a command whose channel is closed, so the limit is enforced on the host itself.
    const line = opts.timeoutSec ? `timeout -k 5 ${opts.timeoutSec} sh -c ${shq(command)}` : command;
    const { line: full, stdin, password } = await this.withBecome(line, opts.become, opts.stdin);
    const result = await this.channel(full, stdin, opts.timeoutSec);
    // sudo's own refusal, not the command's failure: say so once, with the fix, instead of a stderr tail.
    if (result.code !== 0 && password && /incorrect password attempt/.test(result.stderr))
      throw new PowerstackError(
        `${this.name}: sudo refused the become password for ${this.settings.user}`,
        ExitCode.failed,
        "correct the vault value named by ssh.become_password_secret (`powerstack vault edit`)",
      );
    return result;
  }

  /** The command line as root through sudo when the login user is not root, and the stdin that goes with it. */
  private async withBecome(
    line: string,
    become: boolean | undefined,
    input: string | Buffer | undefined,
  ): Promise<{ line: string; stdin: Buffer | undefined; password: boolean }> {
    let stdin: Buffer | undefined = input === undefined ? undefined : Buffer.from(input);
    if (become === false || this.isRoot) return { line, stdin, password: false };
    const sudo = await this.sudoPrefix();
    // The password is the first line sudo reads from stdin; it never appears in the command line.
    const password = this.sudoNeedsPassword === true;
    if (password)
      stdin = Buffer.concat([Buffer.from(this.secrets.becomePassword + "\n"), stdin ?? Buffer.alloc(0)]);
    return { line: `${sudo} sh -c ${shq(line)}`, stdin, password };
  }

  /**
   * Ctrl-C: start nothing new here, and end what runs: SIGTERM to the node-side session of every command
   * in flight (its whole process tree, sudo and `timeout` included), SIGKILL to what is left after a
   * grace period; SFTP transfers are cut. Resolves when every command has ended (or after the grace and
   * the kill). Idempotent: a second call returns the first one's promise.
   */
  stopRunning(): Promise<void> {
    this.stopping ??= this.endRunning();
    return this.stopping;
  }

  private async endRunning(): Promise<void> {
    for (const t of this.transfers) t.end();
    if (this.running.size === 0) return;
    const allClosed = Promise.all([...this.running].map((r) => r.closed));
    await this.signalSessions("TERM");
    if (await settlesWithin(allClosed, STOP_GRACE_MS)) return;
    await this.signalSessions("KILL");
    // The channels close once their processes are gone; one that does not (a lost node) is closed here.
    await settlesWithin(allClosed, 2_000);
    for (const r of this.running) r.close();
  }

  /** Signal the sessions of the commands in flight, as root: they may run through sudo. */
  private async signalSessions(
    signal: "TERM" | "KILL",
    sessions = [...this.running].flatMap((r) => (r.session === undefined ? [] : [r.session])),
  ): Promise<void> {
    if (sessions.length === 0 || !this.client || this.lost) return;
    try {
      const { line, stdin } = await this.withBecome(killSessionsCommand(sessions, signal), true, undefined);
      await this.channel(line, stdin, 10, false);
    } catch {
      /* the node may be gone: the channels are closed by the caller */
    }
  }

  /** `sudo -n` when passwordless sudo works, else `sudo -S -k` fed the password (never cached creds: a
   *  password sent to a sudo that does not read it would reach the command's stdin). */
  private async sudoPrefix(): Promise<string> {
    if (this.sudoNeedsPassword === undefined) {
      const probe = await this.channel("sudo -n true", undefined, 30);
      this.sudoNeedsPassword = probe.code !== 0;
    }
    // Checked on every call, not only the first: no command may run with a missing password.
    if (this.sudoNeedsPassword && this.secrets.becomePassword === undefined) {
      throw new UnreachableError(
        this.name,
        `sudo for ${this.settings.user} needs a password and none is configured`,
        "set ssh.become_password_secret to a vault key holding it, or allow passwordless sudo",
        false,
      );
    }
    return this.sudoNeedsPassword ? "sudo -S -k -p '' --" : "sudo -n --";
  }

  /**
   * SFTP on this connection (a channel like any command), as the login user. `remote` is created
   * exclusively with mode 0600 (O_EXCL: what mktemp does, without a round trip of its own), then ssh2's
   * fastPut writes it with 64 requests of 32 KiB in flight, reporting each acknowledged chunk.
   */
  async putFile(local: string, remote: string, opts: PutFileOptions = {}): Promise<void> {
    const client = this.liveClient();
    // Asked once per connection: a node without the subsystem gets every file on stdin instead.
    if (this.noSftp !== undefined) throw new SftpUnavailableError(this.name, this.noSftp);
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
      client.sftp((err, s) => {
        if (!err) return resolve(s);
        this.noSftp = err.message;
        reject(new SftpUnavailableError(this.name, err.message));
      }),
    );
    this.transfers.add(sftp);
    try {
      if (this.stopping) throw new InterruptedError(this.name, `upload of ${local} not started`);
      await new Promise<void>((resolve, reject) =>
        sftp.open(remote, "wx", { mode: 0o600 }, (err, handle) =>
          err ? reject(err) : sftp.close(handle, (e) => (e ? reject(e) : resolve())),
        ),
      );
      await new Promise<void>((resolve, reject) =>
        sftp.fastPut(
          local,
          remote,
          {
            concurrency: 64,
            chunkSize: 32 * 1024,
            mode: 0o600,
            step: (sent, _chunk, total) => opts.onProgress?.(sent, total),
          },
          (err) => (err ? reject(err) : resolve()),
        ),
      );
    } catch (err) {
      if (err instanceof InterruptedError) throw err;
      if (this.stopping) throw new InterruptedError(this.name, `upload of ${local} to ${remote} cut`);
      if (this.lost)
        throw new UnreachableError(
          this.name,
          "connection lost during a file transfer",
          "check the node, then rerun",
        );
      throw new Error(`${this.name}: SFTP upload of ${local} to ${remote} failed: ${(err as Error).message}`);
    } finally {
      this.transfers.delete(sftp);
      sftp.end();
    }
  }

  /**
   * One command on its own channel. A tracked command (all but our own kill commands) reports its node-side
   * session first (taken off stderr here), so stopRunning() can end it and everything it started.
   */
  private channel(
    command: string,
    stdin: Buffer | undefined,
    timeoutSec?: number,
    track = true,
  ): Promise<ExecResult> {
    const client = this.client!;
    return new Promise((resolve, reject) => {
      client.exec(track ? reportSession(command) : command, (err, stream) => {
        if (err) {
          reject(new UnreachableError(this.name, `cannot open a channel: ${err.message}`));
          return;
        }
        let markClosed = () => {};
        const entry: RunningCommand = {
          close: () => stream.close(),
          closed: new Promise<void>((r) => (markClosed = r)),
        };
        if (track) this.running.add(entry);
        const out: Buffer[] = [];
        let errOut: Buffer[] = [];
        let sessionRead = !track;
        let timer: NodeJS.Timeout | undefined;
        let timedOut = false;
        if (timeoutSec) {
          // Backstop only: the remote `timeout` normally ends the command first (exit 124).
          timer = setTimeout(
            () => {
              timedOut = true;
              stream.close();
            },
            (timeoutSec + 30) * 1000,
          );
        }
        stream.on("data", (d: Buffer) => out.push(d));
        stream.stderr.on("data", (d: Buffer) => {
          errOut.push(d);
          if (sessionRead) return;
          const split = splitSessionLine(Buffer.concat(errOut).toString("latin1"));
          if (!split) return;
          sessionRead = true;
          entry.session = split.session;
          errOut = [Buffer.from(split.rest, "latin1")];
          // Started while the run was being stopped: end it too.
          if (this.stopping && split.session !== undefined) void this.signalSessions("TERM", [split.session]);
        });
        stream.on("close", (code: number | null, signal?: string) => {
          if (timer) clearTimeout(timer);
          this.running.delete(entry);
          markClosed();
          const stdout = Buffer.concat(out).toString("utf8");
          let stderr = Buffer.concat(errOut).toString("utf8");
          // A command that ended before its marker line was complete (it never ran): drop the partial line.
          if (!sessionRead) stderr = splitSessionLine(stderr + "\n")?.rest.replace(/\n$/, "") ?? stderr;
          if (this.stopping && track && code !== 0) {
            reject(new InterruptedError(this.name, "command stopped on the node"));
          } else if (timedOut || (timeoutSec && code === 124)) {
            resolve({ code: 124, stdout, stderr: `${stderr}\ntimed out after ${timeoutSec}s` });
          } else if (code === null || code === undefined) {
            if (this.lost || signal === undefined) {
              reject(
                new UnreachableError(
                  this.name,
                  `connection lost while running a command`,
                  "check the node, then rerun",
                ),
              );
            } else resolve({ code: 128, stdout, stderr: `${stderr}\nkilled by signal ${signal}` });
          } else resolve({ code, stdout, stderr });
        });
        stream.end(stdin);
      });
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    mark(`ssh:close:${this.name}:start`);
    await new Promise<void>((resolve) => {
      client.once("close", () => resolve());
      client.end();
      setTimeout(resolve, 2000).unref();
    });
    mark(`ssh:close:${this.name}:end`);
  }
}

/** A label for POWERSTACK_TIMING: the engine's probe batches and fact gathering, apart from other commands. */
function commandKind(command: string): string {
  if (command.startsWith("printf '\\n@@")) return "probe";
  if (command.startsWith("echo @@os;")) return "facts";
  return "command";
}

/** Ask first for the host key types known_hosts holds for this host (ssh2's default order otherwise). */
function serverHostKeyOrder(
  settings: SshSettings,
  address: string,
  port: number,
): ConnectConfig["algorithms"] {
  if (settings.knownHosts === "off") return undefined;
  const serverHostKey = hostKeyAlgorithms(settings.knownHostsFile, address, port);
  return serverHostKey ? { serverHostKey: serverHostKey as ServerHostKeyAlgorithm[] } : undefined;
}

/** OpenSSH's ProxyCommand: a local process whose stdin/stdout carry the SSH stream. */
function proxyCommandSocket(template: string, target: SshTarget): { sock: Duplex; kill: () => void } {
  const cmd = template.replace(/%h/g, target.address).replace(/%p/g, String(target.port)).replace(/%%/g, "%");
  const child = spawn("sh", ["-c", cmd], { stdio: ["pipe", "pipe", "ignore"] });
  const sock = Duplex.from({ readable: child.stdout, writable: child.stdin });
  // ssh2 expects a socket-like stream; the few socket methods it may call are no-ops on a pipe.
  Object.assign(sock, { setNoDelay: () => sock, setKeepAlive: () => sock, setTimeout: () => sock });
  child.on("error", (err) => sock.destroy(err));
  child.on("exit", () => sock.push(null));
  return { sock, kill: () => child.kill() };
}

/** `[user@]host[:port]` bastion: one extra SSH connection, and a forwarded TCP channel to the target. */
async function jumpHostSocket(
  settings: SshSettings,
  target: SshTarget,
  base: ConnectConfig,
): Promise<{ sock: Duplex; close: () => void }> {
  const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(settings.jumpHost!)!;
  const jump = new Client();
  await new Promise<void>((resolve, reject) => {
    jump.once("ready", () => resolve());
    jump.once("error", (err) =>
      reject(
        new UnreachableError(
          target.name,
          `jump host ${settings.jumpHost}: ${err.message}`,
          "check ssh.jump_host",
        ),
      ),
    );
    jump.connect({
      ...base,
      host: m[2],
      port: m[3] ? Number(m[3]) : 22,
      username: m[1] ?? settings.user,
      algorithms: serverHostKeyOrder(settings, m[2]!, m[3] ? Number(m[3]) : 22),
      hostVerifier: (key: Buffer) =>
        verifyHostKey(settings.knownHosts, settings.knownHostsFile, m[2]!, m[3] ? Number(m[3]) : 22, key).ok,
    });
    jump.setNoDelay(true); // the target's packets ride on this socket: see open()
  });
  const sock = await new Promise<Duplex>((resolve, reject) => {
    jump.forwardOut("127.0.0.1", 0, target.address, target.port, (err, stream) =>
      err
        ? reject(
            new UnreachableError(
              target.name,
              `jump host cannot reach ${target.address}:${target.port}: ${err.message}`,
            ),
          )
        : resolve(stream),
    );
  });
  return { sock, close: () => jump.end() };
}
