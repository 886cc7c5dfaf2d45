import {
  type Config,
  discardedMetrics,
  JsonLogger,
  loadConfig,
  type OpenBot,
  openBot,
} from '@prestabot/runtime';

export type EdgeEnvironment = {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The runtime's `waitUntil` where it exists (Supabase); without it, work just runs on. */
  readonly waitUntil?: (work: Promise<unknown>) => void;
  readonly write: (line: string) => void;
};

export type EdgeProblem = { readonly message: string };

/**
 * Opens the bot for an edge runtime: PostgreSQL is required (an isolate has no disk for PGlite), the
 * schema must already be migrated (by `prestabot migrate` from the Node side), and replies are sent right
 * after each webhook is stored, within the runtime's `waitUntil`. Reminders and retries belong to the Node
 * worker running beside it.
 */
export const openEdgeBot = async (
  environment: EdgeEnvironment,
): Promise<
  { readonly bot: OpenBot; readonly config: Config } | { readonly problems: readonly EdgeProblem[] }
> => {
  const loaded = loadConfig(environment.env);
  if (loaded.isErr()) return { problems: loaded.error };
  const config = loaded.value;
  if (config.databaseUrl === undefined)
    return {
      problems: [
        { message: 'DATABASE_URL is required at the edge: an isolate has no disk for the embedded database' },
      ],
    };
  const logger = new JsonLogger(config.logLevel, environment.write);
  const keepAlive = environment.waitUntil;
  const opened = await openBot(config, {
    owner: `edge:${crypto.randomUUID().slice(0, 8)}`,
    logger,
    // Prometheus scrapes the Node host, not an isolate.
    metrics: discardedMetrics,
    migrate: false,
    // Replies are leased after the commit, by sends that may never run if the isolate is suspended: left
    // unleased, a reply is the Node worker's at once, where one leased here would wait out its lease.
    slotsWhileProcessing: false,
    // A webhook costs one round trip before its 200: its messages are answered after the response.
    processWhileStoring: false,
    runAfterResponse: (work) => {
      const logged = work.catch((error: unknown) =>
        logger.error({ error: String(error) }, 'background work failed'),
      );
      if (keepAlive !== undefined) keepAlive(logged);
    },
  });
  if (opened.isErr()) return { problems: [{ message: opened.error.message }] };
  // Replies leave as soon as they are queued; whatever an isolate cannot finish, the Node worker takes over
  // once its lease runs out.
  opened.value.bot.outboxDispatcher.start();
  return { bot: opened.value, config };
};
