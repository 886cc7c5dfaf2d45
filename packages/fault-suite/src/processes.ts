import { type ChildProcess, spawn } from 'node:child_process';

/** The last this many characters of a process's output are kept, for the report of a failed run. */
const keptOutput = 64 * 1024;

/** A child process of the suite: started, killed with SIGKILL (a crash), started again. */
export type ManagedProcess = {
  readonly name: string;
  /** Starts it and resolves once its output matches `ready` (at once without one). */
  readonly start: () => Promise<void>;
  /** kill -9: no chance to finish anything. Resolves once it is gone. */
  readonly crash: () => Promise<void>;
  /** SIGTERM, SIGKILL after 10 s. */
  readonly stop: () => Promise<void>;
  readonly output: () => string;
  /** The first line of its output that matches, if any (across restarts). */
  readonly find: (pattern: RegExp) => string | undefined;
};

export const managedProcess = (
  name: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  ready?: RegExp,
): ManagedProcess => {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-keptOutput);
  };
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const signal = async (how: NodeJS.Signals, graceMs: number) => {
    if (!alive()) return;
    child!.kill(how);
    const killer = setTimeout(() => child?.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(killer);
  };
  return {
    name,
    output: () => output,
    find: (pattern) => output.split('\n').find((line) => pattern.test(line)),
    start: () =>
      new Promise((resolve, reject) => {
        const started = spawn(process.execPath, [...args], {
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child = started;
        exited = new Promise((done) => started.once('exit', () => done()));
        let sinceStart = '';
        const timer = setTimeout(
          () => reject(new Error(`${name} did not start in 60 s:\n${output}`)),
          60_000,
        );
        const onData = (chunk: Buffer) => {
          append(chunk);
          sinceStart = (sinceStart + chunk.toString()).slice(-4096);
          if (ready === undefined || ready.test(sinceStart)) {
            clearTimeout(timer);
            resolve();
          }
        };
        started.stdout?.on('data', onData);
        started.stderr?.on('data', onData);
        started.once('exit', (code, how) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code ?? how}) while starting:\n${output}`));
        });
        if (ready === undefined) {
          clearTimeout(timer);
          resolve();
        }
      }),
    crash: () => signal('SIGKILL', 0),
    stop: () => signal('SIGTERM', 10_000),
  };
};
