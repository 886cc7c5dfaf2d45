import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { stopOnSignals } from './server.ts';

describe('stopOnSignals', () => {
  it('stops once on SIGTERM and reports it stopped', async () => {
    const signals = new EventEmitter();
    const stop = vi.fn(() => Promise.resolve());
    const stopped = vi.fn();
    const deadline = vi.fn();
    stopOnSignals(stop, stopped, { ms: 1000, onDeadline: deadline }, signals);
    signals.emit('SIGTERM', 'SIGTERM');
    await vi.waitFor(() => expect(stopped).toHaveBeenCalledWith('SIGTERM'));
    expect(stop).toHaveBeenCalledTimes(1);
    expect(deadline).not.toHaveBeenCalled();
  });

  it('gives up at the shutdown deadline when stopping hangs', async () => {
    const signals = new EventEmitter();
    const stopped = vi.fn();
    const deadline = vi.fn();
    stopOnSignals(
      () => new Promise<void>(() => undefined),
      stopped,
      { ms: 30, onDeadline: deadline },
      signals,
    );
    signals.emit('SIGINT', 'SIGINT');
    await vi.waitFor(() => expect(deadline).toHaveBeenCalledWith('SIGINT'));
    expect(stopped).not.toHaveBeenCalled();
  });
});
