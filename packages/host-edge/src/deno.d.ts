// The few Deno and Supabase Edge Runtime globals this host uses; the code is type-checked by tsc, run by Deno.

declare const Deno: {
  readonly env: { toObject(): Record<string, string> };
  serve(
    options: {
      readonly port: number;
      readonly hostname?: string;
      readonly onListen?: (address: { readonly hostname: string; readonly port: number }) => void;
    },
    handler: (request: Request) => Promise<Response>,
  ): { readonly finished: Promise<void>; shutdown(): Promise<void> };
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code: number): never;
};

/** Supabase Edge Functions: keeps the isolate alive for work that outlives the response. */
declare const EdgeRuntime: { waitUntil(work: Promise<unknown>): void } | undefined;
