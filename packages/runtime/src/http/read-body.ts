export type BodyRead = { readonly body: Uint8Array } | { readonly tooLarge: number };

/** Reads a request body up to `limit` bytes; a larger one is refused without reading the rest. */
export const readBodyUpTo = async (request: Request, limit: number): Promise<BodyRead> => {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await request.body?.cancel().catch(() => undefined);
    return { tooLarge: declared };
  }
  if (request.body === null) return { body: new Uint8Array() };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return { tooLarge: size };
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return { body: chunks[0]! };
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { body };
};
