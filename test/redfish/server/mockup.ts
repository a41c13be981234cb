/**
 * The resources of the test BMC, shaped after the DMTF Redfish schema (ServiceRoot, ComputerSystem,
 * Chassis, Power / PowerSubsystem / EnvironmentMetrics, Manager, ManagerNetworkProtocol, SessionService)
 * and the DMTF "public-rackmount1" mockup ids (`437XR1138R2`, `1U`, `BMC`: deliberately not `1`), with
 * Lenovo XCC habits: 16 sessions, etags on settings, a chassis list holding more than the server.
 *
 * Resources are rendered from mutable state on every GET, so a reset or a PATCH shows at once.
 */
export type PowerModel = "Power" | "PowerSubsystem" | "EnvironmentMetrics" | "none";

export interface MockupOptions {
  systemId: string;
  /** The server's own chassis; a second, power-less chassis (`Riser1`) is listed before it. */
  chassisId: string;
  managerId: string;
  redfishVersion: string;
  /** One model, or several at once (a BMC offering both the old `Power` and the newer resources). */
  powerModel: PowerModel | PowerModel[];
  /** A different reading per model while on (else `wattsOn` everywhere): shows which source won. */
  wattsBy?: Partial<Record<Exclude<PowerModel, "none">, number>>;
  /** Further computer systems listed after `systemId` (a multi-node BMC or enclosure manager). */
  extraSystems?: string[];
  /** Reading while on. A string tests lenient parsing (`"245.5"`), as some firmware sends. */
  wattsOn: number | string;
  /** Standby draw while off. */
  wattsOff: number;
  resetTypes: string[];
  /** Advertise `Links.Sessions` in the service root (a BMC without sessions has none). */
  sessions: boolean;
}

export const DEFAULT_MOCKUP: MockupOptions = {
  systemId: "437XR1138R2",
  chassisId: "1U",
  managerId: "BMC",
  redfishVersion: "1.15.0",
  powerModel: "Power",
  wattsOn: 245,
  wattsOff: 9,
  // XCC's list for ComputerSystem.Reset.
  resetTypes: ["On", "Nmi", "GracefulShutdown", "GracefulRestart", "ForceOn", "ForceOff", "ForceRestart"],
  sessions: true,
};

export interface MockupState {
  powerState: "On" | "Off" | "PoweringOn" | "PoweringOff";
  ipmiEnabled: boolean;
  /** Per-resource version, the source of etags; bumped on every change. */
  versions: Map<string, number>;
  sessions: Map<string, { id: string; token: string; user: string }>;
}

export const V1 = "/redfish/v1";

export class Mockup {
  readonly paths: {
    systems: string;
    system: string;
    reset: string;
    chassisCollection: string;
    chassis: string;
    riser: string;
    power: string;
    powerSubsystem: string;
    powerSupplies: string;
    environmentMetrics: string;
    managers: string;
    manager: string;
    networkProtocol: string;
    sessionService: string;
    sessions: string;
  };

  constructor(
    readonly opts: MockupOptions,
    readonly state: MockupState,
  ) {
    const system = `${V1}/Systems/${opts.systemId}`;
    const chassis = `${V1}/Chassis/${opts.chassisId}`;
    const manager = `${V1}/Managers/${opts.managerId}`;
    this.paths = {
      systems: `${V1}/Systems`,
      system,
      reset: `${system}/Actions/ComputerSystem.Reset`,
      chassisCollection: `${V1}/Chassis`,
      chassis,
      riser: `${V1}/Chassis/Riser1`,
      power: `${chassis}/Power`,
      powerSubsystem: `${chassis}/PowerSubsystem`,
      powerSupplies: `${chassis}/PowerSubsystem/PowerSupplies`,
      environmentMetrics: `${chassis}/EnvironmentMetrics`,
      managers: `${V1}/Managers`,
      manager,
      networkProtocol: `${manager}/NetworkProtocol`,
      sessionService: `${V1}/SessionService`,
      sessions: `${V1}/SessionService/Sessions`,
    };
  }

  has(model: PowerModel): boolean {
    const m = this.opts.powerModel;
    return Array.isArray(m) ? m.includes(model) : m === model;
  }

  /** The reading a model shows: `wattsBy[model]` while on, else the common reading. */
  wattsOf(model: Exclude<PowerModel, "none">): number | string {
    if (this.state.powerState === "Off") return this.opts.wattsOff;
    return this.opts.wattsBy?.[model] ?? this.opts.wattsOn;
  }

  etag(path: string): string {
    return `W/"${this.state.versions.get(path) ?? 1}"`;
  }

  bump(path: string): void {
    this.state.versions.set(path, (this.state.versions.get(path) ?? 1) + 1);
  }

