/** The aligned-table renderer: units in headers, right-aligned numbers, totals row, missing values. */
import { describe, expect, it } from "vitest";
import { renderTable, type Column } from "../../src/ui/table.js";

interface Row {
  name: string;
  joules?: number;
  watts: number;
}

const columns: Array<Column<Row>> = [
  { header: "namespace", get: (r) => r.name },
  { header: "energy", unit: "J", decimals: 1, get: (r) => r.joules },
  { header: "power", unit: "W", get: (r) => r.watts },
];

describe("renderTable", () => {
  it("aligns text left and numbers right, with units, a rule and a totals row", () => {
    const text = renderTable(
      columns,
      [
        { name: "batch", joules: 11950, watts: 39.8333 },
        { name: "monitoring-long-name", joules: 5, watts: 0.0166 },
      ],
      { totals: { name: "total", joules: 11955, watts: 39.85 } },
    );
    expect(text.split("\n")).toEqual([
      "namespace             energy (J)  power (W)",
      "--------------------  ----------  ---------",
      "batch                    11950.0      39.83",
      "monitoring-long-name         5.0       0.02",
      "--------------------  ----------  ---------",
      "total                    11955.0      39.85",
    ]);
  });

  it("shows missing values as `-` and never prints -0", () => {
    const text = renderTable(columns, [{ name: "x", joules: undefined, watts: -1e-12 }]);
    expect(text.split("\n")[2]).toBe("x                   -       0.00");
  });
});
