import { describe, expect, it } from 'vitest';
import { parseGraphApiConfig, retryAfterMsOf } from './graph-client.ts';

describe('parseGraphApiConfig', () => {
  it("defaults to Meta's URL and v24.0", () => {
    expect(parseGraphApiConfig({})._unsafeUnwrap()).toEqual({
      baseUrl: 'https://graph.facebook.com',
      version: 'v24.0',
    });
  });

  it('keeps a path prefix and drops trailing slashes', () => {
    expect(
      parseGraphApiConfig({ baseUrl: 'http://127.0.0.1:4010/graph/', version: 'v27.0' })._unsafeUnwrap(),
    ).toEqual({
      baseUrl: 'http://127.0.0.1:4010/graph',
      version: 'v27.0',
    });
  });

  it.each([
    ['v23.0', 'v24.0 or newer'],
    ['24.0', 'such as v24.0'],
    ['v24', 'such as v24.0'],
    ['latest', 'such as v24.0'],
  ])('refuses META_GRAPH_VERSION=%s, saying what it expects', (version, expected) => {
    const problem = parseGraphApiConfig({ version })._unsafeUnwrapErr();
    expect(problem).toMatchObject({ variable: 'META_GRAPH_VERSION', value: version });
    expect(problem.expected).toContain(expected);
  });

  it.each(['graph.facebook.com', 'ftp://graph.facebook.com', 'https://graph.facebook.com/?debug=all'])(
    'refuses META_GRAPH_URL=%s',
    (baseUrl) => {
      expect(parseGraphApiConfig({ baseUrl })._unsafeUnwrapErr()).toMatchObject({
        variable: 'META_GRAPH_URL',
        value: baseUrl,
      });
    },
  );
});

describe('retryAfterMsOf', () => {
  const now = new Date('2026-03-02T12:00:00.000Z');

  it.each<[string | string[] | undefined, number | undefined]>([
    ['7', 7000],
    [' 0 ', 0],
    [['3', '9'], 3000],
    ['Mon, 02 Mar 2026 12:00:30 GMT', 30_000],
    ['Mon, 02 Mar 2026 11:59:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('reads %j as %s ms', (header, expected) => {
    expect(retryAfterMsOf(header, now)).toBe(expected);
  });
});
