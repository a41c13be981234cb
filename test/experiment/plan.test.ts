/**
 * The experiment plan file (src/experiment/plan.ts): a good plan with its defaults, every kind of mistake
 * reported at its file:line:col with the key and a fix, and the registry mirror rewrite.
 */
import { describe, expect, test } from "vitest";
import { InputError } from "../../src/errors.js";
import { InventoryError, loadInventory, parseInventory } from "../../src/inventory/load.js";
import { loadPlan, mirroredImage, parsePlan } from "../../src/experiment/plan.js";
import { INVENTORY_FILE, MINIMAL_INVENTORY } from "../support/minimal-inventory.js";

const FILE = "/srv/plan.yaml";
const inventory = parseInventory(MINIMAL_INVENTORY, INVENTORY_FILE); // nodes ctl (control) and w1

const D = (c: string) => `sha256:${c.repeat(64)}`;
const STRESS = `ghcr.io/colinianking/stress-ng@${D("a")}`;
const FIO = `ljishen/fio@${D("b")}`;
const IPERF = `networkstatic/iperf3@${D("c")}`;

/** The plan each error test breaks one thing in. */
const base = `name: exp
images:
  stress_ng: ${STRESS}
  fio: ${FIO}
  iperf3: ${IPERF}
phases:
  - name: idle
    workload: { kind: idle }
    duration: 30s
  - name: cpu
    workload: { kind: cpu, load: 50, workers: 2 }
    duration: 1m
    nodes: [w1]
`;

/** Line and column (1-based) of the first `needle` in `text`, as the errors must name them. */
function at(text: string, needle: string): { line: number; col: number } {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`${needle} not in the plan`);
  const before = text.slice(0, i);
  return { line: before.split("\n").length, col: i - before.lastIndexOf("\n") };
}

function rejection(text: string, inv = inventory): InventoryError {
  try {
    parsePlan(text, FILE, inv);
  } catch (err) {
    expect(err).toBeInstanceOf(InventoryError);
    return err as InventoryError;
  }
  throw new Error("expected the plan to be rejected");
}

/** Exactly one problem, at the position of `needle`, naming `key`, with its message and fix. */
function expectOne(text: string, needle: string, want: { key: string; message: RegExp; fix: RegExp }) {
  const found = rejection(text).problems;
  expect(found.map((p) => `${p.key}: ${p.message}`)).toHaveLength(1);
  const p = found[0]!;
  expect({ file: p.file, line: p.line, col: p.col, key: p.key }).toEqual({
    file: FILE,
    ...at(text, needle),
    key: want.key,
  });
  expect(p.message).toMatch(want.message);
  expect(p.fix).toMatch(want.fix);
}

/** `base` with one more phase appended (YAML text, indented as a list item). */
const withPhase = (phase: string) => `${base}${phase}`;

