/**
 * A RecordingHost (test/support/recording-host.ts) that also answers fact batches (src/engine/fact-cache.ts
 * batchScript): each snippet of a batch is answered on its own, by the first answer whose pattern matches
 * the snippet, and framed the way the node's shell would frame it (markers, exit status, stderr in base64).
 * Commands that are not batches (what modules send when they apply) get the answers as before.
 */
import type { Fact, FactRef, ShellFact } from "../../src/engine/fact.js";
import type { ExecResult } from "../../src/transport/host.js";
import { RecordingHost } from "../support/recording-host.js";

type Answer = [RegExp, Partial<ExecResult> | ((cmd: string) => Partial<ExecResult>)];

const SNIPPET =
  /printf '\\n@@([0-9a-f]+):(\d+):begin\\n'; \( ([\s\S]*?)\n\) 2>"\$E"; printf '\\n@@\1:\2:end:%d\\n' \$\?/g;
const isBatch = (cmd: string) => /^E=\$\(mktemp\) \|\| exit 97;/.test(cmd);

/** The snippets of a batch command, in order. */
export function snippetsOf(command: string): string[] {
  return isBatch(command) ? [...command.matchAll(SNIPPET)].map((m) => m[3]!) : [];
}

export function factHost(name: string, answers: Answer[] = []): RecordingHost {
  const answer = (cmd: string): Partial<ExecResult> => {
    const hit = answers.find(([re]) => re.test(cmd));
    return hit ? (typeof hit[1] === "function" ? hit[1](cmd) : hit[1]) : {};
  };
  const batch: Answer = [
    /^E=\$\(mktemp\) \|\| exit 97;/,
    (cmd) => ({
      stdout: [...cmd.matchAll(SNIPPET)]
        .map(([, nonce, i, snippet]) => {
          const r = answer(snippet!);
          const err = r.stderr ? `@@${nonce}:${i}:stderr:${Buffer.from(r.stderr).toString("base64")}\n` : "";
          return `\n@@${nonce}:${i}:begin\n${r.stdout ?? ""}\n@@${nonce}:${i}:end:${r.code ?? 0}\n${err}`;
        })
        .join(""),
    }),
  ];
  return new RecordingHost(name, [batch, ...answers]);
}

/** What the `file` fact's snippet prints for a regular file with this content, or for no file. */
export function fileAnswer(content: string | undefined, mode = "600"): Partial<ExecResult> {
  if (content === undefined) return { stdout: "MISSING\n" };
  return { stdout: `regular file|${mode}|root|root|0|0\n${Buffer.from(content).toString("base64")}` };
}

/** What the `unit` fact's snippet (`systemctl show`) prints for a unit that is or is not installed. */
export function unitAnswer(state: "active" | "inactive" | "not-found"): Partial<ExecResult> {
  const loaded = state !== "not-found";
  return {
    stdout: [
      `LoadState=${loaded ? "loaded" : "not-found"}`,
      `UnitFileState=${loaded ? "enabled" : ""}`,
      `ActiveState=${state === "active" ? "active" : "inactive"}`,
      `SubState=${state === "active" ? "running" : "dead"}`,
      "NeedDaemonReload=no",
    ].join("\n"),
  };
}

/** The host facts script's answer (src/engine/facts.ts FACTS_SCRIPT) for a Debian 12 node. */
export function hostFactsAnswer(hostname: string, arch = "x86_64"): Partial<ExecResult> {
  return {
    stdout: `@@os\nID=debian\nVERSION_ID="12"\n@@arch\n${arch}\n@@init\nsystemd\n@@hostname\n${hostname}\n`,
  };
}

/** The commands a module sent to act (everything but fact batches). */
export const actionCommands = (host: RecordingHost) => host.commands().filter((c) => !isBatch(c));

/** A shell fact's snippet and parser, for the read `ref` names (or for a fact family without argument). */
export function shellOf<T>(ref: FactRef<T> | Fact<T, void>) {
  const r = "family" in ref ? ref : ref.of();
  const f = r.family as unknown as ShellFact<T, unknown>;
  return {
    command: () => f.command(r.arg),
    parse: (stdout: string, code = 0, stderr = "") => f.parse({ stdout, stderr, code }, r.arg),
  };
}
