/**
 * Throwaway TLS material for the Redfish test server, made by openssl at test time: a self-signed
 * certificate like the one a BMC ships with (so only `insecure` or pinning it as `ca_file` trusts it).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCert {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  remove(): void;
}

/** `subjectAltName` decides which address the certificate is valid for (default: 127.0.0.1). */
export function makeSelfSignedCert(commonName = "XCC-7X06-TEST", subjectAltName = "IP:127.0.0.1"): TestCert {
  const dir = mkdtempSync(join(tmpdir(), "powerstack-redfish-cert-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "2",
      "-subj",
      `/CN=${commonName}`,
      "-addext",
      `subjectAltName=${subjectAltName}`,
    ],
    { stdio: "pipe" },
  );
  return {
    dir,
    certFile,
    keyFile,
    cert: readFileSync(certFile, "utf8"),
    key: readFileSync(keyFile, "utf8"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
