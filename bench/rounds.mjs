import console from 'node:console';

import { readProcessCpuSeconds, sampleMaxResident } from './workloads.mjs';

/** Returns registries in the order of this round, so that neither always goes first. */
export function roundOrder(registries, round) {
  return round % 2 === 0 ? registries : [...registries].reverse();
}

/** Runs `measure(registry)` for every round on every registry and returns the figures by registry name. */
export async function runRounds(registries, rounds, label, measure) {
  const values = Object.fromEntries(registries.map((registry) => [registry.name, []]));

  for (let round = 0; round < rounds; round++) {
    for (const registry of roundOrder(registries, round)) {
      const value = await measure(registry, round);

      values[registry.name].push(value);
      console.log(`${label}, round ${round + 1}, ${registry.name}: ${value.toFixed(1)}`);
    }
  }

  return values;
}

/**
 * Wraps `measure` so that the resident memory of the registry is sampled while it runs. The maximum
 * per registry accumulates in `peaks`, in KiB.
 */
export function withMemorySampling(peaks, measure) {
  return async (registry, round) => {
    const stopSampling = sampleMaxResident(registry.pid);

    try {
      return await measure(registry, round);
    } finally {
      peaks[registry.name] = Math.max(peaks[registry.name] ?? 0, stopSampling());
    }
  };
}

/** Unit of CPU time rows: CPU seconds of the registry process per 10^9 bytes moved. */
export const cpuUnit = 'CPU s/GB';

/**
 * Runs `run()` and returns its result as `value`, and as `cpuPerGB` the CPU seconds that process
 * `pid` used meanwhile, per 10^9 of the `bytes` that the run moves.
 */
export async function measureCpuPerGB(pid, bytes, run) {
  const startSeconds = readProcessCpuSeconds(pid);
  const value = await run();

  return { value, cpuPerGB: (readProcessCpuSeconds(pid) - startSeconds) / (bytes / 1e9) };
}

/**
 * Wraps `measure` so that the CPU time the registry process uses while it runs is recorded in
 * `cpuByName`, by registry name, in seconds per 10^9 of the `bytes` that each call moves.
 */
export function withCpuMeasurement(cpuByName, bytes, measure) {
  return async (registry, round) => {
    const { value, cpuPerGB } = await measureCpuPerGB(registry.pid, bytes, () => measure(registry, round));

    cpuByName[registry.name] ??= [];
    cpuByName[registry.name].push(cpuPerGB);

    return value;
  };
}

/** Turns KiB figures by registry name into a table row in MiB. */
export function memoryRow(label, kibByName) {
  const values = Object.fromEntries(Object.entries(kibByName).map(([name, kib]) => [name, [kib / 1024]]));

  return { label, unit: 'MiB', values };
}

/** Returns the value at percentile `p` (0 to 100) of a non-empty list by the nearest-rank method. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));

  return sorted[rank - 1];
}
