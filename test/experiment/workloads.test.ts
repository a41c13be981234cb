/**
 * The Kubernetes objects of an experiment (src/experiment/workloads.ts), made from a plan that has every
 * workload kind and a background load. Every object is validated offline against the Kubernetes 1.31
 * schema (test/support/k8s-schema.ts: kubernetes-models' OpenAPI models, served kinds of 1.31, unknown
 * fields refused); then each kind's Job is checked for what the run relies on.
 */
import { beforeAll, describe, expect, test } from "vitest";
import type { KubeObject } from "../../src/modules/kube-apply.js";
import { parseInventory } from "../../src/inventory/load.js";
import { parsePlan } from "../../src/experiment/plan.js";
import { MAX_NAME, objectName } from "../../src/experiment/names.js";
import type { ExperimentPlan, Phase } from "../../src/experiment/types.js";
import {
  backgroundJobs,
  DEFAULT_MARGIN_SEC,
  jobsForPhase,
  LABEL,
  longestRunSec,
  namespaceManifest,
} from "../../src/experiment/workloads.js";
import { K8sSchemaValidator } from "../support/k8s-schema.js";
import { INVENTORY_FILE, MINIMAL_INVENTORY } from "../support/minimal-inventory.js";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const STRESS = `ghcr.io/colinianking/stress-ng@${D("a")}`;
const FIO = `ljishen/fio@${D("b")}`;
const IPERF = `networkstatic/iperf3@${D("c")}`;
const OWN = `busybox@${D("d")}`;

const PLAN = `name: exp
namespace: energy-runs
repetitions: 2
settle: 10s
images: { stress_ng: "${STRESS}", fio: "${FIO}", iperf3: "${IPERF}" }
background:
  workload: { kind: network, peer: ctl, parallel: 2 }
  nodes: [w1]
phases:
  - name: idle
    workload: { kind: idle }
    duration: 30s
  - name: cpu
    workload: { kind: cpu, load: 50, workers: 2 }
    duration: 60s
    nodes: [ctl, w1]
    resources: { requests: { cpu: "2", memory: 64Mi }, limits: { cpu: "2", memory: 128Mi } }
  - name: mem
    workload: { kind: memory, bytes: 256m, workers: 2 }
    duration: 20s
    nodes: [w1]
    resources: { limits: { memory: 1Gi } }
  - name: disk
    workload: { kind: disk, size: 2g, rw: randwrite, block_size: 64k }
    duration: 30s
    nodes: [w1]
  - name: net
    workload: { kind: network, peer: ctl, parallel: 4, bandwidth: 500M }
    duration: 40s
    nodes: [w1]
  - name: up
    workload: { kind: ramp, steps: [30, 90], step_duration: 15s, workers: 1 }
    nodes: [w1]
  - name: own
    workload: { kind: command, image: "${OWN}", command: [sh, -c], args: ["echo hi"] }
    duration: 5s
    nodes: [ctl]
`;

const inventory = parseInventory(MINIMAL_INVENTORY, INVENTORY_FILE);
const plan = parsePlan(PLAN, "/srv/plan.yaml", inventory);
const phase = (name: string): Phase => plan.phases.find((p) => p.name === name)!;

type Obj = KubeObject & { spec: any }; // `any`: each test reads the fields of its own workload
const objs = (name: string, rep = 1) => jobsForPhase(plan, phase(name), rep) as Obj[];
const jobs = (name: string, rep = 1) => objs(name, rep).filter((o) => o.kind === "Job");
const pod = (job: Obj) => job.spec.template.spec;
const main = (job: Obj) => pod(job).containers[0];

/** Every object of the whole run: namespace, background, each phase of each repetition. */
function everything(p: ExperimentPlan): KubeObject[] {
  const out: KubeObject[] = [namespaceManifest(p), ...backgroundJobs(p)];
  for (let rep = 1; rep <= p.repetitions; rep++)
    for (const ph of p.phases) out.push(...jobsForPhase(p, ph, rep));
  return out;
}

