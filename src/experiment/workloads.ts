/**
 * The Kubernetes objects of an experiment, as plain objects: its namespace, and for each phase (in one
 * repetition) one batch/v1 Job per target node. run.ts creates them and reads when their pods ran.
 *
 * What every Job shares, and why:
 * - `nodeName` pins the pod to the node the plan names, not a `kubernetes.io/hostname` nodeSelector: the
 *   pod goes to exactly the Node object the inventory registered (no dependence on the hostname label),
 *   a NoSchedule taint does not keep a phase off the node the researcher chose, and a node without room
 *   for the requests fails the pod at once (the kubelet's OutOfcpu/OutOfmemory) instead of leaving it
 *   Pending until the run's margin has passed.
 * - `backoffLimit: 0` and `restartPolicy: Never`: a failed workload is a failed phase, never a silent
 *   second attempt whose window would be priced as the first.
 * - `activeDeadlineSeconds` = duration + margin (image pull, scheduling): a workload that hangs is
 *   stopped by the cluster even when powerstack is gone. No `ttlSecondsAfterFinished`: run.ts deletes the
 *   Jobs itself once it has read their pods' times, which a TTL could remove first.
 * - The phase's window is the main container's start and finish (`containerStatuses`, never the init
 *   containers): work that must not be priced (fio's file layout, waiting for the iperf3 server) runs in
 *   an init container before it.
 * - Least privilege: the built-in workloads run as nobody (65534) with no capabilities, no privilege
 *   escalation, a read-only root filesystem (an emptyDir on /tmp for temporary files) and the runtime's
 *   seccomp profile. A `command` workload runs as its image says (it may need root), still without
 *   privilege escalation and with the seccomp profile.
 * - Each image's entrypoint must be its tool (the containers set `args` only): true for
 *   ghcr.io/colinianking/stress-ng and alexeiled/stress-ng, fio images such as kubestone's, and
 *   networkstatic/iperf3. The iperf3 image also needs `sh`, `grep` and `getent` (Debian-based ones have them).
 */
import { MANAGED_BY, namespaceObject, type KubeObject } from "../modules/kube-apply.js";
import { objectName } from "./names.js";
import type { ExperimentPlan, Phase, Resources, Workload } from "./types.js";

export const LABEL = {
  experiment: "powerstack.io/experiment",
  phase: "powerstack.io/phase",
  repetition: "powerstack.io/repetition",
  node: "powerstack.io/node",
  /** `load`: a Job whose pod is the phase's workload; `iperf3-server`: the peer a network phase talks to. */
  role: "powerstack.io/role",
  /** On an iperf3 server's pod: the name of the headless Service that selects it. */
  server: "powerstack.io/iperf3-server",
} as const;

/** run.ts's own margin (DEFAULT_TIMING.marginSec): a phase may take this much longer than its duration. */
export const DEFAULT_MARGIN_SEC = 300;
export const IPERF3_PORT = 5201;
/** The main container of every Job: the one whose start and finish are the phase's window. */
export const WORKLOAD_CONTAINER = "workload";

export interface WorkloadOptions {
  /** Added to a phase's duration for its Jobs' activeDeadlineSeconds (default DEFAULT_MARGIN_SEC). */
  marginSec?: number;
}

/** The experiment's namespace, labelled as powerstack's and the experiment's. */
export function namespaceManifest(plan: ExperimentPlan): KubeObject {
  return namespaceObject(plan.namespace, { [LABEL.experiment]: plan.name });
}

/**
 * The objects of one phase in one repetition (1-based): nothing for `idle`; one Job per target node
 * otherwise; for `network` also, per target, an iperf3 server Job on the peer and the headless Service
 * the client finds it by (the Service first: create in this order). The Jobs run.ts must wait for are
 * every Job here: an iperf3 server serves one test (`--one-off`) and then completes.
 */
export function jobsForPhase(
  plan: ExperimentPlan,
  phase: Phase,
  repetition: number,
  opts: WorkloadOptions = {},
): KubeObject[] {
  const margin = opts.marginSec ?? DEFAULT_MARGIN_SEC;
  return phase.nodes.flatMap((node) =>
    objectsFor(plan, {
      phase: phase.name,
      repetition: String(repetition),
      node,
      workload: phase.workload,
      resources: phase.resources,
      durationSec: phase.durationSec,
      marginSec: margin,
      nameParts: [plan.name, phase.name, `r${repetition}`, node],
    }),
  );
}

/**
 * The background load's objects: the same workloads, running for the whole experiment. They are made to
 * last longer than the longest run the plan can take (every phase at its deadline), and run.ts deletes
 * them after the last phase.
 */
export function backgroundJobs(plan: ExperimentPlan, opts: WorkloadOptions = {}): KubeObject[] {
  const b = plan.background;
  if (!b) return [];
  const margin = opts.marginSec ?? DEFAULT_MARGIN_SEC;
  return b.nodes.flatMap((node) =>
    objectsFor(plan, {
      phase: b.name,
      repetition: "all",
      node,
      workload: b.workload,
      resources: b.resources,
      durationSec: longestRunSec(plan, margin),
      marginSec: margin,
      nameParts: [plan.name, b.name, node],
    }),
  );
}

