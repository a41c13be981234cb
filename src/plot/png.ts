/**
 * SVG to PNG with resvg (a Rust SVG renderer, no browser, no system libraries). Text needs a font file:
 * DejaVu Sans, from Debian's fonts-dejavu-core (in .ci/host-packages.txt) or the same files elsewhere,
 * loaded explicitly so the PNG does not depend on which fonts a host happens to have. Where no DejaVu
 * file exists, resvg falls back to the system's fonts (the labels then look slightly different).
 */
import { existsSync } from "node:fs";
import { Resvg } from "@resvg/resvg-js";

/** Where distributions install DejaVu Sans: Debian/Ubuntu, Fedora/RHEL, Arch, Alpine, Homebrew. */
const FONT_DIRS = [
  "/usr/share/fonts/truetype/dejavu",
  "/usr/share/fonts/dejavu-sans-fonts",
  "/usr/share/fonts/TTF",
  "/usr/share/fonts/dejavu",
  "/opt/homebrew/share/fonts",
];
const FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"];

/** The DejaVu Sans files found (regular first), or an empty list. */
export function plotFontFiles(dirs: readonly string[] = FONT_DIRS): string[] {
  for (const dir of dirs) {
    const files = FONT_FILES.map((f) => `${dir}/${f}`).filter((f) => existsSync(f));
    if (files.length) return files;
  }
  return [];
}

/** The PNG's bytes, at the SVG's own size (its width/height attributes). */
export function toPng(svg: string, fontFiles: string[] = plotFontFiles()): Buffer {
  const resvg = new Resvg(svg, {
    background: "#ffffff",
    fitTo: { mode: "original" },
    font: fontFiles.length
      ? {
          fontFiles,
          loadSystemFonts: false,
          defaultFontFamily: "DejaVu Sans",
          sansSerifFamily: "DejaVu Sans",
        }
      : { loadSystemFonts: true },
  });
  return resvg.render().asPng();
}