let validator: K8sSchemaValidator;
beforeAll(() => {
  validator = new K8sSchemaValidator();
});

describe("every object is valid Kubernetes 1.31", () => {
  test("namespace, background, and every phase of every repetition: all kinds of workload", () => {
    const all = everything(plan);
    expect(new Set(all.map((o) => o.kind))).toEqual(new Set(["Namespace", "Job", "Service"]));
    expect(all.length).toBe(1 + 3 + 2 * (0 + 2 + 1 + 1 + 3 + 2 + 1));
    expect(validator.invalid(all)).toEqual([]);
  });

  test("the validator does catch a broken Job (so the pass above means something)", () => {
    const job = structuredClone(jobs("cpu")[0]!);
    pod(job).restartPolicy = "Sometimes";
    pod(job).containers[0].imagePullPolicyy = "Always";
    const errors = validator.errors(job);
    expect(errors.join("\n")).toMatch(/restartPolicy/);
    expect(errors.join("\n")).toMatch(/imagePullPolicyy: unknown field/);
  });

  test("the namespace is powerstack's and names the experiment", () => {
    expect(namespaceManifest(plan)).toEqual({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: "energy-runs",
        labels: { "app.kubernetes.io/managed-by": "powerstack", [LABEL.experiment]: "exp" },
      },
    });
  });
});

describe("what every Job shares", () => {
  test("pinned to its node, no retry, deadline = duration + margin, no TTL, labelled, least privilege", () => {
    const [ctl, w1] = jobs("cpu", 2);
    for (const [job, node] of [
      [ctl!, "ctl"],
      [w1!, "w1"],
    ] as const) {
      expect(job.metadata).toEqual({
        name: `exp-cpu-r2-${node}`,
        namespace: "energy-runs",
        labels: {
          "app.kubernetes.io/managed-by": "powerstack",
          "powerstack.io/experiment": "exp",
          "powerstack.io/phase": "cpu",
          "powerstack.io/repetition": "2",
          "powerstack.io/node": node,
          "powerstack.io/role": "load",
        },
      });
      expect(job.spec.backoffLimit).toBe(0);
      expect(job.spec.activeDeadlineSeconds).toBe(60 + DEFAULT_MARGIN_SEC);
      expect(job.spec.ttlSecondsAfterFinished).toBeUndefined();
      expect(job.spec.template.metadata.labels).toEqual(job.metadata.labels);
      expect(pod(job)).toMatchObject({
        nodeName: node,
        restartPolicy: "Never",
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: "RuntimeDefault" } },
      });
      expect(main(job).name).toBe("workload");
      expect(main(job).securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
      expect(main(job).resources).toEqual({
        requests: { cpu: "2", memory: "64Mi" },
        limits: { cpu: "2", memory: "128Mi" },
      });
    }
    expect(jobsForPhase(plan, phase("cpu"), 1, { marginSec: 30 })[0]!.spec).toMatchObject({
      activeDeadlineSeconds: 90,
    });
  });

  test("names are deterministic, unique across the run, DNS labels of at most 57 characters", () => {
    const names = everything(plan)
      .filter((o) => o.kind === "Job")
      .map((o) => o.metadata.name);
    expect(new Set(names).size).toBe(names.length);
    expect(everything(plan).map((o) => o.metadata.name)).toEqual(
      everything(plan).map((o) => o.metadata.name),
    );
    for (const n of names) expect(n).toMatch(/^[a-z]([a-z0-9-]{0,55}[a-z0-9])?$/);
  });

  test("long names keep their start and get a hash of the whole, so they stay distinct", () => {
    const node = `n${"x".repeat(60)}`;
    const inv = parseInventory(MINIMAL_INVENTORY.replace("name: w1", `name: ${node}`), INVENTORY_FILE);
    const long = parsePlan(
      `name: ${"e".repeat(40)}
images: { stress_ng: "${STRESS}", fio: "${FIO}", iperf3: "${IPERF}" }
phases:
  - { name: ${"p".repeat(39)}a, workload: { kind: network, peer: ctl }, duration: 5s, nodes: [${node}] }
  - { name: ${"p".repeat(39)}b, workload: { kind: cpu }, duration: 5s, nodes: [${node}] }
`,
      "/srv/long.yaml",
      inv,
    );
    const all = everything(long);
    const names = all.filter((o) => o.kind === "Job").map((o) => o.metadata.name);
    expect(new Set(names).size).toBe(3);
    for (const n of names) {
      expect(n.length).toBeLessThanOrEqual(MAX_NAME);
      expect(n).toMatch(/^e{40}-p+-[0-9a-f]{8}$/);
    }
    expect(validator.invalid(all)).toEqual([]);
    expect(objectName(["a", "b"])).toBe("a-b");
    expect(objectName(["a".repeat(30), "b".repeat(30)])).toBe(objectName(["a".repeat(30), "b".repeat(30)]));
    expect(objectName(["a".repeat(30), "b".repeat(30)])).not.toBe(
      objectName(["a".repeat(30), "c".repeat(30)]),
    );
  });
});

