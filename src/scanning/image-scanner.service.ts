import { Transform } from 'node:stream';

import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Logger } from 'pino';

import { ActivityObserver } from '../common/activity-observer.js';
import { BlobTransfers } from '../common/blob-transfers.js';
import { Digest } from '../common/digest.js';
import { isArtifactManifest } from '../common/artifact-manifests.js';
import { ManifestHooks, type StoredManifest } from '../common/manifest-hooks.js';
import { isIndexMediaType } from '../common/media-types.js';
import { RootLogger } from '../common/root-logger.js';
import { WharfConfig } from '../config/config.schema.js';
import { parseSize } from '../config/units.js';
import { ContentReader } from '../distribution/services/content-reader.js';
import { ScanResultStore } from '../metadata/stores/scan-result.store.js';
import type { ImageInventory, LayerSource } from './inventory/inventory.js';
import { takeInventory } from './inventory/image-inventory.js';
import { languageCollectors } from './inventory/language-collectors.js';
import { osCollectors } from './inventory/os-collectors.js';
import { countBySeverity, highestSeverity, matchInventory, type Finding } from './matcher.js';
import { VulnerabilityDatabase } from './osv/vulnerability-database.service.js';
import { SbomPublisher } from './sbom/sbom-publisher.js';

/** The event that queued a scan. */
export type ScanReason = 'push' | 'cache' | 'database' | 'request' | 'backfill';

/** A scan waiting, running or just ended, as the admin API and `wharf scan` follow it. */
export interface ScanProgress {
  repository: string;
  digest: string;
  reason: ScanReason;
  state: 'queued' | 'scanning' | 'matching' | 'done' | 'failed' | 'skipped';
  layers: number;
  layersRead: number;
  bytes: number;
  bytesRead: number;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** The reason a scan failed or was skipped. */
  message: string | null;
}

/** The platform an image config names, for SBOM documents and listings. */
export interface ImagePlatform {
  os: string;
  architecture: string;
  variant?: string;
}

/** The inventory a scan stores besides the findings, with the platform it was taken for. */
export interface StoredInventory extends ImageInventory {
  platform: ImagePlatform | null;
  /** Problems of the last match, such as a version its ecosystem cannot read. */
  matchWarnings?: string[];
}

const imageConfigTypes = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);
const maxConfigBytes = 4 * 1024 * 1024;
const finishedKept = 200;
const rematchBatch = 100;
const backfillBatch = 100;
/**
 * A scan not requested through the API starts once no blob has been sent or received for this long,
 * so that a pull right after a push gets the CPU before the scan of what was pushed.
 */
const transferQuietMs = 500;
/** Maximum time such a scan waits for a quiet moment after it was queued, so that steady traffic never stops scans. */
const maxTransferWaitMs = 10_000;

/**
 * Scans images in the background: the inventory of each image manifest, read layer by layer through
 * the same reader pulls use, matched against the vulnerability database. Scans are queued on push,
 * on cache fill and on request. A database change matches the stored inventories again without
 * reading layers. `scanning.concurrency` scans run at once, and no push or pull waits for a scan to
 * finish.
 */
