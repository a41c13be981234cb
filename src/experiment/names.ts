/**
 * Names of the objects an experiment creates: DNS-1123 labels, deterministic (the same plan gives the same
 * names, so `--check` shows what `run` creates), unique per phase, repetition and node.
 */
import { createHash } from "node:crypto";

/**
 * The longest name we give a Job. The API allows 63, but the Job controller names its pods
 * `<job>-<5 random>` from a generateName it cuts to 58 characters: past 57 the pod name no longer starts
 * with `<job>-`, which is how the pricing finds a phase's pods.
 */
export const MAX_NAME = 57;

/**
 * `parts` joined with `-`, or when that is longer than `max`, its start and an 8-hex hash of the whole
 * (so two long names that share a start stay distinct). The parts are DNS labels already (the plan checks
 * them), and the experiment's name starts with a letter, so the result is a DNS-1035 label: valid for a
 * Service as well as a Job.
 */
export function objectName(parts: Array<string | number>, max = MAX_NAME): string {
  const full = parts.map(String).join("-");
  if (full.length <= max) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  const head = full.slice(0, max - hash.length - 1).replace(/-+$/, "");
  return `${head}-${hash}`;
}
