import { describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { secretObject } from "../../src/modules/kube-apply.js";
import { shq } from "../../src/transport/host.js";
import { MASK, Redactor, secretForms } from "../../src/ui/redact.js";

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

describe("redactor: every form a template, a manifest or a command line gives a secret", () => {
  // `"`, `\` and `'` (escaped by JSON, YAML and the shell), a non-ASCII letter, and bytes whose base64
  // holds `+`, `/` and padding (so the URL-safe and unpadded forms differ from the standard one).
  const SECRET = `K10::srv"tok\\en'y~~~>>>?é`;
  const b64 = Buffer.from(SECRET, "utf8").toString("base64");
  const r = new Redactor();
  r.add(SECRET);

  test("the secret is as awkward as meant", () => {
    expect(b64).toMatch(/\+/);
    expect(b64).toMatch(/\//);
    expect(b64).toMatch(/=$/);
  });

  const json = JSON.stringify(SECRET).slice(1, -1);
  const url = b64.replace(/\+/g, "-").replace(/\//g, "_");
  // [form, a text holding it, the secret as that text writes it]
  const forms: Array<[string, string, string]> = [
    ["raw", `token: ${SECRET}`, SECRET],
    ["JSON string ({{json}} in a template)", `token: ${JSON.stringify(SECRET)}`, json],
    [
      "JSON inside a JSON string",
      JSON.stringify({ config: `token: ${JSON.stringify(SECRET)}` }),
      JSON.stringify(json).slice(1, -1),
    ],
    [
      "YAML double-quoted",
      stringify({ token: SECRET }, { defaultStringType: "QUOTE_DOUBLE" }),
      `K10::srv\\"tok\\\\en'y~~~>>>?é`,
    ],
    [
      "YAML single-quoted",
      stringify({ token: SECRET }, { defaultStringType: "QUOTE_SINGLE" }),
      SECRET.replace(/'/g, "''"),
    ],
    ["base64", `data: ${b64}`, b64],
    ["base64 without padding", `data: ${b64.replace(/=+$/, "")}`, b64.replace(/=+$/, "")],
    ["base64url", `data: ${url}`, url],
    ["base64url without padding", `data: ${url.replace(/=+$/, "")}`, url.replace(/=+$/, "")],
    ["shell single-quoted (shq)", `printf %s ${shq(SECRET)} | k3s token`, `K10::srv"tok\\en'\\''y~~~>>>?é`],
  ];
  test.each(forms)("%s", (_name, text, encoded) => {
    expect(text).toContain(encoded);
    expect(r.redact(text)).toBe(text.split(encoded).join(MASK));
  });

  test("secretForms lists each form once, the value first", () => {
    const forms = secretForms(SECRET);
    expect(forms[0]).toBe(SECRET);
    expect(new Set(forms).size).toBe(forms.length);
    expect(forms).toContain(JSON.stringify(SECRET).slice(1, -1));
    expect(forms).toContain(shq(SECRET).slice(1, -1));
    expect(forms).toContain(b64);
  });

  test("inside a Kubernetes Secret's data (a whole file encoded): at every byte offset, only the characters mixing the secret's bits with its neighbours' survive", () => {
    for (let offset = 0; offset < 6; offset++) {
      const file = `${"#".repeat(offset)}password: ${SECRET}\nuser: admin\n`;
      const data = secretObject("kepler", "redfish", { "redfish.yaml": file }).data as Record<string, string>;
      const encoded = data["redfish.yaml"]!;
      const out = r.redact(encoded);
      // The characters made of the secret's bits only: [first, end). The mask covers them all (it may
      // cover one more, where a neighbour's bits happen to equal base64's zero padding).
      const start = Buffer.byteLength(`${"#".repeat(offset)}password: `);
      const first = Math.ceil((8 * start) / 6);
      const end = Math.floor((8 * (start + Buffer.byteLength(SECRET))) / 6);
      const [before, after, ...more] = out.split(MASK);
      expect(more).toEqual([]);
      expect(encoded.startsWith(before!) && before!.length <= first).toBe(true);
      expect(encoded.endsWith(after!) && after!.length <= encoded.length - end).toBe(true);
    }
  });

  test("redactValue masks every form in nested values (the run log, --json)", () => {
    const value = { diff: `+token: ${JSON.stringify(SECRET)}`, list: [`echo ${shq(SECRET)}`, b64] };
    expect(JSON.stringify(r.redactValue(value))).toBe(
      JSON.stringify({ diff: `+token: "${MASK}"`, list: [`echo '${MASK}'`, MASK] }),
    );
  });

  test("a short secret stays masked as a whole token only, in every form", () => {
    const s = new Redactor();
    s.add(`a"b`, "g");
    // JSON form `a\"b`, base64 `Zw==` / `Zw`: each on its own is masked...
    expect(s.redact(`token: "a\\"b"; pin=Zw==; pin2=Zw; ${shq(`a"b`)}`)).toBe(
      `token: "${MASK}"; pin=${MASK}; pin2=${MASK}; '${MASK}'`,
    );
    // ...inside a word it is not.
    expect(s.redact(`xa\\"by Zwolle changed gg`)).toBe(`xa\\"by Zwolle changed gg`);
  });

  test("a secret that is its own every form (plain letters and digits) is still masked once, whole", () => {
    const s = new Redactor();
    s.add("hunter22");
    expect(s.redact("pw hunter22 b64 aHVudGVyMjI=")).toBe(`pw ${MASK} b64 ${MASK}`);
  });
});
