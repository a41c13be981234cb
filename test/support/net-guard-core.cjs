"use strict";
/**
 * The network guard's policy and its hooks into Node, in plain CommonJS so that one implementation serves
 * both places it runs (issue 16 item 15):
 *  - in vitest's worker, loaded by test/support/net-guard.ts (the setupFile), which names the test and
 *    fails it;
 *  - in every Node child process a test starts with the worker's environment (the CLI under tsx, above
 *    all), preloaded through NODE_OPTIONS=--require, which net-guard.ts sets. A child has no vitest: it
 *    refuses the same way, names the test from NET_GUARD_TEST, and appends the refusal to
 *    NET_GUARD_LOG, which the worker reads after each test.
 *
 * Allowed: loopback (127.0.0.0/8, ::1, IPv4-mapped forms too), the name `localhost`, unix sockets, and the
 * networks listed in NET_GUARD_ALLOW (comma-separated CIDRs: the lab's, in the lab projects).
 * Any other host name is refused unresolved: what it resolves to depends on the machine, not the test.
 */
const dgram = require("node:dgram");
const fs = require("node:fs");
const net = require("node:net");

const DOCUMENTATION_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"];

class NetGuardError extends Error {
  constructor(refusal) {
    super(
      `net-guard: ${refusal.test} opened a ${refusal.protocol} connection to ${refusal.target}, outside ` +
        `loopback and the lab's networks. Point it at 127.0.0.1; a test that means an unreachable outside ` +
        `address uses a documentation range (${DOCUMENTATION_RANGES.join(", ")}) and asserts takeRefusals() ` +
        `(test/support/net-guard.ts).`,
    );
    this.name = "NetGuardError";
    this.code = "ENETGUARD";
    this.refusal = refusal;
  }
}

function blockList(cidrs) {
  const list = new net.BlockList();
  list.addSubnet("127.0.0.0", 8, "ipv4");
  list.addAddress("::1", "ipv6");
  for (const cidr of cidrs) {
    const [addr, len] = cidr.split("/");
    list.addSubnet(addr, Number(len), net.isIPv6(addr) ? "ipv6" : "ipv4");
  }
  return list;
}

/**
 * One state per process, on globalThis: the worker imports net-guard.ts once per test file, a child may
 * be preloaded and imported both, while `node:net` and its patched prototype stay the same.
 */
const KEY = Symbol.for("powerstack.test.netGuard");
const state = (globalThis[KEY] ??= {
  cidrs: [],
  allowed: blockList([]),
  /** Who opened the connection, as the refusal names it. */
  who: () => (process.env.NET_GUARD_TEST || `a child process (${process.argv.slice(1).join(" ")})`),
  /** Where a refusal goes besides the socket's error. */
  record: (refusal) => {
    const log = process.env.NET_GUARD_LOG;
    if (log) fs.appendFileSync(log, JSON.stringify(refusal) + "\n");
  },
});

function allow(cidrs) {
  state.cidrs = [...cidrs];
  state.allowed = blockList(cidrs);
}

function allowed(host) {
  if (host === "localhost") return true;
  const family = net.isIP(host);
  if (family === 0) return false;
  return state.allowed.check(host, family === 6 ? "ipv6" : "ipv4");
}

function refuse(protocol, host, port) {
  const target = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  const refusal = { protocol, host, port, target, test: state.who() };
  state.record(refusal);
  return new NetGuardError(refusal);
}

/** Where a `Socket#connect` call goes, in every form Node accepts (net.connect passes [options, cb]). */
function tcpTarget(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === "object" && first !== null) {
    if (first.path) return { path: first.path };
    return { host: first.host || "localhost", port: Number(first.port) };
  }
  if (typeof first === "string" && !/^\d+$/.test(first)) return { path: first };
  return { host: typeof args[1] === "string" && args[1] ? args[1] : "localhost", port: Number(first) };
}

const PATCHED = Symbol.for("powerstack.test.netGuard.patched");

/**
 * Every TCP client in Node ends in `net.Socket.prototype.connect`: net.connect, http/https Agents,
 * tls.connect, http2, ssh2, and the global fetch (Node's bundled undici calls net.connect).
 */
function patchNet() {
  const proto = net.Socket.prototype;
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  const connect = proto.connect;
  proto.connect = function guardedConnect(...args) {
    const to = tcpTarget(args);
    if (to.path !== undefined || allowed(to.host)) return connect.apply(this, args);
    const err = refuse("tcp", to.host, to.port);
    // Fail as an unreachable host does (asynchronously, 'error' then 'close'): callers take their ordinary
    // error path and report it, instead of meeting a throw from deep inside a library.
    process.nextTick(() => this.destroy(err));
    return this;
  };
}

function patchDgram() {
  const proto = dgram.Socket.prototype;
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  const loopbackOf = (s) => (s.type === "udp6" ? "::1" : "127.0.0.1");
  const fail = (s, err, cb) => process.nextTick(() => (typeof cb === "function" ? cb(err) : s.emit("error", err)));

  const send = proto.send;
  proto.send = function guardedSend(...args) {
    // send(msg, offset, length, port, address?, cb?) or send(msg, port, address?, cb?); a connected socket
    // sends without a port (its address was checked at connect).
    const long = typeof args[2] === "number";
    const port = args[long ? 3 : 1];
    const address = args[long ? 4 : 2];
    if (typeof port === "number") {
      const host = typeof address === "string" && address ? address : loopbackOf(this);
      if (!allowed(host)) return fail(this, refuse("udp", host, port), args.find((a) => typeof a === "function"));
    }
    return send.apply(this, args);
  };

  const udpConnect = proto.connect;
  proto.connect = function guardedConnect(port, address, cb) {
    const host = typeof address === "string" && address ? address : loopbackOf(this);
    if (!allowed(host)) return fail(this, refuse("udp", host, Number(port)), cb ?? address);
    return udpConnect.apply(this, arguments);
  };
}

patchNet();
patchDgram();
allow((process.env.NET_GUARD_ALLOW || "").split(",").filter(Boolean));

module.exports = { state, allow, NetGuardError, DOCUMENTATION_RANGES };
