/**
 * An opened vault: its secrets by name, and a way to change one and write the file back encrypted
 * (same header version and vault id, atomically, mode 0600), keeping what people wrote: comments, nested
 * mappings, lists and block scalars, byte for byte outside the changed values (rewrite.ts). A name is a
 * dotted path into nested mappings (`ansible_vault.token`); paths.ts has the rule, including keys that hold dots.
 * A save never undoes what someone else wrote to the file since it was read (a `vault edit` while `up`
 * ran): their file is read again and this store's changed keys are set on top of it.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Document } from "yaml";
import { ExitCode, InputError, PowerstackError } from "../errors.js";
import { mark } from "../timing.js";
import { ChangedMeanwhileError, writeFileAtomic } from "./atomic-write.js";
import { checkEntry, newVaultDocument, parseVaultContents } from "./contents.js";
import { checkVaultId, decryptVault, encryptVault, type VaultVersion } from "./format.js";
import { leafPaths, secretAt } from "./paths.js";
import { renderVault, setPath } from "./rewrite.js";

export class VaultStore {
  // A #private field: JSON.stringify and util.inspect (hence any log of this object) never show it.
  readonly #password: string;
  /** The file's bytes as last read or written by this store: a save replaces only these. */
  #text: string | undefined;
  /** Names set since the last save, re-applied if the file changed underneath. */
  readonly #changed = new Map<string, string>();

  /** The decrypted text; #private like the password, so no log of this object shows a secret. */
  #plaintext: string;
  /**
   * Parsed from `#plaintext`, never built, so its nodes' offsets point into that text and a save can replace
   * just the changed spans.
   */
  #doc: Document;

  private constructor(
    readonly path: string,
    password: string,
    plaintext: string,
    doc: Document,
    private _version: VaultVersion,
    private _vaultId: string | undefined,
    text?: string,
  ) {
    this.#password = password;
    this.#plaintext = plaintext;
    this.#doc = doc;
    this.#text = text;
  }

  get version(): VaultVersion {
    return this._version;
  }

  get vaultId(): string | undefined {
    return this._vaultId;
  }

  /** Decrypt and parse the vault at `path`; every problem is an InputError naming the file. */
  static async open(path: string, password: string): Promise<VaultStore> {
    mark("vault:open:start");
    const text = await readVaultFile(path);
    const { plaintext, version, vaultId } = decryptVault(text, password, path);
    const { doc } = parseVaultContents(plaintext, path);
    mark("vault:open:end");
    return new VaultStore(path, password, plaintext, doc, version, vaultId, text);
  }

  /** Write a new vault holding `values`; refuses to replace an existing file. */
  static async create(
    path: string,
    password: string,
    values: Record<string, string>,
    opts: { vaultId?: string } = {},
  ): Promise<VaultStore> {
    if (opts.vaultId !== undefined) checkVaultId(opts.vaultId);
    // No values: an empty text rather than `{}`, so names set later are written in block style.
    const plaintext = Object.keys(values).length === 0 ? "" : newVaultDocument(values).toString();
    const store = new VaultStore(
      path,
      password,
      plaintext,
      parseVaultContents(plaintext, path).doc,
      opts.vaultId !== undefined && opts.vaultId !== "default" ? "1.2" : "1.1",
      opts.vaultId,
    );
    // Like `ansible-vault create`: a missing directory is made rather than an error.
    await mkdir(dirname(path), { recursive: true });
    const text = store.encrypt(plaintext);
    await writeFileAtomic(path, text, { noClobber: true });
    store.#text = text;
    return store;
  }

  /**
   * The secret a name (a dotted path) holds, as the text written (`0123`, `yes` stay so); undefined when
   * absent. A name of a mapping or list is an InputError naming it and what it is.
   */
  get(name: string): string | undefined {
    return secretAt(this.#doc, name, this.path);
  }

  /** Whether `get(name)` has a value; a mapping or list there is the same InputError as for `get`. */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /**
   * Every name `get` answers, in the file's order: a flat vault's keys, as always; in a nested one the dotted
   * path of each value (so callers that redact every secret still see them all). The same as `leafPaths()`.
   */
  keys(): string[] {
    return this.leafPaths();
  }

  /** The dotted path of every single value (scalar leaf), list items by index (`ssh_keys.0`). */
  leafPaths(): string[] {
    return leafPaths(this.#doc);
  }

  /**
   * Change or add a secret in memory; `save()` writes it. An existing value keeps its comments and style;
   * a new name under nothing creates the mappings on its way (`a.b` → `a: {b: value}`).
   */
  set(name: string, value: string): void {
    checkEntry(name, value);
    setPath(this.#doc, name, value, this.path);
    this.#changed.set(name, value);
  }

  async save(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const plaintext = renderVault(this.#plaintext, this.#doc);
      const text = this.encrypt(plaintext);
      try {
        await writeFileAtomic(
          this.path,
          text,
          this.#text === undefined ? {} : { unchangedSince: this.#text },
        );
        this.#text = text;
        this.#changed.clear();
        // Offsets of the new text, for the next save's splice.
        this.#plaintext = plaintext;
        this.#doc = parseVaultContents(plaintext, this.path).doc;
        return;
      } catch (err) {
        if (!(err instanceof ChangedMeanwhileError) || attempt >= 4) throw err;
        await this.reload();
      }
    }
  }

  /** The file changed since it was read: take it as it is now, with this store's changed keys on top. */
  private async reload(): Promise<void> {
    const keys = [...this.#changed.keys()].map((k) => `\`${k}\``).join(", ");
    let fresh: VaultStore;
    try {
      fresh = await VaultStore.open(this.path, this.#password);
    } catch (err) {
      throw new PowerstackError(
        `${this.path} changed while powerstack ran and no longer opens with this run's password (rekeyed?); ${keys || "nothing"} not stored, the file left as it is`,
        ExitCode.failed,
        `run the command again with the vault's current password${err instanceof InputError ? ` (${err.message})` : ""}`,
      );
    }
    this.#plaintext = fresh.#plaintext;
    this.#doc = fresh.#doc;
    this._version = fresh._version;
    this._vaultId = fresh._vaultId;
    this.#text = fresh.#text;
    for (const [k, v] of this.#changed) setPath(this.#doc, k, v, this.path);
  }

  private encrypt(plaintext: string): string {
    return encryptVault(plaintext, this.#password, {
      vaultId: this._version === "1.2" ? this._vaultId : undefined,
    });
  }
}

async function readVaultFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new InputError(
        `vault ${path} does not exist`,
        `create it with \`powerstack vault create ${path}\``,
      );
    throw new InputError(
      `cannot read vault ${path}: ${code ?? (err as Error).message}`,
      "check the path and its permissions",
    );
  }
}
