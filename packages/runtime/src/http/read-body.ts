export type BodyRead = { readonly body: Uint8Array } | { readonly tooLarge: number };

/** Room taken at first for a body of a declared length: more only as its bytes arrive. */
const firstCapacityCap = 64 * 1024;

/**
 * A request body's bytes gathered into one buffer, grown by doubling, up to `limit`. Kept chunk by chunk,
 * a body sent a byte at a time held an object per byte: hundreds of megabytes for 3 MB on one connection.
 * A declared length sizes the first buffer, never beyond 64 KiB, so a header alone reserves little; one
 * over the limit refuses the body before a byte of it comes.
 */
export class BodyCollector {
  readonly #limit: number;
  #bytes: Uint8Array;
  #size = 0;
  #tooLarge: number | undefined;

  constructor(limit: number, declaredLength = 0) {
    this.#limit = limit;
    const expected = Number.isFinite(declaredLength) ? Math.max(0, declaredLength) : 0;
    if (expected > limit) this.#tooLarge = expected;
    this.#bytes = new Uint8Array(this.#tooLarge === undefined ? Math.min(expected, firstCapacityCap) : 0);
  }

  /**
   * The size that refused the body: its declared length, or the bytes received up to the chunk that went
   * past the limit. `undefined` while it is within it.
   */
  get tooLarge(): number | undefined {
    return this.#tooLarge;
  }

  get bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#size);
  }

  /** Keeps a chunk; `false`, keeping nothing more, once the body is refused. */
  add(chunk: Uint8Array): boolean {
    if (this.#tooLarge !== undefined) return false;
    const size = this.#size + chunk.byteLength;
    if (size > this.#limit) {
      this.#tooLarge = size;
      return false;
    }
    if (size > this.#bytes.byteLength) {
      const grown = new Uint8Array(Math.min(this.#limit, Math.max(size, this.#bytes.byteLength * 2)));
      grown.set(this.bytes);
      this.#bytes = grown;
    }
    this.#bytes.set(chunk, this.#size);
    this.#size = size;
    return true;
  }
}

/** Reads a request body up to `limit` bytes; a larger one is refused without reading the rest. */
export const readBodyUpTo = async (request: Request, limit: number): Promise<BodyRead> => {
  const body = new BodyCollector(limit, Number(request.headers.get('content-length') ?? Number.NaN));
  const reader = request.body?.getReader();
  if (reader !== undefined && body.tooLarge === undefined) {
    let read = await reader.read();
    while (!read.done && body.add(read.value)) read = await reader.read();
  }
  if (body.tooLarge === undefined) return { body: body.bytes };
  await reader?.cancel().catch(() => undefined);
  return { tooLarge: body.tooLarge };
};
