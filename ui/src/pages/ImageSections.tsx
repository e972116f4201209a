import type { ComponentChildren } from 'preact';

import type { Descriptor, HistoryEntry, ImageConfig } from '../api';
import { RelativeTime } from '../components/RelativeTime';
import { formatBytes, formatCount, formatPlatform, shortDigest } from '../format';

/** Sections of the image page: configuration, layers, build history and annotations. */

export function ImageConfigSection({ config }: { config: ImageConfig }) {
  return (
    <section aria-labelledby="config-title">
      <h2 id="config-title">Configuration</h2>
      {config.parsed ? <ParsedConfig config={config} /> : <UnparsedConfig config={config} />}
    </section>
  );
}

function UnparsedConfig({ config }: { config: ImageConfig }) {
  return (
    <>
      <p class="muted">This config is not an image configuration, so there is nothing to run.</p>
      <dl class="details">
        <Detail term="Media type">
          <code>{config.mediaType}</code>
        </Detail>
        <Detail term="Digest">
          <code class="digest">{config.digest}</code>
        </Detail>
        <Detail term="Size">
          <span data-value={config.size}>{formatBytes(config.size)}</span>
        </Detail>
      </dl>
    </>
  );
}

function ParsedConfig({ config }: { config: ImageConfig }) {
  const platform =
    config.os && config.architecture
      ? formatPlatform({ os: config.os, architecture: config.architecture, variant: config.variant })
      : null;

  return (
    <>
      <dl class="details">
        <Detail term="Platform">{platform ?? <Missing />}</Detail>
        <Detail term="Created">
          <RelativeTime value={config.created} />
        </Detail>
        <Detail term="Author">{config.author ?? <Missing />}</Detail>
        <Detail term="Entrypoint">
          <CommandWords words={config.entrypoint} />
        </Detail>
        <Detail term="Command">
          <CommandWords words={config.cmd} />
        </Detail>
        <Detail term="Working directory">
          {config.workingDir ? <code>{config.workingDir}</code> : <Missing />}
        </Detail>
        <Detail term="User">{config.user ? <code>{config.user}</code> : <Missing />}</Detail>
        <Detail term="Exposed ports">
          {config.exposedPorts.length > 0 ? <code>{config.exposedPorts.join(', ')}</code> : <Missing />}
        </Detail>
        <Detail term="Environment" wide>
          {config.env.length > 0 ? (
            <ul class="plain-list code-list">
              {config.env.map((variable) => (
                <li key={variable}>
                  <code>{variable}</code>
                </li>
              ))}
            </ul>
          ) : (
            <Missing />
          )}
        </Detail>
      </dl>
      {Object.keys(config.labels).length > 0 && (
        <>
          <h3>Labels</h3>
          <Annotations values={config.labels} label="Labels" />
        </>
      )}
    </>
  );
}

function Detail({
  term,
  wide = false,
  children,
}: {
  term: string;
  wide?: boolean;
  children: ComponentChildren;
}) {
  return (
    <div class={wide ? 'detail-wide' : undefined}>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function Missing() {
  return <span class="muted">—</span>;
}

/** An entrypoint or command in the exec form of a Dockerfile, which shows word boundaries exactly. */
function CommandWords({ words }: { words: string[] | null }) {
  return words && words.length > 0 ? <code class="wrap">{JSON.stringify(words)}</code> : <Missing />;
}

export function LayersSection({ layers }: { layers: Descriptor[] }) {
  const total = layers.reduce((sum, layer) => sum + layer.size, 0);

  return (
    <section aria-labelledby="layers-title">
      <h2 id="layers-title">Layers</h2>
      {layers.length === 0 ? (
        <p class="muted">This manifest has no layers.</p>
      ) : (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Layer list">
          <table class="table">
            <thead>
              <tr>
                <th scope="col" class="numeric">
                  #
                </th>
                <th scope="col">Digest</th>
                <th scope="col">Media type</th>
                <th scope="col" class="numeric">
                  Size
                </th>
              </tr>
            </thead>
            <tbody>
              {layers.map((layer, index) => (
                <tr key={`${index}-${layer.digest}`}>
                  <td class="numeric">{index + 1}</td>
                  <DescriptorCells descriptor={layer} />
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row" colSpan={3}>
                  Total of {formatCount(layers.length)} {layers.length === 1 ? 'layer' : 'layers'}
                </th>
                <td class="numeric" data-value={total}>
                  {formatBytes(total)}
                </td>
              </tr>
            </tfoot>
          </table>
        </div>
      )}
    </section>
  );
}

export function HistorySection({ history }: { history: HistoryEntry[] }) {
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <div class="table-scroll" tabIndex={0} role="region" aria-label="Build history">
        <table class="table history">
          <thead>
            <tr>
              <th scope="col" class="numeric">
                #
              </th>
              <th scope="col">Created by</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {history.map((step, index) => (
              <tr key={index}>
                <td class="numeric">{index + 1}</td>
                <td>
                  {step.createdBy ? <code class="wrap">{step.createdBy}</code> : <Missing />}
                  {step.emptyLayer && <span class="badge badge-quiet">empty layer</span>}
                  {step.comment && <div class="muted">{step.comment}</div>}
                </td>
                <td class="nowrap">
                  <RelativeTime value={step.created} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Lists annotations or labels, whose keys are long reverse-DNS names, in a key and value table. */
export function Annotations({ values, label }: { values: Record<string, string>; label: string }) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label={label}>
      <table class="table key-values">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(values).map(([key, value]) => (
            <tr key={key}>
              <th scope="row">
                <code>{key}</code>
              </th>
              <td class="wrap">{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Renders the digest, media type and size cells of a table row about a layer or a child manifest. */
export function DescriptorCells({
  descriptor,
}: {
  descriptor: { digest: string; mediaType: string; size: number };
}) {
  return (
    <>
      <td>
        <code class="digest" title={descriptor.digest}>
          {shortDigest(descriptor.digest)}
        </code>
      </td>
      <td>
        <code class="media-type">{descriptor.mediaType}</code>
      </td>
      <td class="numeric" data-value={descriptor.size}>
        {formatBytes(descriptor.size)}
      </td>
    </>
  );
}
