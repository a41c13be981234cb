/**
 * The experiment plan file: YAML, checked like the inventory (the same parser guards, schema walker and
 * `file:line:col: key: what. fix: how` problems, all reported at once), then checked against the inventory
 * (node names, the registry mirror) and turned into an `ExperimentPlan`.
 *
 * Images must be pinned by digest: a tag can move between two runs of the same plan, and then the two
 * runs measure different code. With `cluster.registry_mirror` set in the inventory every image is
 * rewritten to pull the same digest from the mirror.
 */
import { InputError } from "../errors.js";
import { closest } from "../closest.js";
import { formatBytes, notTextReason, readInputFile } from "../input-file.js";
import { InventoryError } from "../inventory/load.js";
import { quantityToBytes } from "../inventory/network.js";
import { excerpt, SourceMap, walk, type Field, type Path } from "../inventory/schema-walker.js";
import type { Inventory } from "../inventory/types.js";
import { parseYaml } from "../inventory/yaml-source.js";
import { parseDuration } from "../prometheus/window.js";
import type { KubeObject } from "../modules/kube-apply.js";
import type { ExperimentPlan, Images, Phase, Resources, Workload } from "./types.js";
import { backgroundJobs, jobsForPhase } from "./workloads.js";

/** A plan names a few phases in a few KiB; far past that it is the wrong file. Refused before reading. */
export const MAX_PLAN_BYTES = 256 * 1024;
/** Lines plus commas, a cheap bound on the YAML nodes before parsing (see MAX_INVENTORY_ITEMS). */
export const MAX_PLAN_ITEMS = 20_000;
export const DEFAULT_NAMESPACE = "powerstack-experiment";
export const DEFAULT_BACKGROUND_NAME = "background";

export const WORKLOAD_KINDS = ["idle", "cpu", "memory", "disk", "network", "ramp", "command"] as const;
type Kind = (typeof WORKLOAD_KINDS)[number];
const DISK_RW = ["read", "write", "randread", "randwrite", "randrw"] as const;

// Experiment and phase names end up in object names and label values; the experiment's starts with a
// letter so that every name made from it is also a valid Service name (DNS-1035).
const experimentName = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;
const phaseName = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
const dnsLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const duration = /^(\d+(\.\d+)?(ms|s|m|h|d|w|y))+$/;
const cpuQuantity = /^(\d+(\.\d+)?|\d+m)$/;
const memoryQuantity = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?$/;
/** stress-ng's --vm-bytes: bytes with an optional b/k/m/g (powers of 1024), or a share of memory in %. */
const vmBytes = /^(\d+[bkmgBKMG]?|\d{1,3}%)$/;
/** fio's sizes (size=, bs=): a number with an optional k/m/g/t suffix (powers of 1024 by default). */
const fioSize = /^\d+[kmgtKMGT]?$/;
/** iperf3's -b: bits per second with an optional K/M/G suffix. */
const bandwidth = /^\d+(\.\d+)?[KMGkmg]?$/;

/** `repo[:tag]@sha256:<64 hex>`; `repo` as the OCI distribution spec names repositories. */
const PINNED_IMAGE =
  /^(?<repo>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::[\w][\w.-]{0,127})?@(?<digest>sha256:[0-9a-f]{64})$/;

const durationField = (def?: string): Field => ({
  kind: "string",
  ...(def !== undefined ? { default: def } : {}),
  pattern: duration,
  patternHint: "a duration such as `60s`, `5m` or `1h30m`",
});

const workers = (def: number): Field => ({ kind: "int", default: def, min: 0, max: 1024 });