describe("a valid plan", () => {
  test("defaults: namespace, repetitions, settle; idle runs on every node; file and text kept", () => {
    const plan = parsePlan(base, FILE, inventory);
    expect(plan).toMatchObject({
      name: "exp",
      file: FILE,
      text: base,
      namespace: "powerstack-experiment",
      repetitions: 1,
      settleSec: 30,
      images: { stressNg: STRESS, fio: FIO, iperf3: IPERF },
    });
    expect(plan.background).toBeUndefined();
    expect(plan.registryMirror).toBeUndefined();
    expect(plan.phases).toEqual([
      { name: "idle", workload: { kind: "idle" }, durationSec: 30, nodes: ["ctl", "w1"], at: `${FILE}:7:5` },
      {
        name: "cpu",
        workload: { kind: "cpu", load: 50, workers: 2 },
        durationSec: 60,
        nodes: ["w1"],
        at: `${FILE}:10:5`,
      },
    ]);
  });

  test("every workload kind, with its defaults; a ramp becomes one cpu phase per step", () => {
    const text = `${base.replace("name: exp\n", "name: exp\nnamespace: energy-runs\nrepetitions: 3\nsettle: 0s\n")}  - name: mem
    workload: { kind: memory, bytes: 512m }
    duration: 10s
    nodes: [w1]
    resources: { requests: { cpu: 500m, memory: 600Mi }, limits: { cpu: "1", memory: 1Gi } }
  - name: disk
    workload: { kind: disk, size: 1g }
    duration: 10s
    nodes: [w1]
  - name: net
    workload: { kind: network, peer: ctl, bandwidth: 1G }
    duration: 10s
    nodes: [w1]
  - name: up
    workload: { kind: ramp, steps: [20, 60], step_duration: 15s }
    nodes: [w1]
  - name: own
    workload: { kind: command, image: ${IPERF}, command: [iperf3], args: [--version] }
    duration: 5s
    nodes: [ctl, w1]
background:
  workload: { kind: cpu, load: 10, workers: 1 }
  nodes: [ctl]
`;
    const plan = parsePlan(text, FILE, inventory);
    expect({ ns: plan.namespace, reps: plan.repetitions, settle: plan.settleSec }).toEqual({
      ns: "energy-runs",
      reps: 3,
      settle: 0,
    });
    const byName = Object.fromEntries(plan.phases.map((p) => [p.name, p]));
    expect(Object.keys(byName)).toEqual(["idle", "cpu", "mem", "disk", "net", "up-step1", "up-step2", "own"]);
    expect(byName.mem).toMatchObject({
      workload: { kind: "memory", bytes: "512m", workers: 1 },
      resources: { requests: { cpu: "500m", memory: "600Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    });
    expect(byName.disk!.workload).toEqual({ kind: "disk", size: "1g", rw: "randrw", blockSize: "4k" });
    expect(byName.net!.workload).toEqual({ kind: "network", peer: "ctl", parallel: 1, bandwidth: "1G" });
    expect(byName["up-step2"]).toMatchObject({
      workload: { kind: "cpu", load: 60, workers: 0 },
      durationSec: 15,
      step: { ramp: "up", index: 2, count: 2 },
      at: `${FILE}:${at(text, "- name: up").line}:5`,
    });
    expect(plan.phases.some((p) => p.workload.kind === "ramp")).toBe(false);
    expect(byName.own!.workload).toEqual({
      kind: "command",
      image: IPERF,
      command: ["iperf3"],
      args: ["--version"],
    });
    expect(plan.background).toMatchObject({
      name: "background",
      workload: { kind: "cpu", load: 10, workers: 1 },
      nodes: ["ctl"],
    });
  });

  test("the shipped examples/experiment.yaml parses against inventory/example.yaml", () => {
    const plan = loadPlan("examples/experiment.yaml", loadInventory("inventory/example.yaml"));
    expect(plan.name).toBe("stress-baseline");
    expect(new Set(plan.phases.map((p) => p.workload.kind))).toEqual(
      new Set(["idle", "cpu", "memory", "disk", "network", "command"]),
    );
    expect(plan.phases.filter((p) => p.step).map((p) => p.name)).toEqual([
      "ramp-step1",
      "ramp-step2",
      "ramp-step3",
      "ramp-step4",
    ]);
    expect(plan.background?.nodes).toEqual(["node3"]);
  });
});

describe("plan errors name file, line, column, key and fix", () => {
  test("an unknown top-level key, with a did-you-mean", () => {
    expectOne(base.replace("name: exp\n", "name: exp\nrepetitons: 2\n"), "repetitons", {
      key: "repetitons",
      message: /unknown key `repetitons`/,
      fix: /did you mean `repetitions`\?/,
    });
  });

  test("an unknown key of a workload kind, with a did-you-mean among that kind's keys", () => {
    expectOne(base.replace("load: 50", "laod: 50"), "laod", {
      key: "phases[1].workload.laod",
      message: /unknown key `laod`/,
      fix: /did you mean `load`\?/,
    });
  });

  test("an unknown workload kind, and a missing one", () => {
    expectOne(base.replace("kind: cpu", "kind: cpuu"), "cpuu", {
      key: "phases[1].workload.kind",
      message: /`cpuu` is not a workload kind/,
      fix: /did you mean `cpu`\?/,
    });
    expectOne(base.replace("{ kind: cpu, load: 50, workers: 2 }", "{ load: 50 }"), "{ load: 50 }", {
      key: "phases[1].workload.kind",
      message: /required key `kind` is missing/,
      fix: /kind: <idle\|cpu\|memory\|disk\|network\|ramp\|command>/,
    });
  });

  test("a value out of range: load above 100", () => {
    expectOne(base.replace("load: 50", "load: 150"), "150", {
      key: "phases[1].workload.load",
      message: /150 is outside the allowed range 1-100/,
      fix: /between 1 and 100/,
    });
  });

  test("an image pinned by tag only is refused, with how to find its digest", () => {
    expectOne(base.replace(IPERF, "networkstatic/iperf3:3.16"), "networkstatic/iperf3:3.16", {
      key: "images.iperf3",
      message: /`networkstatic\/iperf3:3.16` is not pinned by digest: a tag can move/,
      fix: /write `networkstatic\/iperf3@sha256:<digest>`; .*crane digest networkstatic\/iperf3:3.16/,
    });
  });

  test("a digest that is not 64 lowercase hex digits", () => {
    expectOne(base.replace(FIO, "ljishen/fio@sha256:abc123"), "ljishen/fio@sha256:abc123", {
      key: "images.fio",
      message: /is not `<repository>@sha256:<64 lowercase hex digits>`/,
      fix: /copy the whole digest/,
    });
  });

  test("a missing image", () => {
    expectOne(base.replace(`  fio: ${FIO}\n`, ""), "stress_ng:", {
      key: "images.fio",
      message: /required key `images.fio` is missing/,
      fix: /add `fio: <value>`/,
    });
  });

  test("a command workload's image must be pinned by digest too", () => {
    const text = withPhase(`  - name: own
    workload: { kind: command, image: "alpine:3.20", args: [sh] }
    duration: 5s
    nodes: [w1]
`);
    expectOne(text, '"alpine:3.20"', {
      key: "phases[2].workload.image",
      message: /`alpine:3.20` is not pinned by digest/,
      fix: /alpine@sha256:<digest>/,
    });
  });

  test("a node the inventory does not have: named, with a did-you-mean and the known nodes", () => {
    expectOne(base.replace("nodes: [w1]", "nodes: [w2]"), "w2", {
      key: "phases[1].nodes[0]",
      message: new RegExp(`\`w2\` is not a node of the inventory ${INVENTORY_FILE}`),
      fix: /did you mean `w1`\? known nodes: ctl, w1/,
    });
  });

  test("a node listed twice", () => {
    expectOne(base.replace("nodes: [w1]", "nodes: [w1, w1]"), "w1]", {
      key: "phases[1].nodes[1]",
      message: /node `w1` is listed twice/,
      fix: /list each node once/,
    });
  });

  test("a workload without nodes", () => {
    expectOne(base.replace("    nodes: [w1]\n", ""), "name: cpu", {
      key: "phases[1].nodes",
      message: /a `cpu` phase needs the node\(s\) to run on/,
      fix: /add `nodes: \[w1\]` \(known nodes: ctl, w1\)/,
    });
  });

  test("network: the peer must be another node of the inventory", () => {
    const phase = (peer: string) =>
      withPhase(`  - name: net
    workload: { kind: network, peer: ${peer} }
    duration: 10s
    nodes: [w1]
`);
    expectOne(phase("w1"), "w1 }", {
      key: "phases[2].workload.peer",
      message: /the peer `w1` is also a target node/,
      fix: /pick a peer that is not in `nodes` \(ctl\)/,
    });
    const t = phase("ctrl");
    expectOne(t, "ctrl", {
      key: "phases[2].workload.peer",
      message: /`ctrl` is not a node of the inventory/,
      fix: /did you mean `ctl`\?/,
    });
  });

  test("duplicate phase names", () => {
    const text = withPhase(`  - name: cpu
    workload: { kind: idle }
    duration: 5s
`);
    const found = rejection(text).problems;
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      key: "phases[2].name",
      ...at(text, "cpu\n    workload: { kind: idle }"),
      message: "duplicate phase name `cpu` (also phases[1])",
      fix: "give every phase its own name",
    });
  });

  test("durations: missing, without a unit, zero, fractional; a ramp takes none", () => {
    expectOne(base.replace("    duration: 1m\n", ""), "name: cpu", {
      key: "phases[1].duration",
      message: /required key `phases\[1\].duration` is missing/,
      fix: /add `duration: <e.g. 60s>`/,
    });
    expectOne(base.replace("duration: 1m", "duration: 60"), "60", {
      key: "phases[1].duration",
      message: /`60` is not a duration such as `60s`/,
      fix: /a duration such as `60s`/,
    });
    expectOne(base.replace("duration: 1m", "duration: 0s"), "0s\n    nodes", {
      key: "phases[1].duration",
      message: /`0s` is zero/,
      fix: /positive duration/,
    });
    expectOne(base.replace("duration: 1m", "duration: 1500ms"), "1500ms", {
      key: "phases[1].duration",
      message: /not a whole number of seconds/,
      fix: /`2s`/,
    });
    const ramp = withPhase(`  - name: up
    workload: { kind: ramp, steps: [50], step_duration: 10s }
    duration: 10s
    nodes: [w1]
`);
    expectOne(ramp, "duration: 10s\n    nodes", {
      key: "phases[2].duration",
      message: /a ramp lasts its steps times `step_duration`/,
      fix: /remove `duration`/,
    });
  });

  test("a ramp's step names must not meet another phase's name", () => {
    const text = withPhase(`  - name: up
    workload: { kind: ramp, steps: [50, 100], step_duration: 10s }
    nodes: [w1]
  - name: up-step2
    workload: { kind: idle }
    duration: 5s
`);
    expectOne(text, "up\n", {
      key: "phases[2].name",
      message: /the ramp `up` names its steps `up-step<n>`, and `up-step2` is also the name of another phase/,
      fix: /rename the ramp or that phase/,
    });
  });

  test("two phases whose object names would meet", () => {
    const inv = parseInventory(
      `${MINIMAL_INVENTORY}  - name: r1-w1\n    role: worker\n    internal_ip: 198.51.100.12\n`,
      INVENTORY_FILE,
    );
    // `cpu` on node r1-w1 and `cpu-r1` on node w1 both make the Job exp-cpu-r1-r1-w1.
    const text = `${base.replace("nodes: [w1]", "nodes: [r1-w1]")}  - name: cpu-r1
    workload: { kind: cpu }
    duration: 5s
    nodes: [w1]
`;
    const found = rejection(text, inv).problems;
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      ...at(text, "cpu-r1"),
      key: "phases[2].name",
      message: "its Job would be named `exp-cpu-r1-r1-w1`, as one of `cpu`'s",
      fix: expect.stringMatching(/rename the phase/),
    });
  });

  test("a namespace that is not a DNS label", () => {
    expectOne(base.replace("name: exp\n", "name: exp\nnamespace: Energy_Runs\n"), "Energy_Runs", {
      key: "namespace",
      message: /`Energy_Runs` is not a Kubernetes namespace name/,
      fix: /write a Kubernetes namespace name/,
    });
  });

  test("an experiment name that starts with a digit", () => {
    expectOne(base.replace("name: exp", "name: 1exp"), "1exp", {
      key: "name",
      message: /`1exp` is not a lowercase name .* starting with a letter/,
      fix: /starting with a letter/,
    });
  });

  test("resources: a request above its limit; a malformed quantity", () => {
    const text = base.replace(
      "    nodes: [w1]\n",
      '    nodes: [w1]\n    resources: { requests: { cpu: 1500m }, limits: { cpu: "1" } }\n',
    );
    expectOne(text, "1500m", {
      key: "phases[1].resources.requests.cpu",
      message: /request 1500m is above the limit 1: the API server refuses such a pod/,
      fix: /request at most 1, or raise the limit/,
    });
    expectOne(
      base.replace("    nodes: [w1]\n", "    nodes: [w1]\n    resources: { limits: { memory: 1GB } }\n"),
      "1GB",
      {
        key: "phases[1].resources.limits.memory",
        message: /`1GB` is not a memory quantity/,
        fix: /`512Mi`/,
      },
    );
  });

  test("memory: workers × bytes over the memory limit would be OOM-killed", () => {
    const text = withPhase(`  - name: mem
    workload: { kind: memory, bytes: 1g, workers: 2 }
    duration: 10s
    nodes: [w1]
    resources: { limits: { memory: 1536Mi } }
`);
    expectOne(text, "1g,", {
      key: "phases[2].workload.bytes",
      message: /2 worker\(s\) × 1g is more than the memory limit 1536Mi: the pod would be OOM-killed/,
      fix: /raise `resources.limits.memory`/,
    });
  });

  test("a background load cannot be idle, nor have a duration", () => {
    const idle = `${base}background:\n  workload: { kind: idle }\n  nodes: [w1]\n`;
    expectOne(idle, "idle }\n  nodes", {
      key: "background.workload.kind",
      message: /a background load cannot be `idle`/,
      fix: /remove `background`/,
    });
    const timed = `${base}background:\n  workload: { kind: cpu }\n  duration: 5m\n  nodes: [w1]\n`;
    expectOne(timed, "duration: 5m", {
      key: "background.duration",
      message: /unknown key `duration`/,
      fix: /allowed keys here: name, workload, nodes, resources/,
    });
  });

  test("every problem at once, in file order", () => {
    const text = base
      .replace("kind: cpu,", "kind: cpu, laod: 1,")
      .replace(IPERF, "iperf3:latest")
      .replace("nodes: [w1]", "nodes: [x]");
    // The schema problems come first; the checks against the inventory run once the types are right.
    expect(rejection(text).problems.map((p) => p.key)).toEqual(["phases[1].workload.laod"]);
    const semantic = base.replace(IPERF, "iperf3:latest").replace("nodes: [w1]", "nodes: [x]");
    expect(rejection(semantic).problems.map((p) => p.key)).toEqual(["images.iperf3", "phases[1].nodes[0]"]);
  });

  test("not a plan: empty, a list, a YAML syntax error (at its line), a missing file", () => {
    expect(rejection("").problems[0]).toMatchObject({ line: 1, col: 1, message: "the file is empty" });
    expect(rejection("- a\n- b\n").problems[0]!.message).toMatch(
      /not an experiment plan: the file is a list/,
    );
    expect(rejection("hunter2: x\n").problems[0]!.message).toMatch(/none of its 1 top-level key\(s\)/);
    const syntax = rejection(`${base}  - name: [oops\n`).problems;
    expect(syntax[0]).toMatchObject({ file: FILE, key: "(yaml)" });
    expect(syntax[0]!.line).toBeGreaterThanOrEqual(14);
    expect(() => loadPlan("/nonexistent/plan.yaml", inventory)).toThrow(InputError);
    expect(() => loadPlan("/nonexistent/plan.yaml", inventory)).toThrow(/no such file/);
  });
});

