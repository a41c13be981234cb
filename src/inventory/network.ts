/** IPv4 arithmetic for inventory checks (internal IP inside the NFS network). */

export function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (ipv4ToInt(base!) & mask) >>> 0 === (ipv4ToInt(ip) & mask) >>> 0;
}

/** Kubernetes quantity to bytes, for comparing a PVC request with its PV. */
export function quantityToBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?$/.exec(q);
  if (!m) return NaN;
  const unit = m[2] ?? "";
  const pow: Record<string, number> = {
    "": 1,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
  };
  return Number(m[1]) * pow[unit]!;
}
