/**
 * `powerstack power` argument handling through the real command line: usage errors exit 2 before the
 * inventory or vault is opened.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";

describe("powerstack power (command line)", () => {
  let stderr: string[];
  beforeEach(() => {
    stderr = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("rejects an unknown action", async () => {
    expect(await main(["-i", "/nonexistent.yaml", "power", "reboot", "node2"])).toBe(2);
    expect(stderr.join("")).toContain("unknown power action `reboot`\n  fix: use one of: status, off, on");
  });

  it("needs exactly one node for off and on", async () => {
    expect(await main(["-i", "/nonexistent.yaml", "power", "off"])).toBe(2);
    expect(stderr.join("")).toContain("`power off` takes exactly one node, got 0");
    expect(await main(["-i", "/nonexistent.yaml", "power", "on", "node2", "node3"])).toBe(2);
    expect(stderr.join("")).toContain("`power on` takes exactly one node, got 2");
  });

  it("checks --drain-timeout", async () => {
    expect(await main(["-i", "/nonexistent.yaml", "power", "off", "node2", "--drain-timeout", "soon"])).toBe(
      2,
    );
    expect(stderr.join("")).toContain('--drain-timeout needs a whole number of seconds >= 1, got "soon"');
  });
});
