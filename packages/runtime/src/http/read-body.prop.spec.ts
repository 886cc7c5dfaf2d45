import fc from 'fast-check';
import { expect, it } from 'vitest';
import { BodyCollector, readBodyUpTo } from './read-body.ts';

const chunking = fc.record({
  chunks: fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 }),
  limit: fc.integer({ min: 0, max: 4000 }),
  declared: fc.oneof(
    fc.constant(Number.NaN),
    fc.integer({ min: -1, max: 8000 }),
    fc.integer({ min: -1, max: 1 << 20 }),
  ),
});

const concatenated = (chunks: readonly Uint8Array[]): Uint8Array =>
  Uint8Array.from(chunks.flatMap((chunk) => [...chunk]));

it('keeps every byte up to the limit, in order, refusing from a declared length or the chunk that goes past it, in at most twice the room', () => {
  fc.assert(
    fc.property(chunking, ({ chunks, limit, declared }) => {
      const body = new BodyCollector(limit, declared);
      const firstRoom = body.bytes.buffer.byteLength;
      if (declared > limit) {
        // Refused by its declared length: nothing is kept, and the size that refused it stays the declared one.
        expect(body.tooLarge).toBe(declared);
        for (const chunk of chunks) expect(body.add(chunk)).toBe(false);
        expect(body.tooLarge).toBe(declared);
        expect(body.bytes.byteLength).toBe(0);
        return;
      }
      let received = 0;
      for (const [index, chunk] of chunks.entries()) {
        received += chunk.byteLength;
        const kept = body.add(chunk);
        expect(kept).toBe(received <= limit);
        expect(body.tooLarge).toBe(kept ? undefined : received);
        if (!kept) {
          expect(body.add(new Uint8Array(1))).toBe(false);
          expect(body.tooLarge).toBe(received);
          expect(concatenated(chunks.slice(0, index))).toEqual(
            new Uint8Array(body.bytes.buffer, 0, received - chunk.byteLength),
          );
          return;
        }
        expect(body.bytes).toEqual(concatenated(chunks.slice(0, index + 1)));
        expect(body.bytes.buffer.byteLength).toBeLessThanOrEqual(Math.max(firstRoom, 2 * received));
      }
      expect(firstRoom).toBeLessThanOrEqual(64 * 1024);
    }),
    { numRuns: 500 },
  );
});

it('reads a streamed body as the collector keeps it, or names the size at which it went past the limit', async () => {
  await fc.assert(
    fc.asyncProperty(chunking, async ({ chunks, limit }) => {
      const request = new Request('http://bot/webhook', {
        method: 'POST',
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(chunk);
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      const total = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
      const read = await readBodyUpTo(request, limit);
      if (total <= limit) {
        expect(read).toEqual({ body: concatenated(chunks) });
        return;
      }
      let crossed = 0;
      for (const chunk of chunks) {
        crossed += chunk.byteLength;
        if (crossed > limit) break;
      }
      expect(read).toEqual({ tooLarge: crossed });
    }),
    { numRuns: 200 },
  );
});
