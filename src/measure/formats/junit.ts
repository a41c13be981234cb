/**
 * JUnit XML, which every CI system displays without plugins (GitLab's `artifacts:reports:junit`, Jenkins,
 * GitHub Actions through a test-report action): one test case per step, failed when the gate puts the
 * step over its limit, an error when its command failed, skipped when it was too short to measure.
 *
 * Each step's test case sits in a test suite of its own carrying the step's energy as `<properties>`:
 * the JUnit schema (test/fixtures/junit/junit-10.xsd, the one Jenkins validates with) allows properties
 * on a suite, not on a test case, and GitLab's parser reads nested suites.
 */
import type { GateLine } from "../gate.js";
import type { StepRecord } from "../step-record.js";
import { tooShortReason } from "../step-record.js";
import type { ReportView } from "./text.js";

interface Case {
  step: StepRecord;
  failures: GateLine[];
  error: boolean;
}

export function reportJunit(v: ReportView): string {
  const cases: Case[] = v.steps.map((s) => ({
    step: s,
    failures: v.gate.filter((g) => g.step === s.step && g.verdict === "over"),
    error: s.exitCode !== 0,
  }));
  const failures = cases.filter((c) => c.failures.length).length;
  const errors = cases.filter((c) => c.error).length;
  const skipped = cases.filter((c) => c.step.tooShort).length;
  const time = seconds(v.steps.reduce((a, s) => a + s.commandWindow.seconds, 0));
  const counts = `tests="${cases.length}" failures="${failures}" errors="${errors}"`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="powerstack energy" ${counts} time="${time}">`,
    `  <testsuite name="powerstack energy" ${counts} skipped="${skipped}" time="${time}"${
      v.steps[0] ? ` timestamp="${attr(v.steps[0].commandWindow.from)}"` : ""
    }>`,
    ...cases.flatMap(testCase),
    "  </testsuite>",
    "</testsuites>",
  ];
  return `${out.join("\n")}\n`;
}

function testCase(c: Case): string[] {
  const s = c.step;
  const props: Array<[string, string | number | undefined]> = [
    ["command", s.command.join(" ")],
    ["exit_code", s.exitCode],
    ["window_from", s.commandWindow.from],
    ["window_to", s.commandWindow.to],
    ["too_short", String(s.tooShort)],
  ];
  if (!s.tooShort) {
    props.push(
      ["energy_above_idle_j", s.total.costJ],
      ["extra_power_w", s.total.costW],
      ["platform_above_idle_j", s.total.platform?.costJ],
      ["co2e_g", s.total.co2G],
      ...Object.entries(s.total.co2BySourceG ?? {}).map(([source, g]): [string, number] => [
        `co2_${source}_g`,
        g,
      ]),
      ["idle_noise_j", s.noise?.J],
      ...s.nodes.map((n): [string, number] => [`node.${n.node}.energy_above_idle_j`, n.costJ]),
      ...s.namespaces.map((n): [string, number] => [`namespace.${n.namespace}.energy_above_idle_j`, n.costJ]),
    );
  }
  const t = seconds(s.commandWindow.seconds);
  const counts = `tests="1" failures="${c.failures.length ? 1 : 0}" errors="${c.error ? 1 : 0}" skipped="${s.tooShort ? 1 : 0}"`;
  const body: string[] = [];
  for (const f of c.failures)
    body.push(`        <failure type="energy" message="${attr(f.text)}">${text(f.text)}</failure>`);
  if (c.error)
    body.push(
      `        <error type="exit-code" message="${attr(`\`${s.command.join(" ")}\` exited ${s.exitCode}`)}"/>`,
    );
  if (s.tooShort) body.push(`        <skipped message="${attr(tooShortReason(s))}"/>`);
  return [
    `    <testsuite name="${attr(s.step)}" ${counts} time="${t}" timestamp="${attr(s.commandWindow.from)}">`,
    "      <properties>",
    ...props
      .filter((p): p is [string, string | number] => p[1] !== undefined)
      .map(([k, v]) => `        <property name="${attr(k)}" value="${attr(String(v))}"/>`),
    "      </properties>",
    `      <testcase name="${attr(s.step)}" classname="powerstack.energy" time="${t}"${body.length ? "" : "/"}>`,
    ...(body.length ? [...body, "      </testcase>"] : []),
    "    </testsuite>",
  ];
}

/** JUnit times: seconds with at most three decimals (the schema's SUREFIRE_TIME). */
function seconds(s: number): string {
  return s.toFixed(3);
}

function text(s: string): string {
  return (
    s
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      // XML 1.0 has no way to write these (a colour code in a command line): a visible stand-in instead.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, "\ufffd")
  );
}

function attr(s: string): string {
  return text(s).replace(/"/g, "&quot;").replace(/\n/g, "&#10;");
}
