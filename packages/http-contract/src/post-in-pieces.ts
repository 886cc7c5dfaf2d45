import { request } from 'node:http';

/**
 * A POST by `node:http`'s client, its body written 64 KiB at a time as a client streaming a file would:
 * it fails on a reset where fetch may already have its answer.
 */
export const postInPieces = (url: string, size: number) =>
  new Promise<{ status: number | undefined; body: unknown }>((resolve, reject) => {
    const sent = request(
      url,
      { method: 'POST', agent: false, headers: { 'content-length': size } },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
        });
        response.on('end', () => resolve({ status: response.statusCode, body: JSON.parse(text) }));
      },
    );
    sent.on('error', reject);
    const piece = Buffer.alloc(64 * 1024, 0x20);
    let written = 0;
    const write = () => {
      while (written < size) {
        written += piece.byteLength;
        if (!sent.write(piece)) {
          sent.once('drain', write);
          return;
        }
      }
      sent.end();
    };
    write();
  });
