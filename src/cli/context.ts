/**
 * What a command that works on the cluster starts with: the inventory (validated), the vault (opened
 * once, password asked at most once), every referenced secret resolved and registered with the Redactor,
 * the run log and the output. All input errors surface here, before any host is contacted.
 */
import { existsSync } from "node:fs";
import { InputError } from "../errors.js";
import { inventoryProblem, InventoryError, loadInventory, secretReferences } from "../inventory/load.js";
import type { Inventory } from "../inventory/types.js";
import { Output } from "../ui/output.js";
import { Redactor } from "../ui/redact.js";
import { RunLog } from "../ui/run-log.js";
import { getVaultPassword } from "../vault/password.js";
import { VaultStore } from "../vault/store.js";
import type { GlobalOptions } from "./options.js";

export interface RunContext {
  command: string;
  opts: GlobalOptions;
  inventory: Inventory;
  /** The opened vault; undefined when the command was asked not to open it. */
  vault?: VaultStore;
  redactor: Redactor;
  log: RunLog;
  out: Output;
  /** A resolved secret by vault key; throws a clear error for a key the vault lacks. */
  secret(name: string): string;
  close(): void;
}

export async function openRun(
  command: string,
  opts: GlobalOptions,
  { needVault = true }: { needVault?: boolean } = {},
): Promise<RunContext> {
  const redactor = new Redactor();
  const out = new Output(redactor, opts.json);
  const inventory = loadInventory(opts.inventory);

  let vault: VaultStore | undefined;
  if (needVault) {
    if (!existsSync(inventory.vaultFile)) {
      throw new InputError(
        `vault ${inventory.vaultFile} does not exist (named by ${inventory.file})`,
        "create it with `powerstack vault create " +
          inventory.vaultFile +
          "` or set `vault_file` in the inventory",
      );
    }
    const password = await getVaultPassword({ file: opts.vaultPasswordFile });
    redactor.add(password);
    vault = await VaultStore.open(inventory.vaultFile, password);
    const missing = secretReferences(inventory).filter((r) => !r.optional && !vault!.has(r.secret));
    if (missing.length > 0) {
      // At the inventory's line of each `*_secret` key, like every other inventory problem.
      throw new InventoryError(
        missing.map((m) =>
          inventoryProblem(
            inventory,
            m.key,
            `names vault key \`${m.secret}\`, which ${inventory.vaultFile} lacks`,
            `add the key with \`powerstack vault edit ${inventory.vaultFile}\`, or name a key the vault has`,
          ),
        ),
      );
    }
    for (const key of vault.keys()) redactor.add(vault.get(key));
  }

  const log = new RunLog(opts.logDir, command, redactor);
  log.write("start", { command, inventory: inventory.file, check: opts.check, limit: opts.limit });
  return {
    command,
    opts,
    inventory,
    vault,
    redactor,
    log,
    out,
    secret(name: string): string {
      const value = vault?.get(name);
      if (value === undefined) {
        throw new InputError(
          `vault ${inventory.vaultFile} has no key \`${name}\``,
          `add it with \`powerstack vault edit ${inventory.vaultFile}\``,
        );
      }
      return value;
    },
    close() {
      log.write("end");
      log.close();
    },
  };
}
