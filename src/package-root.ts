import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The directory holding package.json, playbooks/ and templates/, whether run from src (tsx) or dist. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "playbooks"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the powerstack package root");
    dir = up;
  }
  return dir;
}
