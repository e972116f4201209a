import type { FileCollector, FileFindings, LayerFile } from './inventory.js';
import { goCollector } from './languages/go.js';
import { javaCollector } from './languages/java.js';
import { npmCollector } from './languages/npm.js';
import { pythonCollector } from './languages/python.js';
import { rustCollector } from './languages/rust.js';
import { errorMessage } from './read-bounded.js';

/**
 * Returns the collectors of language packages: npm, Python, Go, Java (Maven) and Rust (Cargo). Each
 * reports bad content as warnings. An unexpected error inside one is turned into a warning as well,
 * so one odd file never stops the scan of a layer. No file is wanted by two of them.
 */
export function languageCollectors(): FileCollector[] {
  return [npmCollector(), pythonCollector(), goCollector(), javaCollector(), rustCollector()].map(
    reportingErrors,
  );
}

/** Wraps a collector so that an error thrown by `collect` becomes a warning on the file. */
function reportingErrors(collector: FileCollector): FileCollector {
  return {
    name: collector.name,
    wants: (path, size, mode) => collector.wants(path, size, mode),
    collect: async (file: LayerFile, maxBytes: number): Promise<FileFindings> => {
      try {
        return await collector.collect(file, maxBytes);
      } catch (error) {
        return {
          packages: [],
          warnings: [`${file.path}: the ${collector.name} collector failed: ${errorMessage(error)}`],
        };
      }
    },
  };
}
