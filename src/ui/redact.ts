/**
 * The one place secrets are masked. Every log line and every line of output passes through a Redactor
 * that knows every secret value resolved from the vault in this run, and every form a template, a
 * manifest or a command line can give it (secretForms): a token holding `"` is written `\"` by `{{json}}`,
 * and masking only the raw value would let that form through.
 */
import { stringify } from "yaml";
import { shq } from "../transport/host.js";

export const MASK = "********";
const SHORT = 6;

function tokenPattern(secret: string): RegExp {
  return new RegExp(`(^|[^A-Za-z0-9])${secret.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![A-Za-z0-9])`, "g");
}

const base64 = (bytes: Buffer) => bytes.toString("base64");
const urlSafe = (b64: string) => b64.replace(/\+/g, "-").replace(/\//g, "_");

/** The body of a quoted scalar as the `yaml` library writes it (what kube-apply's manifests and diffs hold). */
function yamlQuotedBody(secret: string, type: "QUOTE_DOUBLE" | "QUOTE_SINGLE"): string | undefined {
  const text = stringify(secret, { defaultStringType: type, lineWidth: 0 }).trimEnd();
  const q = type === "QUOTE_DOUBLE" ? '"' : "'";
  // The library falls back to another style when this one cannot hold the value (control characters).
  return text.length >= 2 && text.startsWith(q) && text.endsWith(q) ? text.slice(1, -1) : undefined;
}

/**
 * The base64 text of a secret that sits somewhere INSIDE a larger encoded value (a Kubernetes Secret's
 * `data` holding a whole config file): the characters depend on the secret's byte offset modulo 3, so
 * there are three forms, each the run of characters made only of the secret's own bits.
 */
function base64Inside(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const text = base64(Buffer.concat([Buffer.alloc(offset), bytes]));
    const first = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    out.push(text.slice(first, end));
  }
  return out;
}

/**
 * Every text a secret may appear as in what powerstack renders or prints, the value itself first:
 * a JSON string body (`{{json}}` in templates, --json output), YAML double- and single-quoted bodies,
 * base64 (standard and URL-safe, padded or not, whole or inside a longer encoded value such as a
 * Kubernetes Secret's data) and the POSIX shell single-quoted form (shq).
 */
export function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret, "utf8");
  const whole = base64(bytes);
  // A fragment shorter than SHORT would be masked only as a whole token, which a run of characters in
  // the middle of base64 text never is: it would mask nothing.
  const inside = base64Inside(bytes).filter((f) => f.length >= SHORT);
  const json = JSON.stringify(secret).slice(1, -1);
  const forms = [
    secret,
    json,
    // A JSON document held in a JSON string (a rendered config quoted in an error or a --json field).
    JSON.stringify(json).slice(1, -1),
    yamlQuotedBody(secret, "QUOTE_DOUBLE"),
    yamlQuotedBody(secret, "QUOTE_SINGLE"),
    secret.replace(/'/g, "''"),
    whole,
    whole.replace(/=+$/, ""),
    urlSafe(whole),
    urlSafe(whole).replace(/=+$/, ""),
    shq(secret).slice(1, -1),
    ...inside,
    ...inside.map(urlSafe),
  ];
  return [...new Set(forms.filter((f): f is string => !!f))];
}

export class Redactor {
  private secrets: string[] = [];

  /**
   * Register secret values, each with every form it can take (secretForms). Values and forms shorter
   * than SHORT are masked only as whole tokens (between non-alphanumerics): a one-letter test password
   * must not turn "changed" into "chan********ed", yet a leaked PIN printed on its own is still masked.
   */
  add(...values: Array<string | undefined>): void {
    for (const v of values) {
      if (!v) continue;
      for (const form of secretForms(v)) if (!this.secrets.includes(form)) this.secrets.push(form);
    }
    // Longest first, so a secret that contains another (or a form that contains another) is masked whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) {
      if (!out.includes(s)) continue;
      out = s.length >= SHORT ? out.split(s).join(MASK) : out.replace(tokenPattern(s), `$1${MASK}`);
    }
    return out;
  }

  /** Deep-redact a JSON-able value (for --json output and the run log). */
  // Walks the value rather than redacting its JSON text: JSON escaping would add a second layer of
  // escapes to a form the walk recognises (a `{{json}}`-rendered token inside a diff string).
  redactValue<T>(value: T): T {
    if (this.secrets.length === 0) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === "string") return this.redact(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      }
      return v;
    };
    return walk(value) as T;
  }
}
