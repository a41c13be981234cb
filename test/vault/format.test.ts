import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { decryptVault, encryptVault, isVaultText, VaultError } from "../../src/vault/format.js";

// Made once with the real `ansible-vault encrypt` (core 2.14), password "fixture-pass": a fixed vector,
// so the format is checked against ansible even where ansible is not installed.
const ANSIBLE_PLAINTEXT = '# made by ansible-vault 2.14\nk3s_token: "0123"\nnote: grüße\n';
const ANSIBLE_11 = `$ANSIBLE_VAULT;1.1;AES256
30616531636436353035313331346236616533353937336532343931346564636438633862316132
3839326137343337373862396266336539333237313430390a643833323739613564663936306635
31663138326237633537373636623665333133623663373933636332363066616532353339613935
3836353436636537340a656664646165326165616134633438663837343437376238373561316663
31633139626638303834386266313130636336366236316632303233616137636365633131623233
64313437343233656331613831353834333661636662366632653735373661363433336435613164
636231363764353661326336653262313934
`;
const ANSIBLE_12 = `$ANSIBLE_VAULT;1.2;AES256;lab
35663034353736366432623237346231313263373066346534323634393864643133396266633764
6365343538323534646339313733303139343266346537660a376636633530376131366133383831
63353234336436613330363030366335393766396237303964646262623334316566333437396534
3738396331363633660a353335386165653937343138623133666334636635343332383434373735
33323463386465623338393331303635356235653638633938623237663637303833323633376434
34363466366139663663383866323761373436323165336537373661633338383734343033663465
333731666434616338613333643966356532
`;

/** Decode the outer hex, let `change` edit the "salt\nhmac\nciphertext" text, re-encode at 80 columns. */
function tamperInner(vault: string, change: (inner: string) => string): string {
  const [header, ...body] = vault.trimEnd().split("\n");
  const inner = change(Buffer.from(body.join(""), "hex").toString("ascii"));
  const hex = Buffer.from(inner, "ascii").toString("hex");
  return [header, ...(hex.match(/.{1,80}/g) ?? [])].join("\n") + "\n";
}

function errorOf(fn: () => unknown): VaultError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VaultError);
    return err as VaultError;
  }
  throw new Error("expected a VaultError");
}

describe("decryptVault reads ansible-vault output", () => {
  it("reads a 1.1 file", () => {
    expect(decryptVault(ANSIBLE_11, "fixture-pass", "a.yaml")).toEqual({
      plaintext: ANSIBLE_PLAINTEXT,
      version: "1.1",
      vaultId: undefined,
    });
  });

  it("reads a 1.2 file and its vault id", () => {
    expect(decryptVault(ANSIBLE_12, "fixture-pass")).toEqual({
      plaintext: ANSIBLE_PLAINTEXT,
      version: "1.2",
      vaultId: "lab",
    });
  });

  it("tolerates CRLF line ends (a Windows checkout)", () => {
    expect(decryptVault(ANSIBLE_11.replace(/\n/g, "\r\n"), "fixture-pass").plaintext).toBe(ANSIBLE_PLAINTEXT);
  });
});

describe("encryptVault writes what ansible writes", () => {
  it("1.1: header, hex body in 80-column lines, final newline", () => {
    const text = encryptVault("a".repeat(300), "pw");
    const lines = text.split("\n");
    expect(lines[0]).toBe("$ANSIBLE_VAULT;1.1;AES256");
    expect(lines.at(-1)).toBe("");
    const body = lines.slice(1, -1);
    for (const line of body.slice(0, -1)) expect(line).toMatch(/^[0-9a-f]{80}$/);
    expect(body.at(-1)).toMatch(/^[0-9a-f]{1,80}$/);
    // Inner structure: 32-byte salt, 32-byte HMAC, ciphertext padded to whole AES blocks.
    const [salt, hmac, ct] = Buffer.from(body.join(""), "hex").toString("ascii").split("\n");
    expect(salt).toHaveLength(64);
    expect(hmac).toHaveLength(64);
    expect((ct ?? "").length % 32).toBe(0);
  });

  it("1.2 when a vault id is given; `default` stays 1.1 as in ansible", () => {
    expect(encryptVault("x", "pw", { vaultId: "prod" }).split("\n")[0]).toBe(
      "$ANSIBLE_VAULT;1.2;AES256;prod",
    );
    expect(encryptVault("x", "pw", { vaultId: "default" }).split("\n")[0]).toBe("$ANSIBLE_VAULT;1.1;AES256");
  });

  it("refuses a vault id that would break the header, and an empty password", () => {
    for (const id of ["", "a;b", "a b", "a\nb"])
      expect(() => encryptVault("x", "pw", { vaultId: id })).toThrow(InputError);
    expect(() => encryptVault("x", "")).toThrow(/empty vault password/);
  });

  it("round-trips every padding length and non-ASCII text, with a fresh salt each time", () => {
    for (const plaintext of ["", "a".repeat(15), "b".repeat(16), "c".repeat(17), "ключ: värde 🔑\n"]) {
      const text = encryptVault(plaintext, "pässwörd");
      expect(decryptVault(text, "pässwörd")).toEqual({ plaintext, version: "1.1", vaultId: undefined });
    }
    expect(encryptVault("same", "pw")).not.toBe(encryptVault("same", "pw"));
  });

  it("isVaultText tells vault files from plain ones", () => {
    expect(isVaultText(ANSIBLE_11)).toBe(true);
    expect(isVaultText("\uFEFF" + ANSIBLE_11)).toBe(true);
    expect(isVaultText("k3s_token: x\n")).toBe(false);
  });
});