describe("each workload kind", () => {
  test("idle runs nothing", () => {
    expect(objs("idle")).toEqual([]);
  });

  test("cpu: stress-ng at the load, worker count and duration of the phase", () => {
    expect(main(jobs("cpu")[0]!)).toMatchObject({
      image: STRESS,
      args: ["--cpu", "2", "--cpu-load", "50", "--timeout", "60s", "--metrics-brief"],
    });
    expect(main(jobs("cpu")[0]!).command).toBeUndefined();
  });

  test("memory: stress-ng --vm", () => {
    expect(main(jobs("mem")[0]!)).toMatchObject({
      image: STRESS,
      args: ["--vm", "2", "--vm-bytes", "256m", "--timeout", "20s", "--metrics-brief"],
      resources: { limits: { memory: "1Gi" } },
    });
  });

  test("disk: fio on an emptyDir, its file laid out by an init container, room requested", () => {
    const job = jobs("disk")[0]!;
    const common = [
      "--name=disk",
      "--filename=/data/fio.dat",
      "--size=2g",
      "--bs=64k",
      "--rw=randwrite",
      "--direct=1",
      "--ioengine=psync",
    ];
    expect(main(job)).toMatchObject({
      image: FIO,
      args: [...common, "--time_based", "--runtime=30", "--group_reporting"],
      resources: { requests: { "ephemeral-storage": "2Gi" } },
    });
    expect(pod(job).initContainers).toHaveLength(1);
    expect(pod(job).initContainers[0]).toMatchObject({
      name: "layout",
      image: FIO,
      args: [...common, "--create_only=1"],
    });
    expect(pod(job).volumes).toContainEqual({ name: "data", emptyDir: {} });
    expect(main(job).volumeMounts).toContainEqual({ name: "data", mountPath: "/data" });
  });

  test("network: a server on the peer, a headless Service selecting it, a client that waits for its name", () => {
    const [service, server, client] = objs("net") as [Obj, Obj, Obj];
    expect([service.kind, server.kind, client.kind]).toEqual(["Service", "Job", "Job"]);
    expect(service.metadata.name).toBe("exp-net-r1-w1-iperf3");
    expect(service.spec.clusterIP).toBe("None");
    // The Service selects the server's pod, and only it.
    const selector = service.spec.selector as Record<string, string>;
    const matches = (labels: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(matches(server.spec.template.metadata.labels)).toBe(true);
    expect(matches(client.spec.template.metadata.labels)).toBe(false);

    expect(pod(server).nodeName).toBe("ctl");
    expect(server.metadata.labels![LABEL.role]).toBe("iperf3-server");
    expect(main(server).args).toEqual(["--server", "--one-off", "--port", "5201"]);
    expect(main(server).startupProbe.exec.command.join(" ")).toContain(":1451 ");
    expect(server.spec.activeDeadlineSeconds).toBeGreaterThan(client.spec.activeDeadlineSeconds);

    const host = "exp-net-r1-w1-iperf3.energy-runs.svc";
    expect(pod(client).nodeName).toBe("w1");
    expect(main(client).args).toEqual([
      "--client",
      host,
      "--port",
      "5201",
      "--time",
      "40",
      "--parallel",
      "4",
      "-b",
      "500M",
      "--format",
      "m",
    ]);
    expect(pod(client).initContainers[0]).toMatchObject({
      name: "wait-for-server",
      image: IPERF,
      command: ["sh", "-c", expect.stringContaining('getent hosts "$SERVER"')],
      env: [{ name: "SERVER", value: host }],
    });
  });

  test("ramp: one cpu Job per step, each its own phase with the step's load and length", () => {
    const [s1, s2] = [jobs("up-step1")[0]!, jobs("up-step2")[0]!];
    expect(main(s1).args).toEqual(["--cpu", "1", "--cpu-load", "30", "--timeout", "15s", "--metrics-brief"]);
    expect(main(s2).args).toEqual(["--cpu", "1", "--cpu-load", "90", "--timeout", "15s", "--metrics-brief"]);
    expect(s2.metadata.labels![LABEL.phase]).toBe("up-step2");
    const unexpanded: Phase = {
      name: "up",
      workload: { kind: "ramp", steps: [1], stepSeconds: 1, workers: 1 },
      durationSec: 1,
      nodes: ["w1"],
    };
    expect(() => jobsForPhase(plan, unexpanded, 1)).toThrow(/expanded into its steps/);
  });

  test("command: the image, command and args as given; run as the image says, still without escalation", () => {
    const job = jobs("own")[0]!;
    expect(main(job)).toMatchObject({ image: OWN, command: ["sh", "-c"], args: ["echo hi"] });
    expect(main(job).securityContext).toEqual({ allowPrivilegeEscalation: false });
    expect(pod(job).securityContext).toEqual({ seccompProfile: { type: "RuntimeDefault" } });
    expect(pod(job).volumes).toBeUndefined();
  });
});

describe("the background load", () => {
  test("outlasts the longest run the plan can take; labelled for the whole experiment", () => {
    const all = backgroundJobs(plan) as Obj[];
    expect(all.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
      "Service exp-background-w1-iperf3",
      "Job exp-background-w1-iperf3",
      "Job exp-background-w1",
    ]);
    const client = all[2]!;
    const longest = longestRunSec(plan);
    // 2 repetitions x (6 runnable phases + 2 ramp steps) x (settle + margin), plus the durations, plus a margin.
    expect(longest).toBe(
      2 * (8 * (10 + DEFAULT_MARGIN_SEC) + 30 + 60 + 20 + 30 + 40 + 15 + 15 + 5) + DEFAULT_MARGIN_SEC,
    );
    expect(main(client).args).toContain(String(longest));
    expect(client.spec.activeDeadlineSeconds).toBe(longest + DEFAULT_MARGIN_SEC);
    expect(client.metadata.labels).toMatchObject({ [LABEL.phase]: "background", [LABEL.repetition]: "all" });
    expect(backgroundJobs({ ...plan, background: undefined })).toEqual([]);
  });
});

describe("air-gapped: every container image comes from the registry mirror", () => {
  test("the same digests, pulled from cluster.registry_mirror", () => {
    const inv = parseInventory(
      MINIMAL_INVENTORY.replace("cluster:\n", "cluster:\n  registry_mirror: registry.lab:5000\n"),
      INVENTORY_FILE,
    );
    const mirrored = parsePlan(PLAN, "/srv/plan.yaml", inv);
    const images = everything(mirrored)
      .filter((o): o is Obj => o.kind === "Job")
      .flatMap((j) =>
        [...(pod(j).initContainers ?? []), ...pod(j).containers].map((c: { image: string }) => c.image),
      );
    expect(new Set(images)).toEqual(
      new Set([
        `registry.lab:5000/colinianking/stress-ng@${D("a")}`,
        `registry.lab:5000/ljishen/fio@${D("b")}`,
        `registry.lab:5000/networkstatic/iperf3@${D("c")}`,
        `registry.lab:5000/library/busybox@${D("d")}`,
      ]),
    );
  });
});