  /** The resource at `path`, or undefined for 404. */
  render(path: string): Record<string, unknown> | undefined {
    const p = this.paths;
    const o = this.opts;
    const link = (id: string) => ({ "@odata.id": id });
    const collection = (type: string, id: string, name: string, members: string[]) => ({
      "@odata.type": `#${type}.${type}`,
      "@odata.id": id,
      Name: name,
      "Members@odata.count": members.length,
      Members: members.map(link),
    });
    const watts = this.state.powerState === "Off" ? o.wattsOff : o.wattsOn;
    const numericWatts = typeof watts === "number" ? watts : Number(watts);

    switch (path) {
      case V1:
        return {
          "@odata.type": "#ServiceRoot.v1_11_0.ServiceRoot",
          "@odata.id": `${V1}/`,
          Id: "RootService",
          Name: "Root Service",
          RedfishVersion: o.redfishVersion,
          UUID: "92384634-2938-2342-8820-489239905423",
          Vendor: "Lenovo",
          Systems: link(p.systems),
          Chassis: link(p.chassisCollection),
          Managers: link(p.managers),
          ...(o.sessions
            ? { SessionService: link(p.sessionService), Links: { Sessions: link(p.sessions) } }
            : { Links: {} }),
        };
      case p.systems:
        return collection("ComputerSystemCollection", p.systems, "Computer System Collection", [
          p.system,
          ...(o.extraSystems ?? []).map((id) => `${p.systems}/${id}`),
        ]);
      case p.system:
        return {
          "@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
          "@odata.id": p.system,
          "@odata.etag": this.etag(p.system),
          Id: o.systemId,
          Name: "ThinkSystem SR650",
          SystemType: "Physical",
          Manufacturer: "Lenovo",
          Model: "7X06CTO1WW",
          PowerState: this.state.powerState,
          Status: { State: "Enabled", Health: "OK" },
          Links: { Chassis: [link(p.chassis)], ManagedBy: [link(p.manager)] },
          Actions: {
            "#ComputerSystem.Reset": {
              target: p.reset,
              title: "Reset",
              "ResetType@Redfish.AllowableValues": o.resetTypes,
            },
          },
        };
      case p.chassisCollection:
        // The riser first: a client that takes the first chassis reads no power.
        return collection("ChassisCollection", p.chassisCollection, "Chassis Collection", [
          p.riser,
          p.chassis,
        ]);
      case p.riser:
        return {
          "@odata.type": "#Chassis.v1_15_0.Chassis",
          "@odata.id": p.riser,
          Id: "Riser1",
          Name: "PCIe Riser 1",
          ChassisType: "Card",
          Links: { ContainedBy: link(p.chassis) },
        };
      case p.chassis:
        return {
          "@odata.type": "#Chassis.v1_15_0.Chassis",
          "@odata.id": p.chassis,
          "@odata.etag": this.etag(p.chassis),
          Id: o.chassisId,
          Name: "Computer System Chassis",
          ChassisType: "RackMount",
          PowerState: this.state.powerState,
          ...(this.has("Power") ? { Power: link(p.power) } : {}),
          ...(this.has("PowerSubsystem") ? { PowerSubsystem: link(p.powerSubsystem) } : {}),
          ...(this.has("EnvironmentMetrics") ? { EnvironmentMetrics: link(p.environmentMetrics) } : {}),
          Links: { ComputerSystems: [link(p.system)], ManagedBy: [link(p.manager)] },
        };
      case p.power:
        if (!this.has("Power")) return undefined;
        return {
          "@odata.type": "#Power.v1_6_0.Power",
          "@odata.id": p.power,
          Id: "Power",
          Name: "Power",
          PowerControl: [
            {
              "@odata.id": `${p.power}#/PowerControl/0`,
              MemberId: "0",
              Name: "Server Power Control",
              PowerConsumedWatts: this.wattsOf("Power"),
              PowerCapacityWatts: 1100,
              PowerMetrics: {
                IntervalInMin: 60,
                AverageConsumedWatts: numericWatts,
                MinConsumedWatts: 0,
                MaxConsumedWatts: 320,
              },
              RelatedItem: [link(p.system), link(p.chassis)],
            },
          ],
          // A real XCC sends decimals where the old schema said integer (REFERENCE.md).
          Voltages: [
            {
              "@odata.id": `${p.power}#/Voltages/0`,
              MemberId: "0",
              Name: "CMOS Battery",
              ReadingVolts: 3.07,
            },
          ],
        };
      case p.powerSubsystem:
        if (!this.has("PowerSubsystem")) return undefined;
        return {
          "@odata.type": "#PowerSubsystem.v1_1_0.PowerSubsystem",
          "@odata.id": p.powerSubsystem,
          Id: "PowerSubsystem",
          Name: "Power Subsystem",
          CapacityWatts: 1100,
          PowerSupplies: link(p.powerSupplies),
        };
      case p.powerSupplies:
        if (!this.has("PowerSubsystem")) return undefined;
        return collection("PowerSupplyCollection", p.powerSupplies, "Power Supplies", [
          `${p.powerSupplies}/PSU1`,
          `${p.powerSupplies}/PSU2`,
        ]);
      case `${p.powerSupplies}/PSU1`:
      case `${p.powerSupplies}/PSU2`:
        if (!this.has("PowerSubsystem")) return undefined;
        return {
          "@odata.type": "#PowerSupply.v1_5_0.PowerSupply",
          "@odata.id": path,
          Id: path.endsWith("1") ? "PSU1" : "PSU2",
          Name: "Power Supply",
          Metrics: link(`${path}/Metrics`),
        };
      case `${p.powerSupplies}/PSU1/Metrics`:
      case `${p.powerSupplies}/PSU2/Metrics`:
        if (!this.has("PowerSubsystem")) return undefined;
        // Split the draw over the two supplies: 40% / 60%, so a client that reads only one is visibly wrong.
        return {
          "@odata.type": "#PowerSupplyMetrics.v1_1_0.PowerSupplyMetrics",
          "@odata.id": path,
          Id: "Metrics",
          Name: "Power Supply Metrics",
          InputPowerWatts: {
            Reading: Number(this.wattsOf("PowerSubsystem")) * (path.includes("PSU1") ? 0.4 : 0.6),
            DataSourceUri: "",
          },
        };
      case p.environmentMetrics:
        if (!this.has("EnvironmentMetrics")) return undefined;
        return {
          "@odata.type": "#EnvironmentMetrics.v1_3_0.EnvironmentMetrics",
          "@odata.id": p.environmentMetrics,
          Id: "EnvironmentMetrics",
          Name: "Chassis Environment Metrics",
          PowerWatts: { Reading: this.wattsOf("EnvironmentMetrics"), DataSourceUri: "" },
        };
      case p.managers:
        return collection("ManagerCollection", p.managers, "Manager Collection", [p.manager]);
      case p.manager:
        return {
          "@odata.type": "#Manager.v1_10_0.Manager",
          "@odata.id": p.manager,
          Id: o.managerId,
          Name: "Manager",
          ManagerType: "BMC",
          FirmwareVersion: "CDI3A4E 9.90",
          NetworkProtocol: link(p.networkProtocol),
          Links: { ManagerForServers: [link(p.system)], ManagerForChassis: [link(p.chassis)] },
        };
      case p.networkProtocol:
        return {
          "@odata.type": "#ManagerNetworkProtocol.v1_5_0.ManagerNetworkProtocol",
          "@odata.id": p.networkProtocol,
          "@odata.etag": this.etag(p.networkProtocol),
          Id: "NetworkProtocol",
          Name: "Manager Network Protocol",
          HTTPS: { ProtocolEnabled: true, Port: 443 },
          SSH: { ProtocolEnabled: true, Port: 22 },
          IPMI: { ProtocolEnabled: this.state.ipmiEnabled, Port: 623 },
        };
      case p.sessionService:
        if (!o.sessions) return undefined;
        return {
          "@odata.type": "#SessionService.v1_1_8.SessionService",
          "@odata.id": p.sessionService,
          Id: "SessionService",
          Name: "Session Service",
          ServiceEnabled: true,
          SessionTimeout: 1800,
          Sessions: link(p.sessions),
        };
      case p.sessions:
        if (!o.sessions) return undefined;
        return collection(
          "SessionCollection",
          p.sessions,
          "Session Collection",
          [...this.state.sessions.keys()].map((id) => `${p.sessions}/${id}`),
        );
      default: {
        const extra = (o.extraSystems ?? []).find((id) => path === `${p.systems}/${id}`);
        if (extra) {
          // Another server behind the same BMC: its own id, serial and chassis link, no power of ours.
          return {
            ...this.render(p.system),
            "@odata.id": path,
            Id: extra,
            SerialNumber: `SN-${extra}`,
            Links: { ManagedBy: [link(p.manager)] },
          };
        }
        const prefix = `${p.sessions}/`;
        const session = path.startsWith(prefix)
          ? this.state.sessions.get(path.slice(prefix.length))
          : undefined;
        if (!session) return undefined;
        return {
          "@odata.type": "#Session.v1_3_0.Session",
          "@odata.id": path,
          Id: session.id,
          Name: "User Session",
          UserName: session.user,
        };
      }
    }
  }
}

/** A Redfish error body, as DMTF's Base message registry shapes it. */
export function errorBody(messageId: string, message: string, resolution = "None."): Record<string, unknown> {
  return {
    error: {
      code: `Base.1.8.${messageId}`,
      message,
      "@Message.ExtendedInfo": [
        {
          "@odata.type": "#Message.v1_1_1.Message",
          MessageId: `Base.1.8.${messageId}`,
          Message: message,
          Severity: "Critical",
          Resolution: resolution,
        },
      ],
    },
  };
}
