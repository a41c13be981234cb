/**
 * Colours per group that stay the same across runs and plots: a group's colour is picked by a hash of its
 * name, not by its rank, so `ctl` is drawn in the same colour whether the plot has two groups or twenty.
 * Two names can hash to the same colour; within one plot the later name (in name order) then moves on to
 * the next free colour, so a collision changes only the colour of the group that collided.
 */

/** Tableau 10 without its grey (kept for "other") plus two distinct extras: readable on white, print-safe. */
export const PALETTE: readonly string[] = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#2f4b7c",
  "#8cd17d",
  "#d37295",
];

/** The colour of the summed rest when a plot shows only the largest groups. */
export const OTHER_COLOUR = "#bab0ac";

/** FNV-1a (32 bit): tiny, stable across Node versions and platforms, spreads short names well. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The colour a group gets when nothing else in the plot claims it first. */
export function preferredColour(name: string): string {
  return PALETTE[fnv1a(name) % PALETTE.length]!;
}

/** Colours for one plot's groups: each its preferred colour, collisions resolved in name order. */
export function coloursFor(names: Iterable<string>): Map<string, string> {
  const sorted = [...new Set(names)].sort();
  const taken = new Set<number>();
  const out = new Map<string, string>();
  for (const name of sorted) {
    let i = fnv1a(name) % PALETTE.length;
    // With more groups than colours, colours repeat: then the preferred one is as good as any.
    if (taken.size < PALETTE.length) while (taken.has(i)) i = (i + 1) % PALETTE.length;
    taken.add(i);
    out.set(name, PALETTE[i]!);
  }
  return out;
}
