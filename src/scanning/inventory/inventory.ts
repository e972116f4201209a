import type { Readable } from 'node:stream';

/** The package managers and language ecosystems an inventory reads; each one also gives the purl type. */
export type PackageType = 'dpkg' | 'apk' | 'rpm' | 'npm' | 'pypi' | 'golang' | 'maven' | 'cargo';

/** A package as one file lists it, before the image's operating system is known. */
export interface FoundPackage {
  type: PackageType;
  name: string;
  version: string;
  /** The source package it was built from, which Debian advisories name; OS packages only. */
  sourceName?: string;
  sourceVersion?: string;
  architecture?: string;
  /** Package URL; OS packages get theirs once the distribution is known. */
  purl?: string;
  licenses?: string[];
}

/** The result of reading one file: packages, and problems that did not stop the rest of the scan. */
export interface FileFindings {
  packages: FoundPackage[];
  warnings: string[];
  /**
   * Absolute paths that an OS package manager installed, from an OS package's file list (dpkg's
   * `info/*.list`, apk's installed database). A language package whose metadata file has one of
   * these paths is left out of the inventory, because the OS package's advisories cover it.
   */
  ownedPaths?: string[];
}

/** A regular file of a layer, handed to the collector that asked for it. */
export interface LayerFile {
  /** Absolute, normalized path inside the image, such as `/usr/lib/node_modules/npm/package.json`. */
  path: string;
  size: number;
  /** Permission bits, such as 0o755. */
  mode: number;
  /** The file's bytes; the collector may stop reading early, and the walker drains what is left. */
  content: Readable;
}

/**
 * Reads packages out of the files it recognizes. The layer walker asks `wants` for each regular file
 * of each layer and calls `collect` for those wanted, one at a time.
 */
export interface FileCollector {
  /** Short name used in warnings, such as `npm` or `go`. */
  readonly name: string;

  wants(path: string, size: number, mode: number): boolean;

  /** Reads the file; it must not keep more than `maxBytes` of it in memory at once. */
  collect(file: LayerFile, maxBytes: number): Promise<FileFindings>;
}

/** The operating system, from `/etc/os-release` (or `/usr/lib/os-release`) of the final file system. */
export interface OperatingSystem {
  /** `ID`, such as `debian`, `alpine` or `rocky`. */
  id: string;
  /** `VERSION_ID`, such as `12` or `3.19.1`; null when the file has none (Debian testing). */
  versionId: string | null;
  prettyName: string | null;
}

/** One package of an image, as stored and matched. */
export interface ImagePackage {
  type: PackageType;
  name: string;
  version: string;
  /**
   * The OSV ecosystem advisories for it are filed under, such as `Debian:12`, `Alpine:v3.19`, `npm`,
   * `PyPI`, `Go`, `Maven` or `crates.io`; null when it cannot be known (an OS package in an image
   * without a readable os-release).
   */
  ecosystem: string | null;
  sourceName?: string;
  sourceVersion?: string;
  architecture?: string;
  purl: string;
  licenses?: string[];
  /** The file that listed it, in the image's final file system. */
  location: string;
  /** Digest of the layer that last wrote that file. */
  layer: string;
}

/** A problem found while taking an inventory; the inventory of the rest went on. */
export interface InventoryWarning {
  /** Digest of the layer it concerns, when it concerns one. */
  layer?: string;
  /** The path inside the image it concerns, when it concerns one. */
  path?: string;
  reason: string;
}

/** Everything an image contains that advisories can name. */
export interface ImageInventory {
  os: OperatingSystem | null;
  packages: ImagePackage[];
  warnings: InventoryWarning[];
  /**
   * Number of language packages left out because an OS package installed their metadata file;
   * absent when none was. Advisories of the OS package's source package apply to them instead.
   */
  osOwnedLanguagePackages?: number;
}

/** A layer to read: its digest, media type and a way to open its (possibly compressed) bytes. */
export interface LayerSource {
  digest: string;
  mediaType: string;
  size: number;
  open(): Promise<Readable>;
}