/** Each workload kind's keys; `kind` is among them so that an unknown key gets a did-you-mean. */
const WORKLOAD_FIELDS: Record<Kind, Record<string, Field>> = {
  idle: {},
  // workers 0: stress-ng starts one worker per online CPU of the node.
  cpu: { load: { kind: "int", default: 100, min: 1, max: 100 }, workers: workers(0) },
  memory: {
    bytes: {
      kind: "string",
      required: true,
      pattern: vmBytes,
      patternHint: "stress-ng's --vm-bytes such as `1g`, `512m` or `80%`",
    },
    workers: { kind: "int", default: 1, min: 1, max: 1024 },
  },
  disk: {
    size: { kind: "string", required: true, pattern: fioSize, patternHint: "an fio size such as `1g`" },
    rw: { kind: "string", default: "randrw", oneOf: DISK_RW },
    block_size: {
      kind: "string",
      default: "4k",
      pattern: fioSize,
      patternHint: "an fio block size such as `4k`",
    },
  },
  network: {
    peer: { kind: "string", required: true },
    parallel: { kind: "int", default: 1, min: 1, max: 128 },
    bandwidth: {
      kind: "string",
      pattern: bandwidth,
      patternHint: "iperf3's bits per second such as `1G` or `500M`",
    },
  },
  ramp: {
    steps: {
      kind: "list",
      required: true,
      minItems: 1,
      of: { kind: "int", required: true, min: 1, max: 100 },
    },
    step_duration: { ...durationField(), required: true },
    workers: workers(0),
  },
  command: {
    image: { kind: "string", required: true },
    command: { kind: "strings" },
    args: { kind: "strings" },
  },
};

const workloadField = (kind: Kind): Field => ({
  kind: "object",
  fields: { kind: { kind: "string", required: true, oneOf: WORKLOAD_KINDS }, ...WORKLOAD_FIELDS[kind] },
});

const resourceList: Field = {
  kind: "object",
  optional: true,
  fields: {
    cpu: { kind: "string", pattern: cpuQuantity, patternHint: "a CPU quantity such as `2` or `500m`" },
    memory: {
      kind: "string",
      pattern: memoryQuantity,
      patternHint: "a memory quantity such as `512Mi` or `2Gi`",
    },
  },
};
const resourcesField: Field = {
  kind: "object",
  optional: true,
  fields: { requests: resourceList, limits: resourceList },
};

const imageField: Field = { kind: "string", required: true };

export const planSchema: Field = {
  kind: "object",
  fields: {
    name: {
      kind: "string",
      required: true,
      pattern: experimentName,
      patternHint:
        "a lowercase name of letters, digits and `-`, starting with a letter, at most 40 characters",
    },
    namespace: {
      kind: "string",
      default: DEFAULT_NAMESPACE,
      pattern: dnsLabel,
      patternHint: "a Kubernetes namespace name (lowercase letters, digits and `-`)",
    },
    images: {
      kind: "object",
      required: true,
      fields: { stress_ng: imageField, fio: imageField, iperf3: imageField },
    },
    repetitions: { kind: "int", default: 1, min: 1, max: 1000 },
    settle: durationField("30s"),
    background: {
      kind: "object",
      optional: true,
      fields: {
        name: {
          kind: "string",
          default: DEFAULT_BACKGROUND_NAME,
          pattern: phaseName,
          patternHint: "a lowercase name such as `background`",
        },
        workload: { kind: "mapping", required: true },
        nodes: { kind: "strings", required: true },
        resources: resourcesField,
      },
    },
    phases: {
      kind: "list",
      required: true,
      minItems: 1,
      of: {
        kind: "object",
        fields: {
          name: {
            kind: "string",
            required: true,
            pattern: phaseName,
            patternHint:
              "a lowercase name of letters, digits and `-`, at most 40 characters, such as `cpu-50`",
          },
          workload: { kind: "mapping", required: true },
          duration: durationField(),
          nodes: { kind: "strings" },
          resources: resourcesField,
        },
      },
    },
  },
};

/** Parsed YAML, before the walker checks it: `any`, because each value is checked before it is returned typed. */
type Raw = any;

export function loadPlan(path: string, inventory: Inventory): ExperimentPlan {
  const { file, text } = readInputFile(
    path,
    "experiment plan",
    "pass the plan file (see examples/experiment.yaml)",
    { maxBytes: MAX_PLAN_BYTES, text: true },
  );
  return parsePlan(text, file, inventory);
}

