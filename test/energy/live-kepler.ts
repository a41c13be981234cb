/**
 * The stand-in Kepler (live-exporter.ts) with a real Prometheus scraping it every 250 ms, as `measure`'s
 * tests need it: started, scraped once, and a few seconds of samples piled up for an idle baseline.
 */
import { startExporter, type LiveExporter } from "./live-exporter.js";
import { startPrometheus, type RunningPrometheus } from "./prometheus-harness.js";

export interface LiveKepler {
  exporter: LiveExporter;
  prom: RunningPrometheus;
}

export async function startLiveKepler(): Promise<LiveKepler> {
  const exporter = await startExporter();
  let prom: RunningPrometheus;
  try {
    prom = await startPrometheus({
      config: [
        "global: { scrape_interval: 250ms, scrape_timeout: 200ms }",
        "scrape_configs:",
        "  - job_name: kepler",
        `    static_configs: [{ targets: ["${exporter.url.replace("http://", "")}"] }]`,
        "",
      ].join("\n"),
    });
  } catch (err) {
    await exporter.close(); // the caller never sees it, so cannot close it
    throw err;
  }
  // The idle baseline is the window just before the command: let a few seconds of samples pile up.
  await exporter.firstScrape;
  await new Promise((r) => setTimeout(r, 3_000));
  return { exporter, prom };
}
