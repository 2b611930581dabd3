import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/** A running {@link watchFiles}. */
export interface FileWatch {
  /** Runs the check now (after any running one); resolves when it is done. */
  check(): Promise<void>;
  /** Stops watching. */
  close(): void;
}

/**
 * Runs `check` whenever one of `paths` may have changed, one run at a time. The directories are
 * watched, not the files, so atomic replacements (editors, Kubernetes ConfigMaps and Secrets,
 * cert-manager) are seen; `check` re-reads and compares, as events also fire for no change.
 */
export function watchFiles(
  paths: readonly string[],
  check: () => Promise<void>,
  onError: (error: Error) => void,
): FileWatch {
  let chain: Promise<void> = Promise.resolve();
  const run = () => (chain = chain.then(check));
  const names = new Set(paths.map((path) => basename(path)));
  const watchers = [...new Set(paths.map((path) => dirname(path)))].map((dir) =>
    watch(dir, (_event, changed) => {
      if (changed === null || names.has(changed) || changed.startsWith('..')) void run();
    }).on('error', onError),
  );
  return {
    check: run,
    close() {
      for (const watcher of watchers) watcher.close();
    },
  };
}
