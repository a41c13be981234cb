/**
 * OpenMetrics text (https://prometheus.io/docs/specs/om/open_metrics_spec/) for CI systems that show
 * metrics: GitLab's `artifacts:reports:metrics` shows each series on the merge request, beside the target
 * branch's value. One gauge family per figure, labelled by step; a step too short to measure exports
 * only its duration, exit code and `powerstack_step_too_short 1` (no joules: none were measured).
 */
import type { StepRecord } from "../step-record.js";
import type { ReportView } from "./text.js";
import { totalRow } from "./rows.js";

interface Family {
  name: string;
  unit?: string;
  help: string;
  samples: Array<{ labels: Record<string, string>; value: number | undefined }>;
}

export function reportOpenMetrics(v: ReportView): string {
  const measured = v.steps.filter((s) => !s.tooShort);
  const step = (s: StepRecord) => ({ step: s.step });
  const families: Family[] = [
    {
      name: "powerstack_step_energy_joules",
      unit: "joules",
      help: "Energy of the step above the idle baseline (Kepler, CPU package, all nodes).",
      samples: measured.map((s) => ({ labels: step(s), value: s.total.costJ })),
    },
    {
      name: "powerstack_step_power_watts",
      unit: "watts",
      help: "Average power of the step above the idle baseline.",
      samples: measured.map((s) => ({ labels: step(s), value: s.total.costW })),
    },
    {
      name: "powerstack_step_platform_energy_joules",
      unit: "joules",
      help: "Whole-server (BMC) energy of the step above the idle baseline, where nodes export it.",
      samples: measured.map((s) => ({ labels: step(s), value: s.total.platform?.costJ })),
    },
    {
      name: "powerstack_step_co2e_grams",
      unit: "grams",
      help: "CO2 equivalent of the step's energy above idle at the configured grid intensity.",
      samples: measured.map((s) => ({ labels: step(s), value: s.total.co2G })),
    },
    {
      name: "powerstack_step_co2_by_source_grams",
      unit: "grams",
      help: "CO2 the step's energy above idle would emit if generated from each fuel (EIA factors).",
      samples: measured.flatMap((s) =>
        Object.entries(s.total.co2BySourceG ?? {}).map(([source, g]) => ({
          labels: { ...step(s), source },
          value: g,
        })),
      ),
    },
    {
      name: "powerstack_step_idle_noise_joules",
      unit: "joules",
      help: "Spread of the idle baseline over the step's length: differences below it may be chance.",
      samples: measured.map((s) => ({ labels: step(s), value: s.noise?.J })),
    },
    {
      name: "powerstack_step_node_energy_joules",
      unit: "joules",
      help: "Energy of the step above the idle baseline, per node.",
      samples: measured.flatMap((s) =>
        s.nodes.map((n) => ({ labels: { ...step(s), node: n.node }, value: n.costJ })),
      ),
    },
    {
      name: "powerstack_step_namespace_energy_joules",
      unit: "joules",
      help: "Energy of the step above the idle baseline, per namespace (Kepler's attribution to pods).",
      samples: measured.flatMap((s) =>
        s.namespaces.map((n) => ({ labels: { ...step(s), namespace: n.namespace }, value: n.costJ })),
      ),
    },
    {
      name: "powerstack_step_duration_seconds",
      unit: "seconds",
      help: "How long the step's command ran.",
      samples: v.steps.map((s) => ({ labels: step(s), value: s.commandWindow.seconds })),
    },
    {
      name: "powerstack_step_exit_code",
      help: "The step's command's exit code.",
      samples: v.steps.map((s) => ({ labels: step(s), value: s.exitCode })),
    },
    {
      name: "powerstack_step_too_short",
      help: "1 when the step ran for less than Kepler's sampling interval: its energy is not measured.",
      samples: v.steps.map((s) => ({ labels: step(s), value: s.tooShort ? 1 : 0 })),
    },
    {
      name: "powerstack_steps_energy_joules",
      unit: "joules",
      help: "Energy of all measured steps above their idle baselines.",
      samples: [{ labels: {}, value: totalRow(v.steps).costJ }],
    },
  ];
  const out: string[] = [];
  for (const f of families) {
    const samples = f.samples.filter(
      (s): s is { labels: Record<string, string>; value: number } => s.value !== undefined,
    );
    if (samples.length === 0) continue;
    out.push(`# TYPE ${f.name} gauge`);
    if (f.unit) out.push(`# UNIT ${f.name} ${f.unit}`);
    out.push(`# HELP ${f.name} ${f.help}`);
    for (const s of samples) out.push(`${f.name}${labelText(s.labels)} ${number(s.value)}`);
  }
  out.push("# EOF");
  return `${out.join("\n")}\n`;
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}

/** Full precision; OpenMetrics spells the non-finite values NaN, +Inf, -Inf. */
function number(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  return String(v);
}
