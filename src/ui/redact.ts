/**
 * The one place secrets are masked. Every log line and every line of output passes through a Redactor
 * that knows every secret value resolved from the vault in this run.
 */
export const MASK = "********";
const SHORT = 6;

function tokenPattern(secret: string): RegExp {
  return new RegExp(`(^|[^A-Za-z0-9])${secret.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![A-Za-z0-9])`, "g");
}

export class Redactor {
  private secrets: string[] = [];

  /**
   * Register secret values. Values shorter than SHORT are masked only as whole tokens (between
   * non-alphanumerics): a one-letter test password must not turn "changed" into "chan********ed",
   * yet a leaked PIN printed on its own is still masked.
   */
  add(...values: Array<string | undefined>): void {
    for (const v of values) {
      if (v && !this.secrets.includes(v)) this.secrets.push(v);
    }
    // Longest first, so a secret that contains another is masked whole.
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
  // Walks the value rather than redacting its JSON text: JSON escaping would hide a secret holding `"` or `\`.
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
