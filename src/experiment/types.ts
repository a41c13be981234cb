/**
 * The shapes shared by the parts of `powerstack experiment`: the plan file (plan.ts parses and checks it),
 * the Jobs made from it (workloads.ts), the run that records when each phase really ran (run.ts), and
 * the pricing of those windows (price.ts). Times are epoch milliseconds, UTC.
 */

/** What a phase runs on its node(s). `idle` runs nothing: it is the baseline a node draws at rest. */
export type Workload =
  | { kind: "idle" }
  | { kind: "cpu"; load: number; workers: number }
  | { kind: "memory"; bytes: string; workers: number }
  | {
      kind: "disk";
      size: string;
      rw: "read" | "write" | "randread" | "randwrite" | "randrw";
      blockSize: string;
    }
  | { kind: "network"; peer: string; bandwidth?: string; parallel: number }
  | { kind: "ramp"; steps: number[]; stepSeconds: number; workers: number }
  | { kind: "command"; image: string; command?: string[]; args?: string[] };

export interface Resources {
  requests?: { cpu?: string; memory?: string };
  limits?: { cpu?: string; memory?: string };
}

export interface Phase {
  name: string;
  workload: Workload;
  durationSec: number;
  /** Node names from the inventory; each gets its own Job (pinned there). */
  nodes: string[];
  resources?: Resources;
  /** Where the phase was declared, for errors that come after parsing ("plan.yaml:14:5"). */
  at?: string;
  /**
   * Set on the phases a `ramp` of the plan file becomes. A ramp is never a phase of its own in
   * `ExperimentPlan.phases`: plan.ts writes one `cpu` phase per step, named `<ramp>-step<index>`, so each
   * step is its own Job and its window comes from its own pod (exact per step). A runner may skip the
   * settle time before the steps after the first (index > 1) to keep the ramp continuous.
   */
  step?: { ramp: string; index: number; count: number };
}

/** Container images by digest (`repo@sha256:...`): what each workload kind runs. */
export interface Images {
  stressNg: string;
  fio: string;
  iperf3: string;
}

/**
 * A checked plan. `phases` are in run order, each repetition runs all of them; a `ramp` of the file is
 * already expanded into its steps (see `Phase.step`), so no phase here has `workload.kind === "ramp"`.
 */
export interface ExperimentPlan {
  name: string;
  /** The plan file's path and its exact text, kept in the results directory. */
  file: string;
  text: string;
  namespace: string;
  images: Images;
  phases: Phase[];
  repetitions: number;
  /** Pause before every phase, so one phase's tail does not spill into the next one's window. */
  settleSec: number;
  /** Runs for the whole experiment beside every phase (e.g. a steady 10 % CPU on another node). */
  background?: Omit<Phase, "durationSec">;
  /** The inventory's `cluster.registry_mirror`, when every image above was rewritten to pull from it. */
  registryMirror?: string;
}

/** One phase as it really ran: the times come from the pods' status (the cluster's clock), not ours. */
export interface PhaseRun {
  phase: string;
  repetition: number;
  nodes: string[];
  startMs: number;
  endMs: number;
  /** The Jobs' names, for the record. */
  jobs: string[];
}

/** Joules and average watts of one group (a node, a namespace, the experiment's pods) in one phase run. */
export interface GroupEnergy {
  group: "node" | "namespace" | "experiment";
  key: string;
  joules: number;
  watts: number;
  /** Platform (BMC) joules and watts where Kepler exports them (node group only). */
  platformJ?: number;
  platformW?: number;
  /** DRAM joules where exported (node group only). */
  dramJ?: number;
  /** The idle phase's average watts times this run's seconds, subtracted from `joules` (node group only). */
  baselineJ?: number;
  /** joules - baselineJ: what the phase cost above idle; may be negative (node group with a baseline only). */
  netJ?: number;
  /** The same for the platform figure: idle platform watts x seconds, and platformJ minus it. */
  platformBaselineJ?: number;
  platformNetJ?: number;
  /** Experiment group: the pods summed (`namespace/pod`), so a reader can check the selection. */
  pods?: string[];
}

export interface PricedPhaseRun extends PhaseRun {
  groups: GroupEnergy[];
}

/** A phase over its repetitions: mean, sample standard deviation and count of each group's figures. */
export interface PhaseSummary {
  phase: string;
  group: GroupEnergy["group"];
  key: string;
  count: number;
  meanJ: number;
  stdevJ: number;
  meanW: number;
  stdevW: number;
  /** Baseline-subtracted joules, mean over repetitions (node group with an idle phase only). */
  meanNetJ?: number;
  stdevNetJ?: number;
  /** Mean length of the phase's runs, seconds. */
  meanSeconds: number;
  /**
   * Platform (BMC) and DRAM figures over the runs that have them (node group only): `platformCount` may be
   * below `count` when the BMC answered in some runs only.
   */
  platformCount?: number;
  meanPlatformJ?: number;
  stdevPlatformJ?: number;
  meanPlatformW?: number;
  stdevPlatformW?: number;
  meanPlatformNetJ?: number;
  meanDramJ?: number;
}