/** The longest an experiment may take before run.ts gives up on it: every settle, duration and margin. */
export function longestRunSec(plan: ExperimentPlan, marginSec = DEFAULT_MARGIN_SEC): number {
  const perRepetition = plan.phases.reduce((s, p) => s + plan.settleSec + p.durationSec + marginSec, 0);
  return plan.repetitions * perRepetition + marginSec;
}

interface Target {
  phase: string;
  repetition: string;
  node: string;
  workload: Workload;
  resources?: Resources;
  durationSec: number;
  marginSec: number;
  nameParts: string[];
}

function objectsFor(plan: ExperimentPlan, t: Target): KubeObject[] {
  const w = t.workload;
  const d = t.durationSec;
  switch (w.kind) {
    case "idle":
      return [];
    case "ramp":
      throw new Error(
        `phase ${t.phase}: a ramp is expanded into its steps by plan.ts and has no Jobs itself`,
      );
    case "cpu":
      return [
        loadJob(plan, t, {
          image: plan.images.stressNg,
          args: [
            "--cpu",
            String(w.workers),
            "--cpu-load",
            String(w.load),
            "--timeout",
            `${d}s`,
            "--metrics-brief",
          ],
        }),
      ];
    case "memory":
      return [
        loadJob(plan, t, {
          image: plan.images.stressNg,
          args: ["--vm", String(w.workers), "--vm-bytes", w.bytes, "--timeout", `${d}s`, "--metrics-brief"],
        }),
      ];
    case "disk":
      return [diskJob(plan, t, w)];
    case "network":
      return networkObjects(plan, t, w);
    case "command":
      return [
        loadJob(
          plan,
          t,
          {
            image: w.image,
            ...(w.command ? { command: w.command } : {}),
            ...(w.args ? { args: w.args } : {}),
          },
          { asImage: true },
        ),
      ];
  }
}

type Container = Record<string, unknown> & { image: string };

function labels(plan: ExperimentPlan, t: Target, role: string, node: string): Record<string, string> {
  return {
    ...MANAGED_BY,
    [LABEL.experiment]: plan.name,
    [LABEL.phase]: t.phase,
    [LABEL.repetition]: t.repetition,
    [LABEL.node]: node,
    [LABEL.role]: role,
  };
}

const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};
const RESTRICTED_POD = {
  runAsNonRoot: true,
  runAsUser: 65534,
  runAsGroup: 65534,
  seccompProfile: { type: "RuntimeDefault" },
};

function k8sResources(r: Resources | undefined, extraRequests: Record<string, string> = {}) {
  const requests = { ...r?.requests, ...extraRequests };
  const limits = { ...r?.limits };
  return {
    ...(Object.keys(requests).length ? { requests } : {}),
    ...(Object.keys(limits).length ? { limits } : {}),
  };
}

interface JobParts {
  name?: string;
  node?: string;
  role?: string;
  deadlineSec?: number;
  /** A `command` workload: run as the image says (no user, no read-only root). */
  asImage?: boolean;
  initContainers?: Container[];
  volumes?: Array<Record<string, unknown>>;
  mounts?: Array<Record<string, unknown>>;
  extraRequests?: Record<string, string>;
  podLabels?: Record<string, string>;
  startupProbe?: Record<string, unknown>;
}

function loadJob(plan: ExperimentPlan, t: Target, main: Container, parts: JobParts = {}): KubeObject {
  const name = parts.name ?? objectName(t.nameParts);
  const node = parts.node ?? t.node;
  const role = parts.role ?? "load";
  const own = parts.asImage !== true;
  const tmp = own ? [{ name: "tmp", emptyDir: {} }] : [];
  const tmpMount = own ? [{ name: "tmp", mountPath: "/tmp" }] : [];
  const containerSecurity = own ? RESTRICTED_CONTAINER : { allowPrivilegeEscalation: false };
  const mounts = [...tmpMount, ...(parts.mounts ?? [])];
  const resources = k8sResources(t.resources, parts.extraRequests);
  const container = (c: Container, n: string) => ({
    name: n,
    ...c,
    ...(own ? { workingDir: "/tmp" } : {}),
    ...(Object.keys(resources).length ? { resources } : {}),
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    securityContext: containerSecurity,
  });
  const podLabels = { ...labels(plan, t, role, node), ...parts.podLabels };
  const volumes = [...tmp, ...(parts.volumes ?? [])];
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: plan.namespace, labels: labels(plan, t, role, node) },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: parts.deadlineSec ?? t.durationSec + t.marginSec,
      template: {
        metadata: { labels: podLabels },
        spec: {
          nodeName: node,
          restartPolicy: "Never",
          // The workloads talk to no API server and need no service environment variables.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 10,
          securityContext: own ? RESTRICTED_POD : { seccompProfile: { type: "RuntimeDefault" } },
          ...(parts.initContainers?.length
            ? {
                initContainers: parts.initContainers.map((c, i) =>
                  container(c, String(c.name ?? `init-${i}`)),
                ),
              }
            : {}),
          containers: [
            {
              ...container(main, WORKLOAD_CONTAINER),
              ...(parts.startupProbe ? { startupProbe: parts.startupProbe } : {}),
            },
          ],
          ...(volumes.length ? { volumes } : {}),
        },
      },
    },
  };
}

