import { NotImplementedError } from "../errors.js";
import type { GlobalOptions } from "./options.js";

export async function run(_opts: GlobalOptions): Promise<number> {
  throw new NotImplementedError("powerstack init");
}
