/** Timers a process waits on: the host's, or manual ones tests move by hand. */
export type Timers = {
  readonly setTimeout: (callback: () => void, delayMs: number) => unknown;
  readonly clearTimeout: (handle: unknown) => void;
};
