import { log, logCommandError } from './log.mjs';
import { parseDatabaseUrl, quoteIdent, withClient } from './pg-adapter.mjs';

/**
 * Maps a pg connection error to the Prisma error code and message the native engine would print.
 *
 * @param {any} error
 * @param {import('pg').ClientConfig} config
 * @returns {{ code: string | undefined, message: string }}
 */
function describeConnectionError(error, config) {
  const host = config.host ?? 'localhost';
  const port = config.port ?? 5432;
  switch (error?.code) {
    case '3D000':
      return {
        code: 'P1003',
        message: `Database \`${config.database}\` does not exist on the database server at \`${host}:${port}\`.`,
      };
    case '28P01':
    case '28000':
      return {
        code: 'P1000',
        message: `Authentication failed against database server at \`${host}\`, the provided database credentials for \`${config.user}\` are not valid.`,
      };
    case '42501':
      return {
        code: 'P1010',
        message: `User \`${config.user}\` was denied access on the database \`${config.database}\``,
      };
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
      return {
        code: 'P1001',
        message: `Can't reach database server at \`${host}:${port}\`\n\nPlease make sure your database server is running at \`${host}:${port}\`.`,
      };
    default:
      return { code: undefined, message: String(error?.message ?? error) };
  }
}

/**
 * Connects to the server's maintenance database (`postgres`, then `template1`) to create or drop
 * the database named in the URL.
 *
 * @param {import('pg').ClientConfig} config
 * @param {(client: import('pg').Client) => Promise<unknown>} fn
 */
async function withMaintenanceClient(config, fn) {
  try {
    return await withClient({ ...config, database: 'postgres' }, fn);
  } catch (error) {
    if (error?.code !== '3D000') throw error;
    return withClient({ ...config, database: 'template1' }, fn);
  }
}

/**
 * Runs one of the native engine's one-shot `cli` commands. Resolves to the process exit code.
 * The CLI drops the first stderr line and parses every other one as a JSON log record.
 *
 * @param {string} command `can-connect-to-database`, `create-database` or `drop-database`
 * @param {{ url?: string }} datasource
 * @returns {Promise<number>}
 */
export async function runCliCommand(command, datasource) {
  log('INFO', `Starting schema engine CLI command ${command}`);
  if (!datasource.url) {
    logCommandError('No datasource URL given (--datasource {"url": ...}).', undefined);
    return 1;
  }
  const { config } = parseDatabaseUrl(datasource.url);
  try {
    switch (command) {
      case 'can-connect-to-database':
        await withClient(config, (c) => c.query('SELECT 1'));
        log('INFO', 'Connection successful');
        return 0;
      case 'create-database':
        await withMaintenanceClient(config, (c) =>
          c.query(`CREATE DATABASE ${quoteIdent(String(config.database))}`),
        );
        log('INFO', `Database '${config.database}' was successfully created.`);
        return 0;
      case 'drop-database':
        await withMaintenanceClient(config, (c) =>
          c.query(`DROP DATABASE ${quoteIdent(String(config.database))}`),
        );
        log('INFO', 'The database was successfully dropped.');
        return 0;
      default:
        logCommandError(`Unknown cli command: ${command}`, undefined);
        return 1;
    }
  } catch (error) {
    const { code, message } = describeConnectionError(error, config);
    logCommandError(message, code);
    return 1;
  }
}
