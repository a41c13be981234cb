/**
 * The run logs of the CLI calls the lab and vm projects make go to one directory per vitest run
 * (`<tmp>/powerstack-test-logs-<pid of the vitest process>`), which this globalSetup of both projects
 * removes when the run ends. RunLog creates the directory on demand, so whichever project's teardown runs
 * first, the other's later logs still find one. (The unit project has its own root: temp-root.ts.)
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Evaluated in the vitest process, by vitest.config.ts and by this setup alike: the same path. */
export const testLogDir = () => join(tmpdir(), `powerstack-test-logs-${process.pid}`);

export default function setup(): () => void {
  const dir = testLogDir();
  return () => rmSync(dir, { recursive: true, force: true });
}
