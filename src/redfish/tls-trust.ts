/**
 * Which certificates a BMC may present. BMCs ship self-signed certificates, so the choice is per BMC:
 * pin a CA (or the BMC's own certificate) with `ca_file`, or explicitly accept anything with
 * `insecure: true`. Neither set means the system's CA store, which a factory certificate never passes.
 */
import { readFileSync } from "node:fs";
import type { AgentOptions } from "node:https";
import { InputError } from "../errors.js";

export interface TlsTrust {
  insecure: boolean;
  /** PEM file holding one or more CA certificates (or the BMC's self-signed certificate). */
  caFile?: string;
}

export function tlsAgentOptions(trust: TlsTrust, where: string): AgentOptions {
  if (trust.caFile) {
    let ca: string;
    try {
      ca = readFileSync(trust.caFile, "utf8");
    } catch (err) {
      throw new InputError(
        `${where}: cannot read ca_file ${trust.caFile}: ${(err as Error).message}`,
        "point `ca_file` at a readable PEM file (the BMC's CA or its exported certificate)",
      );
    }
    if (!ca.includes("-----BEGIN CERTIFICATE-----")) {
      throw new InputError(
        `${where}: ca_file ${trust.caFile} holds no PEM certificate`,
        "export the BMC certificate (or its CA) in PEM format, the text starting `-----BEGIN CERTIFICATE-----`",
      );
    }
    // The pinned CA replaces the system store for this BMC: a BMC is trusted for what the operator pinned.
    return { ca, rejectUnauthorized: true };
  }
  return { rejectUnauthorized: !trust.insecure };
}

/** Node's codes for a certificate that failed verification (as opposed to a broken connection). */
const CERT_ERROR_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

export function isCertificateError(code: string | undefined): boolean {
  return code !== undefined && CERT_ERROR_CODES.has(code);
}

/** The fix for a rejected certificate depends on why it was rejected. */
export function certificateFix(code: string | undefined, trust: TlsTrust): string {
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return "the certificate does not name this address: use the address the certificate was issued for in `bmc.address`, regenerate the BMC certificate with this address in its subjectAltName, or set `insecure: true`";
  }
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
    return "renew the BMC certificate (or check the BMC's clock), or set `insecure: true` for this BMC";
  }
  if (trust.caFile) {
    return `the certificate is not signed by the CA in ca_file ${trust.caFile}: export the BMC's current certificate (or its CA) to that file`;
  }
  return "set `ca_file` to the BMC's CA or exported certificate (PEM), or `insecure: true` to accept a self-signed certificate";
}
