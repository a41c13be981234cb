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

export interface Host {
  /** Inventory name of the node. */
  readonly name: string;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}

/** POSIX shell single-quoting: the one way we build remote command lines from values. */
export function shq(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
