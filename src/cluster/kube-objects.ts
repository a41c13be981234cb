/**
 * The few fields of `kubectl get <kind> -o json` documents that `verify` and `experiment` read
 * (Kubernetes API core/v1: Node, Pod, PersistentVolumeClaim, PersistentVolume; batch/v1 Job's metadata
 * and conditions). Everything is optional: a reader must say what is missing, not crash on it.
 */

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  ownerReferences?: Array<{ kind: string; name: string }>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface KubeNode {
  metadata: Meta;
  spec?: { unschedulable?: boolean };
  status?: {
    addresses?: Array<{ type: string; address: string }>;
    conditions?: Condition[];
    nodeInfo?: { kubeletVersion?: string };
  };
}

export interface Terminated {
  reason?: string;
  exitCode?: number;
  message?: string;
  /** RFC 3339, whole seconds (metav1.Time): set by the kubelet from the node's clock. */
  startedAt?: string;
  finishedAt?: string;
}

export interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string; message?: string };
    running?: Record<string, unknown> & { startedAt?: string };
    terminated?: Terminated;
  };
}

export interface KubePod {
  metadata: Meta;
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

export interface KubePvc {
  metadata: Meta;
  spec?: {
    volumeName?: string;
    storageClassName?: string;
    resources?: { requests?: { storage?: string } };
  };
  status?: { phase?: string };
}

export interface KubePv {
  metadata: Meta;
  spec?: {
    nfs?: { server?: string; path?: string };
    /** csi-driver-nfs (`nfs.csi.k8s.io`): server and share (+ subDir) in volumeAttributes. */
    csi?: { driver?: string; volumeAttributes?: Record<string, string> };
    hostPath?: { path?: string };
    local?: { path?: string };
    claimRef?: { namespace?: string; name?: string };
    storageClassName?: string;
  };
  status?: { phase?: string };
}

export interface KubeList<T> {
  items: T[];
}

/** Parse a `kubectl get -o json` list; the error names the command so a reader can rerun it. */
export function parseList<T>(stdout: string, command: string): T[] {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new Error(`\`${command}\` did not print JSON: ${stdout.trim().slice(0, 120) || "(nothing)"}`);
  }
  const items = (doc as Partial<KubeList<T>>)?.items;
  if (!Array.isArray(items)) throw new Error(`\`${command}\` printed JSON without an items list`);
  return items;
}
