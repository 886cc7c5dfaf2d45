import { type ChildProcess, spawn } from 'node:child_process';

export type StartedHost = {
  readonly url: string;
  /** Everything the process wrote, for failure messages. */
  readonly output: () => string;
  /** SIGTERM, then waits for a graceful exit (SIGKILL after 15 s). */
  readonly stop: () => Promise<number | null>;
  /** SIGKILL: a crash, with no chance to finish anything. */
  readonly kill: () => Promise<void>;
};

/** What a host does with a deployment's environment: start, and say where it listens. */
export type HostUnderTest = {
  readonly name: string;
  readonly start: (env: Readonly<Record<string, string>>) => Promise<StartedHost>;
};

const listeningPattern = /listening on (https?:\/\/[^\s"]+)/;

/**
 * Starts a host as a real process and resolves once it logs the URL it listens on (or, for a process
 * without HTTP, once `ready` matches; its URL is then empty).
 */
export const spawnHost = (
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  ready: RegExp = listeningPattern,
): Promise<StartedHost> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(command, [...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let started = false;
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not start within 90 s:\n${output}`));
    }, 90_000);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match === null || started) return;
      const url = match[1] ?? '';
      started = true;
      clearTimeout(timer);
      resolve({
        url,
        output: () => output,
        kill: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGKILL');
          await exited;
        },
        stop: async () => {
          if (child.exitCode !== null) return child.exitCode;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          const code = await exited;
          clearTimeout(killer);
          return code;
        },
      });
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    void exited.then((code) => {
      if (started) return;
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before listening:\n${output}`));
    });
  });