describe("air-gapped clusters: cluster.registry_mirror", () => {
  const mirrored = parseInventory(
    MINIMAL_INVENTORY.replace("cluster:\n", "cluster:\n  registry_mirror: registry.lab:5000\n"),
    INVENTORY_FILE,
  );

  test("every image, a command's too, is pulled from the mirror by the same digest", () => {
    expect(mirrored.cluster.registryMirror).toBe("registry.lab:5000");
    const plan = parsePlan(
      withPhase(`  - name: own
    workload: { kind: command, image: "alpine:3.20@${D("d")}" }
    duration: 5s
    nodes: [w1]
`),
      FILE,
      mirrored,
    );
    expect(plan.registryMirror).toBe("registry.lab:5000");
    expect(plan.images).toEqual({
      stressNg: `registry.lab:5000/colinianking/stress-ng@${D("a")}`,
      fio: `registry.lab:5000/ljishen/fio@${D("b")}`,
      iperf3: `registry.lab:5000/networkstatic/iperf3@${D("c")}`,
    });
    expect(plan.phases[2]!.workload).toEqual({
      kind: "command",
      image: `registry.lab:5000/library/alpine@${D("d")}`,
    });
  });

  test("the repository path: a registry host is dropped, a Docker Hub short name gets library/, the tag goes", () => {
    const d = D("e");
    expect(mirroredImage(`quay.io/org/team/tool:v1@${d}`, "m.lab")).toBe(`m.lab/org/team/tool@${d}`);
    expect(mirroredImage(`localhost:5000/tool@${d}`, "m.lab:443/")).toBe(`m.lab:443/tool@${d}`);
    expect(mirroredImage(`busybox@${d}`, "harbor.lab/proxy")).toBe(`harbor.lab/proxy/library/busybox@${d}`);
    expect(mirroredImage(`user/tool@${d}`, "m.lab")).toBe(`m.lab/user/tool@${d}`);
  });
});
