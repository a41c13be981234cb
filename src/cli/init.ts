/**
 * `powerstack init`: from nothing (or an Ansible inventory) to a valid inventory and an encrypted vault.
 * Order matters for safety: consent to overwrite first, every answer checked, the whole draft checked by
 * the loader, and only then anything written; finally both files are read back the way `up` reads them.
 */
import type { ParsedCommand } from "./argv.js";
import { dirname, relative, resolve } from "node:path";
import { ExitCode, InputError, PowerstackError } from "../errors.js";
import { readAnsibleInventory } from "../init/ansible/parse.js";
import { importAnsible } from "../init/ansible/import.js";
import { formatImportReport } from "../init/ansible/report.js";
import type { Asker } from "../init/asker.js";
import { settleDraft } from "../init/draft-check.js";
import { emptyDraft, nodes } from "../init/draft.js";
import { applyNodes, applySets } from "../init/flags.js";
import { InteractiveAsker } from "../init/interactive-asker.js";
import { renderInventory } from "../init/render-inventory.js";
import { ScriptedAsker } from "../init/scripted-asker.js";
import { vaultValues, withSecretNames } from "../init/secret-names.js";
import { fillDraft } from "../init/wizard.js";
import {
  confirmReplacements,
  verifyWritten,
  writeInventoryFile,
  writeVaultFile,
} from "../init/write-files.js";
import { Output } from "../ui/output.js";
import { Redactor } from "../ui/redact.js";
import { newVaultPassword, PASSWORD_ENV } from "../vault/password.js";
import type { GlobalOptions } from "./options.js";

interface InitOptions {
  fromAnsible?: string;
  defaults?: boolean;
  output: string;
  vault: string;
  node: string[];
  set: string[];
}

export async function run(opts: GlobalOptions, cmd: ParsedCommand): Promise<number> {
  // `-i` names the inventory for every command; init writes there unless --output says otherwise.
  const o = { output: opts.inventory, ...cmd.opts<Partial<InitOptions>>() } as InitOptions;
  const out = new Output(new Redactor(), opts.json);
  const say = (line: string) => out.info(line);
  const interactive = !o.defaults;
  if (interactive && !process.stdin.isTTY) {
    throw new InputError(
      "powerstack init asks questions, and there is no terminal to ask them on",
      "run it in a terminal, or pass --defaults with --node/--set (and the POWERSTACK_* secret variables); see `powerstack init --help`",
    );
  }
  const asker: Asker = interactive ? new InteractiveAsker(say) : new ScriptedAsker(say);
  try {
    return await init(opts, o, asker, out);
  } catch (err) {
    // Ctrl-C at a prompt: leave quietly and say that nothing changed.
    if (err instanceof Error && (err.name === "ExitPromptError" || err.name === "AbortPromptError")) {
      throw new PowerstackError("init cancelled; nothing was written", ExitCode.failed);
    }
    throw err;
  }
}

async function init(opts: GlobalOptions, o: InitOptions, asker: Asker, out: Output): Promise<number> {
  const say = (line: string) => out.info(line);
  const inventoryPath = resolve(o.output);
  const vaultPath = resolve(o.vault);
  const replace = await confirmReplacements(
    [
      { path: inventoryPath, shown: o.output, flag: "--output" },
      { path: vaultPath, shown: o.vault, flag: "--vault" },
    ],
    asker,
    opts.yes,
  );

  const draft = emptyDraft();
  if (o.fromAnsible) {
    const report = importAnsible(readAnsibleInventory(o.fromAnsible), draft);
    for (const line of formatImportReport(report, nodes(draft), asker.interactive)) say(line);
  }
  applyNodes(draft, o.node ?? []);
  applySets(draft, o.set ?? []);

  await fillDraft(draft, asker);
  if (asker instanceof ScriptedAsker) {
    if (!opts.vaultPasswordFile && !process.env[PASSWORD_ENV]) {
      asker.missing("vault password", `pass --vault-password-file <file> or set ${PASSWORD_ENV}`);
    }
    asker.finish();
  }
  // Paths inside the inventory are relative to it, so the pair can move together.
  const vaultRef = relative(dirname(inventoryPath), vaultPath);
  await settleDraft(draft, asker, inventoryPath, vaultRef);

  const password = await newVaultPassword({ file: opts.vaultPasswordFile, purpose: `for ${o.vault}` });
  // Secret values are not registered with the Redactor: nothing printed here derives from them, and a
  // short password (say `bmc`) would mask the vault key names listed below.
  const data = withSecretNames(draft, vaultRef);
  const values = vaultValues(draft, data);
  const text = renderInventory(data, [
    "powerstack inventory: the whole cluster in one file.",
    `Written by \`powerstack init\`${o.fromAnsible ? ` from ${o.fromAnsible}` : ""}. Check it with: powerstack up --check -i ${o.output}`,
    "Every `*_secret` key names an entry of the encrypted vault (vault_file); secret values never go here.",
  ]);

  await writeVaultFile(vaultPath, password, values, replace.has(vaultPath));
  await writeInventoryFile(inventoryPath, text, replace.has(inventoryPath));
  const inventory = await verifyWritten(inventoryPath, password);

  const generated = draft.secrets.k3sToken === undefined ? " (K3s token generated)" : "";
  say(`Wrote ${o.output}: ${inventory.nodes.map((n) => `${n.name} (${n.role})`).join(", ")}`);
  say(
    `Wrote ${o.vault}: encrypted, ${Object.keys(values).length} secret(s): ${Object.keys(values).join(", ")}${generated}`,
  );
  say(`Checked: ${o.output} passes the inventory validation and its vault opens with the password.`);
  say(`Next: powerstack up --check -i ${o.output}`);
  out.object({
    event: "init",
    inventory: inventoryPath,
    vault: vaultPath,
    nodes: inventory.nodes.map((n) => n.name),
    secrets: Object.keys(values),
  });
  return ExitCode.ok;
}
