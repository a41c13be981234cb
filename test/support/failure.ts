/** The message (and fix) a call fails with, as the CLI would print it; throws when the call succeeds. */
import { describeError } from "../../src/errors.js";

export function failure(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return describeError(err);
  }
  throw new Error("expected a failure");
}