describe("decryptVault rejects bad input with one clear line naming the file", () => {
  it("wrong password", () => {
    const err = errorOf(() => decryptVault(ANSIBLE_11, "not-it", "vault/vault.yaml"));
    expect(err.message).toBe(
      "vault/vault.yaml: wrong vault password, or the file was modified (HMAC mismatch)",
    );
    expect(err.exitCode).toBe(2);
    expect(err.fix).toBeUndefined();
  });

  it("one changed hex digit in the ciphertext: HMAC mismatch", () => {
    const tampered = tamperInner(ANSIBLE_11, (inner) => {
      const at = inner.length - 5;
      return inner.slice(0, at) + (inner[at] === "0" ? "1" : "0") + inner.slice(at + 1);
    });
    expect(errorOf(() => decryptVault(tampered, "fixture-pass", "v.yaml")).message).toMatch(
      /^v\.yaml: wrong vault password, or the file was modified/,
    );
  });

  it("every single changed byte of the body is rejected", () => {
    const lines = ANSIBLE_11.split("\n");
    const bodyStart = lines[0]!.length + 1;
    for (let i = bodyStart; i < ANSIBLE_11.length - 1; i += 7) {
      if (ANSIBLE_11[i] === "\n") continue;
      const changed = ANSIBLE_11.slice(0, i) + (ANSIBLE_11[i] === "a" ? "b" : "a") + ANSIBLE_11.slice(i + 1);
      expect(() => decryptVault(changed, "fixture-pass", "v.yaml"), `byte ${i}`).toThrow(
        /^v\.yaml: (wrong vault password|truncated or corrupt)/,
      );
    }
  });

  it("truncated: lines missing, cut mid-line, or no body at all", () => {
    const lines = ANSIBLE_11.trimEnd().split("\n");
    const cases = [
      lines.slice(0, -1).join("\n"),
      ANSIBLE_11.slice(0, 200),
      lines[0]!,
      lines.slice(0, 2).join("\n"),
    ];
    for (const text of cases) {
      expect(() => decryptVault(text, "fixture-pass", "v.yaml")).toThrow(
        /^v\.yaml: (truncated or corrupt vault body|wrong vault password)/,
      );
    }
    expect(errorOf(() => decryptVault(lines[0]!, "fixture-pass", "v.yaml")).message).toBe(
      "v.yaml: truncated or corrupt vault body (nothing after the header)",
    );
  });

  it("not hex", () => {
    expect(() => decryptVault(ANSIBLE_11.replace("3061", "zz61"), "fixture-pass", "v.yaml")).toThrow(
      /other than hex digits/,
    );
  });

  it("not a vault file at all", () => {
    const err = errorOf(() => decryptVault("k3s_token: abc\n", "pw", "inventory.yaml"));
    expect(err.message).toMatch(/^inventory\.yaml: not an ansible-vault file/);
    expect(err.exitCode).toBe(2);
  });

  it("unsupported version or cipher", () => {
    const body = ANSIBLE_11.slice(ANSIBLE_11.indexOf("\n"));
    expect(() => decryptVault("$ANSIBLE_VAULT;1.0;AES" + body, "pw", "old.yaml")).toThrow(
      /^old\.yaml: unsupported ansible-vault format version "1\.0"/,
    );
    expect(() => decryptVault("$ANSIBLE_VAULT;1.1;AES" + body, "pw", "old.yaml")).toThrow(
      /^old\.yaml: unsupported vault cipher "AES"/,
    );
  });
});
