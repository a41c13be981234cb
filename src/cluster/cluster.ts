/**
 * The one boundary through which powerstack touches Kubernetes: `kubectl` and `helm` run on the control
 * node over SSH (the operator's machine needs neither). No Kubernetes API can run in this project's test
 * environment, so tests substitute a recorder for this interface and check the exact commands and
 * manifests sent; production uses the SSH implementation.
 */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ClusterCallOptions {
  /** Sent on stdin: manifests and values that may hold secrets never go in argv. */
  stdin?: string;
  /** Fail after this many seconds (the command is killed). */
  timeoutSec?: number;
}

export interface Cluster {
  kubectl(args: string[], opts?: ClusterCallOptions): Promise<CommandResult>;
  helm(args: string[], opts?: ClusterCallOptions): Promise<CommandResult>;
}