@Injectable()
export class ImageScanner implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly queue: ScanProgress[] = [];
  private readonly progress = new Map<string, ScanProgress>();
  private readonly listeners: ((digest: string) => void)[] = [];
  private running = 0;
  private stopped = false;
  private readonly shutdown = new AbortController();
  private rematching: Promise<void> | null = null;
  private rematchAgain = false;
  private backfilling = false;
  /** Set while the queue waits for blob transfers to pause before it starts the next scan. */
  private waitingForQuiet = false;
  /** Set when an image was left unqueued, so that a backfill pass must look for it. */
  private backfillAgain = false;
  private readonly maxFileBytes: number;

  constructor(
    @Inject(WharfConfig) private readonly config: WharfConfig,
    @Inject(ContentReader) private readonly reader: ContentReader,
    @Inject(ScanResultStore) private readonly results: ScanResultStore,
    @Inject(VulnerabilityDatabase) private readonly database: VulnerabilityDatabase,
    @Inject(ManifestHooks) private readonly hooks: ManifestHooks,
    @Inject(SbomPublisher) private readonly publisher: SbomPublisher,
    @Inject(ActivityObserver) private readonly activity: ActivityObserver,
    @Inject(BlobTransfers) private readonly transfers: BlobTransfers,
    @Inject(RootLogger) private readonly logger: Logger,
  ) {
    this.maxFileBytes = parseSize(config.scanning.maxFileSize) ?? 64 * 1024 * 1024;
  }

  get enabled(): boolean {
    return this.config.scanning.enabled;
  }

  onModuleInit(): void {
    if (!this.enabled) {
      return;
    }

    this.hooks.onStored((manifest) => this.onStored(manifest));
    this.database.onChange(() => this.rematchAll());
  }

  /**
   * Queues, a batch at a time, the images stored before scanning ran, such as during an upgrade, and
   * later those left unqueued while the queue was full.
   */
  onApplicationBootstrap(): void {
    if (this.enabled) {
      this.startBackfill();
    }
  }

  /** Stops queued scans and cuts running ones off at their next read, before the database closes. */
  onApplicationShutdown(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.shutdown.abort();
  }

  /** Calls `listener` with the digest of every scan that ends, so that cached policy results can be dropped. */
  onScanned(listener: (digest: string) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Queues a scan of an image manifest, or of each child of an index, unless one is already waiting
   * or running. Returns the progress entries of the images queued.
   */
  async request(repository: string, digest: string, reason: ScanReason): Promise<ScanProgress[]> {
    const manifest = await this.reader.manifest(repository, Digest.parse(digest));

    if (!isIndexMediaType(manifest.mediaType)) {
      return [this.enqueue(repository, digest, reason, reason === 'request')];
    }

    const children = childDigests(manifest.bytes ?? Buffer.alloc(0));

    return children.map((child) => this.enqueue(repository, child, reason, reason === 'request'));
  }

  /** Returns the progress of a queued, running or recently ended scan of an image in a repository. */
  status(repository: string, digest: string): ScanProgress | undefined {
    return this.progress.get(progressKey(repository, digest));
  }

  private onStored(manifest: StoredManifest): void {
    if (isIndexMediaType(manifest.mediaType)) {
      return;
    }

    // Beyond the limit the image waits in the database, unscanned, until a backfill pass queues it.
    // NOTE: backfill looks for digests without any scan, so an image whose digest another repository
    // had scanned gets no SBOM referrer of its own in this repository.
    if (this.queue.length >= this.config.scanning.queueLimit) {
      this.backfillAgain = true;

      return;
    }

    this.enqueue(manifest.repository, manifest.digest, manifest.origin);
  }

  /** Starts a backfill pass for the images left unqueued, once the queue has room for a batch. */
  private backfillLeftImages(): void {
    if (this.backfillAgain && this.queue.length < backfillBatch) {
      this.startBackfill();
    }
  }

  /** Runs a backfill pass, or another one after the pass in progress when images were left unqueued. */
  private startBackfill(): void {
    if (this.backfilling || this.stopped) {
      return;
    }

    this.backfilling = true;
    this.backfillAgain = false;

    void this.backfill()
      .catch((error: unknown) => this.logger.error({ err: error }, 'queueing unscanned images failed'))
      .finally(() => {
        this.backfilling = false;

        this.backfillLeftImages();
      });
  }

  private enqueue(repository: string, digest: string, reason: ScanReason, first = false): ScanProgress {
    // Scans are per repository, because each local repository gets its own SBOM referrers.
    const known = this.progress.get(progressKey(repository, digest));

    if (
      known !== undefined &&
      (known.state === 'queued' || known.state === 'scanning' || known.state === 'matching')
    ) {
      const index = this.queue.indexOf(known);

      // A request for an image already queued in the background moves it to the front, to start at once.
      if (first && index >= 0 && known.reason !== 'request') {
        this.queue.splice(index, 1);
        this.queue.unshift(known);
        known.reason = reason;
        this.drain();
      }

      return known;
    }

    const entry: ScanProgress = {
      repository,
      digest,
      reason,
      state: 'queued',
      layers: 0,
      layersRead: 0,
      bytes: 0,
      bytesRead: 0,
      queuedAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      message: null,
    };

    this.remember(entry);

    if (first) {
      this.queue.unshift(entry);
    } else {
      this.queue.push(entry);
    }

    this.drain();

    return entry;
  }

  private drain(): void {
    while (!this.stopped && this.running < this.config.scanning.concurrency && this.queue.length > 0) {
      if (!this.mayStart(this.queue[0])) {
        this.drainWhenQuiet(this.queue[0]);

        return;
      }

      const entry = this.queue.shift() as ScanProgress;

      this.running += 1;
      void this.run(entry).finally(() => {
        this.running -= 1;
        this.drain();

        this.backfillLeftImages();
      });
    }
  }

  /**
   * Returns whether a queued scan may start now: a requested one at once, others once blob transfers
   * have paused or the scan has waited `maxTransferWaitMs` since it was queued.
   */
  private mayStart(entry: ScanProgress): boolean {
    return (
      entry.reason === 'request' ||
      Date.now() - entry.queuedAt >= maxTransferWaitMs ||
      this.transfers.isQuiet(transferQuietMs)
    );
  }

  /** Drains the queue again once transfers pause or `entry` has waited long enough; one wait at a time. */
  private drainWhenQuiet(entry: ScanProgress): void {
    if (this.waitingForQuiet) {
      return;
    }

    this.waitingForQuiet = true;

    const remainingMs = Math.max(entry.queuedAt + maxTransferWaitMs - Date.now(), 0);

    void this.transfers.waitForQuiet(transferQuietMs, remainingMs, this.shutdown.signal).then(() => {
      this.waitingForQuiet = false;
      this.drain();
    });
  }

  private async run(entry: ScanProgress): Promise<void> {
    entry.state = 'scanning';
    entry.startedAt = Date.now();

    try {
      const outcome = await this.scan(entry);

      entry.state = outcome === 'skipped' ? 'skipped' : 'done';
    } catch (error) {
      entry.state = 'failed';
      entry.message = (error as Error).message;

      // A scan cut off by shutdown is no failure of the image: it is scanned again after the restart.
      if (this.stopped) {
        this.logger.warn(
          { repository: entry.repository, digest: entry.digest },
          'image scan stopped by shutdown',
        );

        return;
      }

      this.logger.warn(
        { repository: entry.repository, digest: entry.digest, err: error },
        'image scan failed',
      );
      await this.saveFailure(entry).catch((saveError: unknown) => {
        this.logger.error({ digest: entry.digest, err: saveError }, 'saving a failed scan failed');
      });
    } finally {
      entry.finishedAt = Date.now();

      const durationMs = entry.finishedAt - (entry.startedAt ?? entry.finishedAt);

      if (entry.state !== 'skipped') {
        this.activity.recordScan({
          result: entry.state === 'done' ? 'finished' : 'failed',
          reason: entry.reason,
          durationSeconds: durationMs / 1000,
        });
      }

      // The wait shows in the log, because a background scan waits for blob transfers to pause.
      if (entry.state === 'done') {
        this.logger.info(
          {
            repository: entry.repository,
            digest: entry.digest,
            reason: entry.reason,
            waitedMs: (entry.startedAt ?? entry.finishedAt) - entry.queuedAt,
            durationMs,
          },
          'image scanned',
        );
      }

      for (const listener of this.listeners) {
        listener(entry.digest);
      }
    }
  }

  /** Takes the inventory of one image and matches it; returns `skipped` for manifests that are no image. */
  private async scan(entry: ScanProgress): Promise<'done' | 'skipped'> {
    const digest = Digest.parse(entry.digest);
    const manifest = await this.reader.manifest(entry.repository, digest);
    const body = JSON.parse((manifest.bytes ?? Buffer.alloc(0)).toString('utf8')) as ImageManifestJson;

    if (isIndexMediaType(manifest.mediaType) || !imageConfigTypes.has(body.config?.mediaType ?? '')) {
      entry.message = 'not a container image: its config is not an image configuration';

      return 'skipped';
    }

    // cosign's signature and attestation manifests use an image config, but their layers are statements.
    if (isArtifactManifest(manifest.bytes)) {
      entry.message = 'not a container image: its layers are signatures or attestations';

      return 'skipped';
    }

    const { inventory: stored, inventoriedAt } = await this.inventoryOf(entry, body);

    entry.state = 'matching';
    await this.match(entry.digest, stored, inventoriedAt);
    await this.publisher
      .publish(
        entry.repository,
        { digest: entry.digest, mediaType: manifest.mediaType, size: manifest.size },
        stored,
      )
      .catch((error: unknown) => {
        this.logger.warn(
          { repository: entry.repository, digest: entry.digest, err: error },
          'SBOM not attached',
        );
      });

    return 'done';
  }

  /**
   * Returns the image's stored inventory, or takes it from the layers. A digest names the same bytes
   * forever, so an image pushed to another repository needs no second read; a scan requested by a
   * user reads the layers again, as the newest collectors would.
   */
  private async inventoryOf(
    entry: ScanProgress,
    body: ImageManifestJson,
  ): Promise<{ inventory: StoredInventory; inventoriedAt: number }> {
    const known = entry.reason === 'request' ? null : await this.results.get(entry.digest);

    if (known?.inventory != null) {
      return {
        inventory: JSON.parse(known.inventory) as StoredInventory,
        inventoriedAt: known.inventoriedAt ?? Date.now(),
      };
    }

    const platform = await this.platformOf(entry.repository, body.config?.digest);
    const layers = (body.layers ?? []).filter((layer) => (layer.urls ?? []).length === 0);

    entry.layers = layers.length;
    entry.bytes = layers.reduce((sum, layer) => sum + (layer.size ?? 0), 0);

    const inventory = await takeInventory(
      layers.map((layer) => this.layerSource(entry, layer)),
      [...osCollectors(), ...languageCollectors()],
      { maxFileBytes: this.maxFileBytes },
    );

    // The walker turns a layer cut off by shutdown into a warning, so the inventory would be partial.
    this.shutdown.signal.throwIfAborted();

    return { inventory: { ...inventory, platform }, inventoriedAt: Date.now() };
  }

  /** Matches an inventory against the database as it is now and stores the findings. */
  private async match(digest: string, inventory: StoredInventory, inventoriedAt: number): Promise<Finding[]> {
    const generation = this.database.generation();
    const { findings, warnings } = await matchInventory(inventory, (keys) =>
      this.database.candidatesFor(keys),
    );
    const stored: StoredInventory = { ...inventory, matchWarnings: warnings };

    await this.results.save({
      digest,
      status: 'done',
      inventory: JSON.stringify(stored),
      findings: JSON.stringify(findings),
      summary: JSON.stringify({ ...countBySeverity(findings), incomplete: !isComplete(stored) }),
      highest: highestSeverity(findings),
      error: null,
      databaseGeneration: generation,
      inventoriedAt,
      scannedAt: Date.now(),
      advisories: findings.flatMap((finding) => [finding.id, ...finding.aliases]),
    });

    return findings;
  }

  private async saveFailure(entry: ScanProgress): Promise<void> {
    await this.results.save({
      digest: entry.digest,
      status: 'failed',
      inventory: null,
      findings: '[]',
      summary: JSON.stringify(countBySeverity([])),
      highest: null,
      error: entry.message,
      databaseGeneration: this.database.generation(),
      inventoriedAt: null,
      scannedAt: Date.now(),
      advisories: [],
    });
  }

  /**
   * Matches every stored inventory again after the database changed, without reading layers. A change
   * during a pass starts one more pass when it ends.
   */
  private rematchAll(): void {
    if (this.rematching !== null) {
      this.rematchAgain = true;

      return;
    }

    this.rematching = this.rematchPass()
      .catch((error: unknown) => this.logger.error({ err: error }, 'matching images again failed'))
      .finally(() => {
        this.rematching = null;

        if (this.rematchAgain && !this.stopped) {
          this.rematchAgain = false;
          this.rematchAll();
        }
      });
  }

  private async backfill(): Promise<void> {
    let after = 0;
    let queued = 0;

    while (!this.stopped) {
      if (this.queue.length >= backfillBatch) {
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());

        continue;
      }

      const images = this.results.unscanned(after, backfillBatch);

      if (images.length === 0) {
        break;
      }

      for (const image of images) {
        this.enqueue(image.repository, image.digest, 'backfill');
      }

      queued += images.length;
      after = images[images.length - 1].id;
    }

    if (queued > 0) {
      this.logger.info({ images: queued }, 'queued unscanned images');
    }
  }

  private async rematchPass(): Promise<void> {
    let after = '';
    let images = 0;

    for (;;) {
      const digests = this.results.inventoried(after, rematchBatch);

      if (digests.length === 0 || this.stopped) {
        break;
      }

      for (const digest of digests) {
        const row = await this.results.get(digest);

        if (row?.inventory != null) {
          const startedAt = Date.now();

          await this.match(
            digest,
            JSON.parse(row.inventory) as StoredInventory,
            row.inventoriedAt ?? Date.now(),
          );
          this.activity.recordScan({
            result: 'finished',
            reason: 'database',
            durationSeconds: (Date.now() - startedAt) / 1000,
          });
          images += 1;

          for (const listener of this.listeners) {
            listener(digest);
          }
        }

        await new Promise((resolve) => setImmediate(resolve));
      }

      after = digests[digests.length - 1];
    }

    this.logger.info(
      { images, generation: this.database.generation() },
      'images matched against the changed vulnerability database',
    );
  }

  private async platformOf(
    repository: string,
    configDigest: string | undefined,
  ): Promise<ImagePlatform | null> {
    if (configDigest === undefined) {
      return null;
    }

    const config = JSON.parse(
      (await this.reader.blob(repository, Digest.parse(configDigest), maxConfigBytes)).toString('utf8'),
    ) as { os?: unknown; architecture?: unknown; variant?: unknown };

    if (typeof config.os !== 'string' || typeof config.architecture !== 'string') {
      return null;
    }

    return {
      os: config.os,
      architecture: config.architecture,
      ...(typeof config.variant === 'string' ? { variant: config.variant } : {}),
    };
  }

  /** Returns a layer source whose bytes count into the scan's progress as the walker reads them. */
  private layerSource(entry: ScanProgress, layer: LayerJson): LayerSource {
    return {
      digest: layer.digest,
      mediaType: layer.mediaType,
      size: layer.size ?? 0,
      open: async () => {
        this.shutdown.signal.throwIfAborted();

        const stream = await this.reader.openBlob(entry.repository, Digest.parse(layer.digest));
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            entry.bytesRead += chunk.length;
            callback(null, chunk);
          },
          flush(callback) {
            entry.layersRead += 1;
            callback();
          },
        });

        const stop = () => counter.destroy(new Error('Wharf is shutting down'));

        this.shutdown.signal.addEventListener('abort', stop, { once: true });
        stream.on('error', (error) => counter.destroy(error));
        counter.on('close', () => {
          this.shutdown.signal.removeEventListener('abort', stop);
          stream.destroy();
        });

        return stream.pipe(counter);
      },
    };
  }

  /** Keeps progress of queued and running scans, and of the last few that ended. */
  private remember(entry: ScanProgress): void {
    const key = progressKey(entry.repository, entry.digest);

    this.progress.delete(key);
    this.progress.set(key, entry);

    for (const [oldKey, known] of this.progress) {
      if (this.progress.size <= finishedKept + this.queue.length + this.running) {
        break;
      }

      if (known.finishedAt !== null) {
        this.progress.delete(oldKey);
      }
    }
  }
}

interface LayerJson {
  mediaType: string;
  digest: string;
  size?: number;
  urls?: string[];
}

interface ImageManifestJson {
  config?: { mediaType?: string; digest?: string };
  layers?: LayerJson[];
}

function childDigests(bytes: Buffer): string[] {
  const body = JSON.parse(bytes.toString('utf8')) as { manifests?: { digest?: unknown }[] };

  return (body.manifests ?? []).flatMap((child) => (typeof child.digest === 'string' ? [child.digest] : []));
}

function progressKey(repository: string, digest: string): string {
  return `${repository}@${digest}`;
}

/**
 * Tells whether every layer of an image was read. A warning about a whole layer (one that is not tar
 * or gzip, truncated, or unreadable) means its files are missing from the inventory, so the image's
 * findings may be incomplete; a warning about one file does not.
 */
export function isComplete(inventory: ImageInventory): boolean {
  return !inventory.warnings.some((warning) => warning.layer !== undefined && warning.path === undefined);
}
