import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';

import { PullRefusedByPolicyError } from '../common/domain-errors.js';
import { globToPattern } from '../common/glob.js';
import { ManifestHooks, type ServedManifest } from '../common/manifest-hooks.js';
import { isIndexMediaType } from '../common/media-types.js';
import { RootLogger } from '../common/root-logger.js';
import { type ScanPolicyRule, WharfConfig } from '../config/config.schema.js';
import { ScanResultStore } from '../metadata/stores/scan-result.store.js';
import { ImageScanner } from './image-scanner.service.js';
import { atOrAbove, type Finding } from './matcher.js';
import type { SeverityLevel } from './osv/severity.js';

/** The advisory ids and severity of one finding, as the policy checks them. */
interface FindingKey {
  ids: string[];
  severity: SeverityLevel;
}

/** The facts of an image's last scan that the policy reads. */
interface ScanFacts {
  findings: FindingKey[];
  /** True when a layer could not be read, so that findings may be missing. */
  incomplete: boolean;
}

const cachedImages = 10_000;

/**
 * Refuses pulls of images that have findings at or above the severity of the first policy whose
 * repository glob matches, unless the allowlist names the advisory or one of its aliases. Indexes pass,
 * so that a client can still choose a platform, and each image it then pulls is judged. An image not
 * scanned yet passes: the policy judges findings, and an unscanned image has none on record.
 */
@Injectable()
export class PullPolicy implements OnModuleInit {
  private readonly rules: { pattern: RegExp; rule: ScanPolicyRule }[];
  /** Scan facts of recently pulled images, by digest; forgotten when the image is scanned again. */
  private readonly facts = new Map<string, ScanFacts>();

  constructor(
    @Inject(WharfConfig) config: WharfConfig,
    @Inject(ManifestHooks) private readonly hooks: ManifestHooks,
    @Inject(ScanResultStore) private readonly results: ScanResultStore,
    @Inject(ImageScanner) private readonly scanner: ImageScanner,
    @Inject(RootLogger) private readonly logger: Logger,
  ) {
    this.rules = config.scanning.policies.map((rule) => ({
      pattern: globToPattern(rule.repositories),
      rule,
    }));
  }

  onModuleInit(): void {
    if (this.rules.length === 0) {
      return;
    }

    if (!this.scanner.enabled) {
      this.logger.warn(
        { policies: this.rules.length },
        'scanning.policies are set but scanning.enabled is false, so no image gets findings and every pull passes',
      );
    }

    this.hooks.addPullCheck((manifest) => this.check(manifest));
    this.scanner.onScanned((digest) => this.facts.delete(digest));
  }

  /** Throws PullRefusedByPolicyError when the first matching rule refuses the image. */
  check(manifest: ServedManifest): void {
    const rule = this.rules.find((entry) => entry.pattern.test(manifest.repository))?.rule;

    if (rule === undefined || isIndexMediaType(manifest.mediaType)) {
      return;
    }

    const facts = this.factsOf(manifest.digest);
    const allowed = new Set(rule.allow);
    const blocking = facts.findings.filter(
      (finding) => atOrAbove(finding.severity, rule.severity) && !finding.ids.some((id) => allowed.has(id)),
    );
    const where = { repository: manifest.repository, digest: manifest.digest, requestId: manifest.requestId };

    if (blocking.length > 0) {
      const advisories = [...new Set(blocking.map((finding) => finding.ids[0]))];

      this.logger.warn({ ...where, severity: rule.severity, advisories }, 'pull refused by scan policy');

      throw PullRefusedByPolicyError.forFindings(
        manifest.repository,
        manifest.digest,
        rule.severity,
        advisories,
      );
    }

    if (facts.incomplete && !rule.allowIncomplete) {
      this.logger.warn({ ...where, incomplete: true }, 'pull refused by scan policy');

      throw PullRefusedByPolicyError.forIncompleteScan(manifest.repository, manifest.digest);
    }
  }

  private factsOf(digest: string): ScanFacts {
    const cached = this.facts.get(digest);

    if (cached !== undefined) {
      return cached;
    }

    const row = this.results.findingsOf(digest);
    const facts: ScanFacts =
      row === undefined
        ? { findings: [], incomplete: false }
        : {
            findings: (JSON.parse(row.findings) as Finding[]).map((finding) => ({
              ids: [finding.id, ...finding.aliases],
              severity: finding.severity,
            })),
            incomplete: (JSON.parse(row.summary) as { incomplete?: boolean }).incomplete === true,
          };

    if (this.facts.size >= cachedImages) {
      this.facts.delete(this.facts.keys().next().value as string);
    }

    this.facts.set(digest, facts);

    return facts;
  }
}
