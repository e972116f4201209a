import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { FactoryProvider } from '@nestjs/common';
import { collectDefaultMetrics, register } from 'prom-client';

import { defaultMetricsPrefix, metricNames, metricProviders } from './metric-definitions.js';
import { defaultRequestTallies } from './request-tallies.js';

interface Target {
  expr?: string;
}

interface Panel {
  type: string;
  title?: string;
  datasource?: { uid?: string };
  targets?: Target[];
}

interface Dashboard {
  templating: { list: Array<{ name: string; type: string; query?: unknown; definition?: string }> };
  panels: Panel[];
}

/**
 * Finds config/grafana-dashboard.json above the compiled spec, which sits at different depths in
 * dist-test and in other build directories.
 */
function dashboardPath(): string {
  let directory = dirname(fileURLToPath(import.meta.url));

  for (let level = 0; level < 5; level++) {
    const candidate = join(directory, 'config', 'grafana-dashboard.json');

    if (existsSync(candidate)) {
      return candidate;
    }

    directory = dirname(directory);
  }

  throw new Error('config/grafana-dashboard.json not found above the spec file');
}

/** Registers Wharf's metrics as the metrics module does and returns every series name they expose. */
function registeredSeriesNames(): Set<string> {
  for (const provider of metricProviders as FactoryProvider[]) {
    provider.useFactory(undefined, undefined);
  }

  defaultRequestTallies();

  if (register.getSingleMetric(`${defaultMetricsPrefix}process_cpu_seconds_total`) === undefined) {
    collectDefaultMetrics({ prefix: defaultMetricsPrefix });
  }

  const names = new Set<string>();

  for (const metric of register.getMetricsAsArray()) {
    const name = (metric as unknown as { name: string }).name;

    names.add(name);

    if ((metric as unknown as { type: string }).type === 'histogram') {
      names.add(`${name}_bucket`).add(`${name}_sum`).add(`${name}_count`);
    }
  }

  return names;
}

/** Metric names in a PromQL expression: Wharf's all start with the `wharf_` prefix. */
function metricNamesIn(expression: string): string[] {
  return [...expression.matchAll(/\bwharf_[a-z0-9_]+/g)].map((match) => match[0]);
}

describe('grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(dashboardPath(), 'utf8')) as Dashboard;
  const known = registeredSeriesNames();
  const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'row');

  it('has a Prometheus data source variable', () => {
    const variable = dashboard.templating.list.find((entry) => entry.type === 'datasource');

    assert.ok(variable, 'no datasource variable');
    assert.equal(variable.query, 'prometheus');
  });

  it('has panels with queries', () => {
    assert.ok(queryPanels.length >= 10, `only ${queryPanels.length} panels`);

    for (const panel of queryPanels) {
      assert.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" has no queries`);
      assert.equal(panel.datasource?.uid, '${datasource}', `panel "${panel.title}" ignores the variable`);
    }
  });

  it('queries only metrics Wharf registers', () => {
    for (const panel of queryPanels) {
      for (const target of panel.targets ?? []) {
        const names = metricNamesIn(target.expr ?? '');

        assert.ok(names.length > 0, `panel "${panel.title}" has a query without a Wharf metric`);

        for (const name of names) {
          assert.ok(known.has(name), `panel "${panel.title}" queries ${name}, which Wharf does not register`);
        }
      }
    }
  });

  it('builds variables from registered metrics', () => {
    for (const variable of dashboard.templating.list) {
      for (const name of metricNamesIn(variable.definition ?? '')) {
        assert.ok(known.has(name), `variable "${variable.name}" queries ${name}`);
      }
    }
  });

  it('shows every Wharf metric', () => {
    const queried = new Set(
      queryPanels.flatMap((panel) =>
        (panel.targets ?? []).flatMap((target) => metricNamesIn(target.expr ?? '')),
      ),
    );
    const missing = Object.values(metricNames).filter(
      (name) => name !== 'wharf_info' && ![...queried].some((series) => series.startsWith(name)),
    );

    assert.deepEqual(missing, []);
  });
});
