import { describe, expect, test } from "vitest";
import { MASK, Redactor } from "../../src/ui/redact.js";

describe("redactor", () => {
  test("masks every occurrence of a secret, longest first, in text and nested values", () => {
    const r = new Redactor();
    r.add("hunter22", "hunter22-extended", undefined);
    expect(r.redact("a hunter22 b hunter22-extended")).toBe(`a ${MASK} b ${MASK}`);
    expect(r.redactValue({ msg: 'x "hunter22"', list: ["hunter22\\n"], n: 3 })).toEqual({
      msg: `x "${MASK}"`,
      list: [`${MASK}\\n`],
      n: 3,
    });
  });

  test("a short secret is masked as a whole token only", () => {
    const r = new Redactor();
    r.add("g");
    expect(r.redact("changed: password=g; g")).toBe(`changed: password=${MASK}; ${MASK}`);
  });
});
