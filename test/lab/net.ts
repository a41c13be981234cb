/**
 * The lab network: a switch namespace `labsw` with bridge `br0` (10.77.0.1/24), one namespace per node
 * joined to it by a veth pair, and no route anywhere else. A guard route in the root namespace makes
 * 10.77.0.0/24 unreachable from the host's own interfaces, so no lab packet can leave the machine.
 */
import { BRIDGE, GATEWAY_IP, PREFIX_LEN, SUBNET, SWITCH_NS, nodeNetns, switchVeth } from "./config.js";
import { run } from "./exec.js";
import type { StateFile } from "./state.js";

const ip = (...args: string[]) => run("ip", args);

export async function addGuardRoute(st: StateFile): Promise<void> {
  st.add({ kind: "route", dest: SUBNET });
  await ip("route", "replace", "unreachable", SUBNET);
}

/** The switch, with the relay addresses (10.77.0.1 and one more per extra mirror host). */
export async function createSwitch(st: StateFile, relayIps: string[]): Promise<void> {
  st.add({ kind: "netns", name: SWITCH_NS });
  await ip("netns", "add", SWITCH_NS);
  await ip("-n", SWITCH_NS, "link", "set", "lo", "up");
  await ip("-n", SWITCH_NS, "link", "add", BRIDGE, "type", "bridge");
  for (const addr of [GATEWAY_IP, ...relayIps.filter((a) => a !== GATEWAY_IP)]) {
    await ip("-n", SWITCH_NS, "addr", "add", `${addr}/${PREFIX_LEN}`, "dev", BRIDGE);
  }
  await ip("-n", SWITCH_NS, "link", "set", BRIDGE, "up");
}

/** The node's namespace, `eth0` with its address, the other end of the pair on the bridge. */
export async function createNodeNet(st: StateFile, name: string, addr: string): Promise<void> {
  const ns = nodeNetns(name);
  st.add({ kind: "netns", name: ns });
  await ip("netns", "add", ns);
  st.add({ kind: "veth", netns: SWITCH_NS, name: switchVeth(name) });
  await ip(
    "-n",
    SWITCH_NS,
    "link",
    "add",
    switchVeth(name),
    "type",
    "veth",
    "peer",
    "name",
    "eth0",
    "netns",
    ns,
  );
  await ip("-n", SWITCH_NS, "link", "set", switchVeth(name), "master", BRIDGE, "up");
  await ip("-n", ns, "link", "set", "lo", "up");
  await ip("-n", ns, "addr", "add", `${addr}/${PREFIX_LEN}`, "dev", "eth0");
  await ip("-n", ns, "link", "set", "eth0", "up");
}
