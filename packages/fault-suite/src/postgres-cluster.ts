import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeLoopbackPort } from '@prestabot/fake-graph';
import pg from 'pg';

const run = promisify(execFile);

/**
 * A PostgreSQL server of the suite's own, in a temporary directory: restarting it mid-run (the
 * "database restarted" scenario) disturbs no other database on the machine.
 */
export type PostgresCluster = {
  /** `postgres://…/name` on this server. */
  readonly urlOf: (database: string) => string;
  readonly createDatabase: (name: string) => Promise<string>;
  /** A crash and restart: `pg_ctl restart -m immediate` (no checkpoint, recovery from WAL). */
  readonly restart: () => Promise<void>;
  readonly stop: () => Promise<void>;
};

/** The newest server binaries on the machine: `PRESTABOT_PG_BIN`, else /usr/lib/postgresql/<major>/bin. */
const binariesDir = (): string => {
  const configured = process.env.PRESTABOT_PG_BIN;
  if (configured !== undefined && configured !== '') return configured;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+$/.test(name))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = majors[0];
  if (newest === undefined)
    throw new Error(`no PostgreSQL server binaries under ${root}; set PRESTABOT_PG_BIN to their directory`);
  return join(root, newest, 'bin');
};

/** PostgreSQL refuses to run as root: as root, the server's own commands run as the `postgres` user. */
const asServerUser = (command: string, args: readonly string[]): [string, string[]] =>
  process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, [...args]];

export const startPostgresCluster = async (): Promise<PostgresCluster> => {
  const bin = binariesDir();
  const dataDir = mkdtempSync(join(tmpdir(), 'prestabot-faults-pg-'));
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dataDir]);
  const port = await freeLoopbackPort();
  const serverCommand = async (command: string, args: readonly string[]) => {
    const [file, fileArgs] = asServerUser(join(bin, command), args);
    await run(file, fileArgs, { maxBuffer: 16 * 1024 * 1024 });
  };
  await serverCommand('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  // fsync off: an immediate restart loses nothing while the machine itself stays up, and the suite
  // measures the bot's recovery, not the disk.
  const options = [
    `-p ${port}`,
    `-k ${dataDir}`,
    '-c listen_addresses=127.0.0.1',
    '-c max_connections=400',
    '-c fsync=off',
  ].join(' ');
  const pgCtl = (action: readonly string[]) =>
    serverCommand('pg_ctl', ['-D', dataDir, '-w', '-t', '60', '-l', join(dataDir, 'server.log'), ...action]);
  await pgCtl(['-o', options, 'start']);
  const serverUrl = `postgres://postgres@127.0.0.1:${port}`;
  const urlOf = (database: string) => `${serverUrl}/${database}`;
  return {
    urlOf,
    createDatabase: async (name) => {
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return urlOf(name);
    },
    restart: () => pgCtl(['-m', 'immediate', '-o', options, 'restart']),
    stop: async () => {
      await pgCtl(['-m', 'immediate', 'stop']).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};