export function parsePlan(text: string, file: string, inventory: Inventory): ExperimentPlan {
  const size = Buffer.byteLength(text);
  if (size > MAX_PLAN_BYTES)
    throw new InputError(
      `experiment plan ${file} is ${formatBytes(size)} (${size} bytes), over the ${formatBytes(MAX_PLAN_BYTES)} limit`,
      "is this the right file? a plan is a few KiB",
    );
  let items = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) items++;
  for (let i = text.indexOf(","); i >= 0; i = text.indexOf(",", i + 1)) items++;
  if (items > MAX_PLAN_ITEMS)
    throw new InputError(
      `experiment plan ${file} has ${items} lines and commas, over the ${MAX_PLAN_ITEMS} limit: refused before parsing it`,
      "is this the right file? a plan is a few dozen lines",
    );
  const notText = notTextReason(text);
  if (notText)
    throw new InputError(
      `experiment plan ${file} is not a text/YAML file: ${notText}`,
      "is this the right file?",
    );

  const parsed = parseYaml(text, file);
  if (!parsed.ok) throw new InventoryError(parsed.problems, parsed.unlisted);
  const notPlan = notAPlan(parsed.data);
  if (notPlan) throw new InventoryError([{ file, line: 1, col: 1, key: "(top level)", ...notPlan }]);
  const src = new SourceMap(file, parsed.doc, parsed.lines);
  const raw = walk(planSchema, parsed.data, [], src) as Raw;
  // The workloads are checked by their kind's own keys (the walker has no tagged unions).
  if (raw?.phases)
    (raw.phases as Raw[]).forEach((p, i) => {
      if (p) p.workload = walkWorkload(p.workload, ["phases", i, "workload"], src);
    });
  if (raw?.background)
    raw.background.workload = walkWorkload(raw.background.workload, ["background", "workload"], src);
  if (src.count > 0) throw new InventoryError(src.problems, src.unlisted);

  const plan = toPlan(raw, file, text, inventory, src);
  if (src.count > 0) throw new InventoryError(src.problems, src.unlisted);
  return plan;
}

function notAPlan(data: unknown): { message: string; fix: string } | undefined {
  const fix = "pass an experiment plan (see examples/experiment.yaml)";
  if (data === null || data === undefined) return { message: "the file is empty", fix };
  if (typeof data !== "object" || Array.isArray(data)) {
    const what = Array.isArray(data) ? "a list" : "a single value";
    return {
      message: `not an experiment plan: the file is ${what}, not a mapping of keys (content not shown)`,
      fix,
    };
  }
  const known = Object.keys((planSchema as Extract<Field, { kind: "object" }>).fields);
  const keys = Object.keys(data);
  if (keys.length > 0 && !keys.some((k) => known.includes(k) || closest(k, known)))
    return {
      message: `not an experiment plan: none of its ${keys.length} top-level key(s) is one of ${known.join(", ")} (keys not shown)`,
      fix,
    };
  return undefined;
}

function walkWorkload(value: Raw, path: Path, src: SourceMap): Raw {
  if (value === undefined || value === null || typeof value !== "object" || Array.isArray(value))
    return value;
  const kind = value.kind;
  if (kind === undefined || kind === null) {
    src.report(
      [...path, "kind"],
      `required key \`kind\` is missing`,
      `add \`kind: <${WORKLOAD_KINDS.join("|")}>\``,
    );
    return undefined;
  }
  if (!(WORKLOAD_KINDS as readonly string[]).includes(String(kind))) {
    const near = closest(String(kind), WORKLOAD_KINDS);
    src.report(
      [...path, "kind"],
      `\`${excerpt(kind)}\` is not a workload kind (${WORKLOAD_KINDS.join(", ")})`,
      near ? `did you mean \`${near}\`?` : `use one of: ${WORKLOAD_KINDS.join(", ")}`,
    );
    return undefined;
  }
  return walk(workloadField(kind as Kind), value, path, src);
}

