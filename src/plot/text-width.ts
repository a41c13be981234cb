/**
 * Text widths for ECharts' layout (legend spacing, label overlap, axis room) in the font the PNG is drawn
 * with. Without a canvas ECharts estimates widths from an Arial-like table, and DejaVu Sans is ~10% wider:
 * legend entries then run into each other. These are DejaVu Sans' own advance widths (per 1000 units of
 * the em) for printable ASCII, read from the hmtx table of DejaVuSans.ttf / DejaVuSans-Bold.ttf 2.37
 * (Debian fonts-dejavu-core 2.37-6). A table, not the font file, so the SVG's layout is the same on a host
 * without the font: same input, same bytes.
 */

// prettier-ignore
const REGULAR = [318,401,460,838,636,950,780,275,390,390,500,838,318,361,318,337,636,636,636,636,636,636,636,636,636,636,337,337,838,838,838,531,1000,684,686,698,770,632,575,775,752,295,295,656,557,863,748,787,603,787,695,635,611,732,684,989,685,611,685,390,337,390,838,500,500,613,635,550,635,615,352,635,634,278,278,579,278,974,634,612,635,635,411,521,392,634,592,818,592,592,525,636,337,636,838];
// prettier-ignore
const BOLD = [348,456,521,838,696,1002,872,306,457,457,523,838,380,415,380,365,696,696,696,696,696,696,696,696,696,696,400,400,838,838,838,580,1000,774,762,734,830,683,683,821,837,372,372,775,637,995,837,850,733,850,770,720,682,812,774,1103,771,724,725,457,365,457,838,500,500,675,716,593,716,678,435,716,712,343,343,665,343,1042,712,687,716,716,493,595,478,712,652,924,645,652,582,712,365,712,838];

/** Anything beyond ASCII (µ, accented names): DejaVu's typical lower-case width. */
const OTHER = 620;

/** Width in pixels of `text` in a CSS font shorthand such as `bold 16px DejaVu Sans, sans-serif`. */
export function textWidth(text: string, font = "12px sans-serif"): number {
  const size = Number(/(\d+(?:\.\d+)?)px/.exec(font)?.[1] ?? 12);
  const table = /\b(bold|bolder|[6-9]00)\b/.test(font) ? BOLD : REGULAR;
  let units = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    units += code >= 32 && code < 127 ? table[code - 32]! : OTHER;
  }
  return (units * size) / 1000;
}