/**
 * fio, given its job on the command line (the same options a job file holds) so that the image needs no
 * shell: a file of `size` on an emptyDir of the node, `rw` in blocks of `block_size`, time-based for
 * the phase's duration, O_DIRECT (the disk, not the page cache). The file is laid out first, by an init
 * container (`--create_only`): writing it is not part of the phase. The emptyDir must not be memory
 * backed (O_DIRECT fails on tmpfs); the pod requests `size` of ephemeral storage so the node has room.
 */
function diskJob(plan: ExperimentPlan, t: Target, w: Extract<Workload, { kind: "disk" }>): KubeObject {
  const common = [
    `--name=${t.phase}`,
    "--filename=/data/fio.dat",
    `--size=${w.size}`,
    `--bs=${w.blockSize}`,
    `--rw=${w.rw}`,
    "--direct=1",
    "--ioengine=psync",
  ];
  return loadJob(
    plan,
    t,
    {
      image: plan.images.fio,
      args: [...common, "--time_based", `--runtime=${t.durationSec}`, "--group_reporting"],
    },
    {
      initContainers: [{ name: "layout", image: plan.images.fio, args: [...common, "--create_only=1"] }],
      volumes: [{ name: "data", emptyDir: {} }],
      mounts: [{ name: "data", mountPath: "/data" }],
      extraRequests: { "ephemeral-storage": ephemeral(w.size) },
    },
  );
}

/** fio's size (powers of 1024) as a Kubernetes quantity. */
function ephemeral(size: string): string {
  const m = /^(\d+)([kmgt]?)$/i.exec(size);
  if (!m) return size;
  const unit = { "": "", k: "Ki", m: "Mi", g: "Gi", t: "Ti" }[m[2]!.toLowerCase()]!;
  return `${m[1]}${unit}`;
}

/**
 * iperf3 between the target (client, the timed workload) and the peer (server). Per target node: a server
 * Job on the peer (`--one-off`: it serves this client's test and completes), a headless Service
 * selecting that server's pod (named as the server Job: a runner waiting for "every object's name" to be
 * a completed Job still finds one), and the client Job.
 *
 * How the client waits for its server without a race: the server's startupProbe passes once iperf3
 * listens (its port in /proc/net/tcp*, LISTEN state; a TCP probe would be taken for the one-off client),
 * the pod is Ready only then, and a headless Service publishes only Ready pods in DNS. The client's
 * init container waits until the Service's name resolves, so the timed container starts with the server
 * listening. The probe stops once it passed (a startupProbe), so it costs nothing during the phase.
 */
function networkObjects(
  plan: ExperimentPlan,
  t: Target,
  w: Extract<Workload, { kind: "network" }>,
): KubeObject[] {
  const server = objectName([...t.nameParts, "iperf3"]);
  const host = `${server}.${plan.namespace}.svc`;
  const service: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: server, namespace: plan.namespace, labels: labels(plan, t, "iperf3-server", w.peer) },
    spec: {
      clusterIP: "None",
      selector: { [LABEL.server]: server },
      ports: [{ name: "iperf3", port: IPERF3_PORT, targetPort: IPERF3_PORT, protocol: "TCP" }],
    },
  };
  const listening = `grep -qsE ':${IPERF3_PORT.toString(16).toUpperCase()} [0-9A-F]+:0000 0A' /proc/net/tcp /proc/net/tcp6`;
  const serverJob = loadJob(
    plan,
    t,
    { image: plan.images.iperf3, args: ["--server", "--one-off", "--port", String(IPERF3_PORT)] },
    {
      name: server,
      node: w.peer,
      role: "iperf3-server",
      // It starts before its client and must outlive the client's own deadline.
      deadlineSec: t.durationSec + 2 * t.marginSec,
      podLabels: { [LABEL.server]: server },
      startupProbe: {
        exec: { command: ["sh", "-c", listening] },
        periodSeconds: 1,
        failureThreshold: 60,
      },
    },
  );
  const client = loadJob(
    plan,
    t,
    {
      image: plan.images.iperf3,
      args: [
        "--client",
        host,
        "--port",
        String(IPERF3_PORT),
        "--time",
        String(t.durationSec),
        "--parallel",
        String(w.parallel),
        ...(w.bandwidth ? ["-b", w.bandwidth] : []),
        "--format",
        "m",
      ],
    },
    {
      initContainers: [
        {
          name: "wait-for-server",
          image: plan.images.iperf3,
          command: ["sh", "-c", 'until getent hosts "$SERVER" >/dev/null; do sleep 1; done'],
          env: [{ name: "SERVER", value: host }],
        },
      ],
    },
  );
  return [service, serverJob, client];
}