/** Seconds of a duration the walker let through; whole seconds, since the workloads' own timers count them. */
function seconds(text: string, path: Path, src: SourceMap, allowZero = false): number | undefined {
  let ms: number;
  try {
    ms = parseDuration(text, "");
  } catch {
    if (allowZero) return 0;
    src.report(path, `\`${excerpt(text)}\` is zero`, "give a positive duration, e.g. `60s`");
    return undefined;
  }
  if (ms % 1000 !== 0) {
    src.report(
      path,
      `\`${excerpt(text)}\` is not a whole number of seconds`,
      `write whole seconds, e.g. \`${Math.max(1, Math.round(ms / 1000))}s\``,
    );
    return undefined;
  }
  return ms / 1000;
}

/** The image if it is pinned by digest, else reported (with the fix) and undefined. */
function pinnedImage(image: string, path: Path, src: SourceMap): string | undefined {
  if (PINNED_IMAGE.test(image)) return image;
  const shown = excerpt(image);
  if (image.includes("@"))
    src.report(
      path,
      `\`${shown}\` is not \`<repository>@sha256:<64 lowercase hex digits>\``,
      "copy the whole digest: `docker buildx imagetools inspect <image>` or `crane digest <image>` prints it",
    );
  else
    src.report(
      path,
      `\`${shown}\` is not pinned by digest: a tag can move, and two runs of the plan would run different code`,
      `write \`${shown.replace(/:[\w][\w.-]*$/, "")}@sha256:<digest>\`; \`docker buildx imagetools inspect ${shown}\` or \`crane digest ${shown}\` prints the digest`,
    );
  return undefined;
}

/**
 * `image` as pulled from `mirror`: `<mirror>/<repository path>@<digest>` (the tag dropped: the digest
 * names the content). A Docker Hub short name gets its `library/` path, as registries store it.
 */
export function mirroredImage(image: string, mirror: string): string {
  const m = PINNED_IMAGE.exec(image);
  if (!m) throw new Error(`not a pinned image: ${image}`);
  const repo = m.groups!.repo!;
  const first = repo.split("/")[0]!;
  const hasRegistry =
    repo.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  let path = hasRegistry ? repo.slice(first.length + 1) : repo;
  if (!hasRegistry && !path.includes("/")) path = `library/${path}`;
  return `${mirror.replace(/\/+$/, "")}/${path}@${m.groups!.digest!}`;
}

function checkNodes(names: string[], path: Path, inventory: Inventory, src: SourceMap): void {
  const known = inventory.nodes.map((n) => n.name);
  const seen = new Set<string>();
  names.forEach((name, j) => {
    if (!known.includes(name)) {
      const near = closest(name, known);
      src.report(
        [...path, j],
        `\`${excerpt(name)}\` is not a node of the inventory ${inventory.file}`,
        `${near ? `did you mean \`${near}\`? ` : ""}known nodes: ${known.join(", ")}`,
      );
    } else if (seen.has(name))
      src.report([...path, j], `node \`${name}\` is listed twice`, "list each node once: each gets one Job");
    seen.add(name);
  });
}

const millicores = (q: string) => (q.endsWith("m") ? Number(q.slice(0, -1)) : Number(q) * 1000);

