/**
 * What the engine needs from a machine it manages: run a command (with stdin), and close. SSH nodes and
 * the operator's own machine both implement it, so a role does not care where it runs.
 */
export interface ExecOptions {
  /** Fed to the command's stdin: the only way secrets and file contents reach a host. */
  stdin?: string | Buffer;
  /** Kill the command and fail after this many seconds. */
  timeoutSec?: number;
  /** Run as root through sudo when the login user is not root (default true). */
  become?: boolean;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PutFileOptions {
  /** Called as bytes go out: sent so far (increasing), total. */
  onProgress?: (sent: number, total: number) => void;
}

export interface Host {
  /** Inventory name of the node. */
  readonly name: string;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Copy a local file to a NEW file `remote` (created exclusively, mode 0600) AS THE LOGIN USER (no
   * sudo), over the host's existing connection (SFTP). Optional: a host without it gets file contents on
   * stdin instead (see transport/upload.ts). Throws SftpUnavailableError when the node has no SFTP.
   */
  putFile?(local: string, remote: string, opts?: PutFileOptions): Promise<void>;
  /**
   * The run was interrupted: start no new command, end the running ones (with everything they started),
   * and resolve once they are gone. Commands then fail with an InterruptedError.
   */
  stopRunning?(): Promise<void>;
  close(): Promise<void>;
}

/** The node's sshd offers no SFTP subsystem: transport/upload.ts falls back to stdin of a command. */
export class SftpUnavailableError extends Error {
  constructor(
    readonly host: string,
    detail: string,
  ) {
    super(`${host}: SFTP is not available: ${detail}`);
    this.name = "SftpUnavailableError";
  }
}

/** After SIGTERM, how long a stopped command has to end before it gets SIGKILL (stopRunning). */
export const STOP_GRACE_MS = 3_000;

/** Whether `done` settles within `ms` (the timer does not keep the process alive). */
export function settlesWithin(done: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([
    done.then(() => true),
    new Promise<false>((r) => setTimeout(() => r(false), ms).unref()),
  ]);
}

/** POSIX shell single-quoting: the one way we build remote command lines from values. */
export function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
