import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { captureChildLogLine } from './logs.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A subgraph running in a process of its own (for crash and scale-out tests). */
export interface SubgraphProcess {
  /** Its GraphQL URL, from its "subgraph listening" log line. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code or signal once the process ended. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `subgraphs/<name>/src/index.ts` in a child process with `env` (see
 * `Platform.processEnv`) on a free port, and resolves once it listens.
 */
export async function spawnSubgraphProcess(
  name: string,
  env: Record<string, string>,
  options: {
    readonly startTimeoutMs?: number;
    /** Modules to preload after tsx (`--import`), e.g. `@courier/server/tracing-preload`. */
    readonly preload?: readonly string[];
    /** Extra Node.js flags, e.g. `--cpu-prof` (which `NODE_OPTIONS` refuses). */
    readonly nodeArgs?: readonly string[];
  } = {},
): Promise<SubgraphProcess> {
  const imports = ['tsx', ...(options.preload ?? [])].flatMap((module) => ['--import', module]);
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), ...imports, `subgraphs/${name}/src/index.ts`],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...env,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: process.env['TEST_LOG_FILE'] ? 'debug' : 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} process did not start in time: ${stderr}`));
    }, options.startTimeoutMs ?? 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      captureChildLogLine(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'subgraph listening' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        return;
      }
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`${name} process exited (${String(how)}) before listening: ${stderr}`));
    });
  });
  return {
    url,
    child,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