function checkResources(r: Raw, path: Path, src: SourceMap): Resources | undefined {
  if (!r) return undefined;
  const out: Resources = {};
  if (r.requests && (r.requests.cpu !== undefined || r.requests.memory !== undefined))
    out.requests = strip({ cpu: r.requests.cpu, memory: r.requests.memory });
  if (r.limits && (r.limits.cpu !== undefined || r.limits.memory !== undefined))
    out.limits = strip({ cpu: r.limits.cpu, memory: r.limits.memory });
  const req = out.requests ?? {};
  const lim = out.limits ?? {};
  if (req.cpu && lim.cpu && millicores(req.cpu) > millicores(lim.cpu))
    src.report(
      [...path, "requests", "cpu"],
      `request ${req.cpu} is above the limit ${lim.cpu}: the API server refuses such a pod`,
      `request at most ${lim.cpu}, or raise the limit`,
    );
  if (req.memory && lim.memory && quantityToBytes(req.memory) > quantityToBytes(lim.memory))
    src.report(
      [...path, "requests", "memory"],
      `request ${req.memory} is above the limit ${lim.memory}: the API server refuses such a pod`,
      `request at most ${lim.memory}, or raise the limit`,
    );
  return out.requests || out.limits ? out : undefined;
}

function strip<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** stress-ng's --vm-bytes in bytes (its suffixes are powers of 1024), undefined for a share (`80%`). */
function vmBytesValue(text: string): number | undefined {
  const m = /^(\d+)([bkmg]?)$/i.exec(text);
  if (!m) return undefined;
  const pow = { "": 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[m[2]!.toLowerCase()]!;
  return Number(m[1]) * pow;
}

/** The checked workload of one phase (ramp kept as a ramp; `expandRamps` turns it into steps). */
function toWorkload(
  w: Raw,
  path: Path,
  targets: string[],
  inventory: Inventory,
  src: SourceMap,
): Workload | undefined {
  switch (w.kind as Kind) {
    case "idle":
      return { kind: "idle" };
    case "cpu":
      return { kind: "cpu", load: w.load, workers: w.workers };
    case "memory":
      return { kind: "memory", bytes: w.bytes, workers: w.workers };
    case "disk":
      return { kind: "disk", size: w.size, rw: w.rw, blockSize: w.block_size };
    case "network": {
      const known = inventory.nodes.map((n) => n.name);
      if (!known.includes(w.peer)) {
        const near = closest(w.peer, known);
        src.report(
          [...path, "peer"],
          `\`${excerpt(w.peer)}\` is not a node of the inventory ${inventory.file}`,
          `${near ? `did you mean \`${near}\`? ` : ""}known nodes: ${known.join(", ")}`,
        );
      } else if (targets.includes(w.peer))
        src.report(
          [...path, "peer"],
          `the peer \`${w.peer}\` is also a target node: iperf3 would measure the node talking to itself`,
          `pick a peer that is not in \`nodes\` (${known.filter((n) => !targets.includes(n)).join(", ") || "add another node"})`,
        );
      return {
        kind: "network",
        peer: w.peer,
        parallel: w.parallel,
        ...(w.bandwidth ? { bandwidth: w.bandwidth } : {}),
      };
    }
    case "ramp": {
      const stepSeconds = seconds(w.step_duration, [...path, "step_duration"], src);
      return stepSeconds === undefined
        ? undefined
        : { kind: "ramp", steps: w.steps, stepSeconds, workers: w.workers };
    }
    case "command": {
      const image = pinnedImage(w.image, [...path, "image"], src);
      return image === undefined
        ? undefined
        : {
            kind: "command",
            image,
            ...(w.command ? { command: w.command } : {}),
            ...(w.args ? { args: w.args } : {}),
          };
    }
  }
}

function toPlan(raw: Raw, file: string, text: string, inventory: Inventory, src: SourceMap): ExperimentPlan {
  const images: Partial<Images> = {};
  for (const [key, prop] of [
    ["stress_ng", "stressNg"],
    ["fio", "fio"],
    ["iperf3", "iperf3"],
  ] as const) {
    const image = pinnedImage(raw.images[key], ["images", key], src);
    if (image) images[prop] = image;
  }
  const settleSec = seconds(raw.settle, ["settle"], src, true) ?? 0;
  const allNodes = inventory.nodes.map((n) => n.name);
  const at = (path: Path) => {
    const p = src.locate(path, "", "");
    return `${p.file}:${p.line}:${p.col}`;
  };

  const phases: Phase[] = [];
  const names = new Map<string, number>();
  const backgroundName: string | undefined = raw.background?.name;
  (raw.phases as Raw[]).forEach((p, i) => {
    const path: Path = ["phases", i];
    const first = names.get(p.name);
    if (first !== undefined)
      src.report(
        [...path, "name"],
        `duplicate phase name \`${p.name}\` (also phases[${first}])`,
        "give every phase its own name",
      );
    else if (p.name === backgroundName)
      src.report(
        [...path, "name"],
        `phase name \`${p.name}\` is the background's name`,
        "rename the phase, or give `background` another `name`",
      );
    if (first === undefined) names.set(p.name, i);

    const kind = p.workload.kind as Kind;
    let nodes: string[] = p.nodes ?? [];
    if (nodes.length === 0) {
      if (kind === "idle") nodes = allNodes;
      else
        src.report(
          [...path, "nodes"],
          `a \`${kind}\` phase needs the node(s) to run on`,
          `add \`nodes: [${allNodes[allNodes.length - 1]}]\` (known nodes: ${allNodes.join(", ")})`,
          "key",
        );
    }
    checkNodes(nodes, [...path, "nodes"], inventory, src);
    const workload = toWorkload(p.workload, [...path, "workload"], nodes, inventory, src);
    if (kind === "memory" && p.workload.workers > 0) checkMemoryFits(p, path, src);

    let durationSec: number | undefined;
    if (kind === "ramp") {
      if (p.duration !== undefined)
        src.report(
          [...path, "duration"],
          "a ramp lasts its steps times `step_duration`: it takes no `duration`",
          "remove `duration`, or change `step_duration`",
          "key",
        );
    } else if (p.duration === undefined)
      src.report(
        [...path, "duration"],
        `required key \`phases[${i}].duration\` is missing`,
        "add `duration: <e.g. 60s>`",
        "key",
      );
    else durationSec = seconds(p.duration, [...path, "duration"], src);

    const resources = checkResources(p.resources, [...path, "resources"], src);
    if (!workload) return;
    const base = { name: p.name, nodes, at: at(path), ...(resources ? { resources } : {}) };
    if (workload.kind === "ramp") phases.push(...rampSteps(base, workload));
    else if (durationSec !== undefined) phases.push({ ...base, workload, durationSec });
  });

  // A ramp's steps are phases of their own: their names must not meet another phase's.
  const taken = new Map<string, Phase>();
  for (const p of phases) {
    const other = taken.get(p.name);
    const ramp = p.step ?? other?.step;
    if (other && ramp)
      src.report(
        ["phases", names.get(ramp.ramp)!, "name"],
        `the ramp \`${ramp.ramp}\` names its steps \`${ramp.ramp}-step<n>\`, and \`${p.name}\` is also the name of another phase`,
        "rename the ramp or that phase",
      );
    else taken.set(p.name, p);
  }

  let background: ExperimentPlan["background"];
  if (raw.background) {
    const b = raw.background;
    const path: Path = ["background"];
    const kind = b.workload.kind as Kind;
    if (kind === "idle" || kind === "ramp")
      src.report(
        [...path, "workload", "kind"],
        `a background load cannot be \`${kind}\`: it runs one steady load for the whole experiment`,
        kind === "idle"
          ? "remove `background`: without it nothing runs beside the phases"
          : "use `cpu` with a fixed `load`",
      );
    checkNodes(b.nodes, [...path, "nodes"], inventory, src);
    if (b.nodes.length === 0)
      src.report(
        [...path, "nodes"],
        "the background load needs the node(s) to run on",
        `add \`nodes: [${allNodes[0]}]\``,
      );
    if (kind === "memory") checkMemoryFits(b, path, src);
    const workload =
      kind === "idle" || kind === "ramp"
        ? undefined
        : toWorkload(b.workload, [...path, "workload"], b.nodes, inventory, src);
    const resources = checkResources(b.resources, [...path, "resources"], src);
    if (workload)
      background = {
        name: b.name,
        workload,
        nodes: b.nodes,
        at: at(path),
        ...(resources ? { resources } : {}),
      };
  }

  const mirror = inventory.cluster.registryMirror;
  const viaMirror = (image: string) => (mirror ? mirroredImage(image, mirror) : image);
  const mirrorWorkload = (p: Phase | NonNullable<ExperimentPlan["background"]>) =>
    p.workload.kind === "command"
      ? { ...p, workload: { ...p.workload, image: viaMirror(p.workload.image) } }
      : p;
  const plan: ExperimentPlan = {
    name: raw.name,
    file,
    text,
    namespace: raw.namespace,
    images: {
      stressNg: viaMirror(images.stressNg ?? ""),
      fio: viaMirror(images.fio ?? ""),
      iperf3: viaMirror(images.iperf3 ?? ""),
    } as Images,
    phases: phases.map((p) => mirrorWorkload(p) as Phase),
    repetitions: raw.repetitions,
    settleSec,
    ...(background
      ? { background: mirrorWorkload(background) as NonNullable<ExperimentPlan["background"]> }
      : {}),
    ...(mirror ? { registryMirror: mirror } : {}),
  };
  if (src.count === 0) checkObjectNames(plan, names, src);
  return plan;
}

/**
 * Object names join experiment, phase, repetition and node with `-`, so two phases can meet (`a` on node
 * `r1-b` and `a-r1` on node `b` both make `exp-a-r1-r1-b`): the objects of one repetition (phases run
 * one after another, but a name must also differ from the background's) are made here and compared.
 */
function checkObjectNames(plan: ExperimentPlan, index: Map<string, number>, src: SourceMap): void {
  const owners = new Map<string, string>();
  const check = (objects: KubeObject[], owner: string, path: Path) => {
    for (const o of objects) {
      const key = `${o.kind} ${o.metadata.name}`;
      const first = owners.get(key);
      if (first === undefined) owners.set(key, owner);
      else
        src.report(
          path,
          `its ${o.kind} would be named \`${o.metadata.name}\`, as one of ${first === owner ? "its own" : `\`${first}\`'s`}`,
          "rename the phase (object names join experiment, phase, `r<repetition>` and node with `-`)",
        );
    }
  };
  if (plan.background) check(backgroundJobs(plan), plan.background.name, ["background", "name"]);
  for (const p of plan.phases) {
    const name = p.step?.ramp ?? p.name;
    if (p.workload.kind !== "ramp")
      check(jobsForPhase(plan, p, 1), name, ["phases", index.get(name)!, "name"]);
  }
}

/** A ramp as one `cpu` phase per step, each as long as `step_duration`. */
function rampSteps(
  base: Pick<Phase, "name" | "nodes" | "at" | "resources">,
  ramp: Extract<Workload, { kind: "ramp" }>,
): Phase[] {
  return ramp.steps.map((load, i) => ({
    ...base,
    name: `${base.name}-step${i + 1}`,
    workload: { kind: "cpu", load, workers: ramp.workers },
    durationSec: ramp.stepSeconds,
    step: { ramp: base.name, index: i + 1, count: ramp.steps.length },
  }));
}

/** stress-ng's workers times --vm-bytes against the memory limit: over it, the pod is OOM-killed mid-phase. */
function checkMemoryFits(p: Raw, path: Path, src: SourceMap): void {
  const limit = p.resources?.limits?.memory as string | undefined;
  const each = vmBytesValue(p.workload.bytes);
  if (!limit || each === undefined) return;
  const total = each * p.workload.workers;
  if (total > quantityToBytes(limit))
    src.report(
      [...path, "workload", "bytes"],
      `${p.workload.workers} worker(s) × ${p.workload.bytes} is more than the memory limit ${limit}: the pod would be OOM-killed`,
      `lower \`bytes\` or \`workers\`, or raise \`resources.limits.memory\` (stress-ng itself needs some MiB more)`,
    );
}
