import { describe, expect, it } from 'vitest';
import { ellipsize, truncateCodePoints, withoutLoneSurrogates } from './text.ts';

describe('withoutLoneSurrogates', () => {
  it('replaces a surrogate without its partner by U+FFFD and keeps whole pairs', () => {
    expect(withoutLoneSurrogates('a\ud800b')).toBe('a\ufffdb');
    expect(withoutLoneSurrogates('a\udc00')).toBe('a\ufffd');
    expect(withoutLoneSurrogates('\udc00\ud800')).toBe('\ufffd\ufffd');
    expect(withoutLoneSurrogates('hola 👋 ✓')).toBe('hola 👋 ✓');
  });
});

describe('truncateCodePoints', () => {
  it('keeps at most that many code points and never splits a surrogate pair', () => {
    expect(truncateCodePoints('ab😀😀', 3)).toBe('ab😀');
    expect(truncateCodePoints('ab😀', 80)).toBe('ab😀');
    expect(truncateCodePoints('x'.repeat(1024 * 1024), 2)).toBe('xx');
  });
});

describe('ellipsize', () => {
  it('ends a cut text in an ellipsis, within the limit, and leaves a short text as it is', () => {
    expect(ellipsize('😀😀😀😀', 3)).toBe('😀😀…');
    expect(ellipsize('😀😀😀', 3)).toBe('😀😀😀');
  });
});
