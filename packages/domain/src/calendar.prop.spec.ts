import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  addDays,
  addMonths,
  compareLocalDates,
  dayOfWeek,
  daysBetween,
  formatIsoDate,
  type LocalDate,
  type LocalDateTime,
  localDate,
  localDateOf,
  localTimeOf,
  parseIsoDate,
  type TimeZone,
  zonedInstant,
} from './calendar.ts';
import { awkwardZones } from './time-zones.fixture.ts';

const minuteMs = 60_000;
const dayMs = 86_400_000;
const epoch: LocalDate = { year: 1970, month: 1, day: 1 };

// Oracles built on Date's UTC fields, which are exact for the years used here (1990 onwards).
const wallMs = (time: LocalDateTime): number =>
  Date.UTC(time.year, time.month - 1, time.day, time.hour, time.minute);
const wallOf = (ms: number): LocalDateTime => {
  const utc = new Date(ms);
  return {
    year: utc.getUTCFullYear(),
    month: utc.getUTCMonth() + 1,
    day: utc.getUTCDate(),
    hour: utc.getUTCHours(),
    minute: utc.getUTCMinutes(),
  };
};
const offsetMs = (instant: number, zone: TimeZone): number =>
  wallMs(localTimeOf(new Date(instant), zone)) - Math.floor(instant / minuteMs) * minuteMs;

/** Instants at which `zone` changes offset during `year`, to the minute. */
const transitionCache = new Map<string, number[]>();
const transitionsOf = (zone: TimeZone, year: number): number[] => {
  const key = `${zone}/${year}`;
  const cached = transitionCache.get(key);
  if (cached !== undefined) return cached;
  const found: number[] = [];
  for (let day = Date.UTC(year, 0, 1); day < Date.UTC(year + 1, 0, 1); day += dayMs) {
    if (offsetMs(day, zone) === offsetMs(day + dayMs, zone)) continue;
    let [low, high] = [day, day + dayMs];
    while (high - low > minuteMs) {
      const middle = low + Math.floor((high - low) / 2 / minuteMs) * minuteMs;
      if (offsetMs(middle, zone) === offsetMs(low, zone)) low = middle;
      else high = middle;
    }
    found.push(high);
  }
  transitionCache.set(key, found);
  return found;
};

const anyInstant = fc
  .integer({ min: Date.UTC(1990, 0, 1) / minuteMs, max: Date.UTC(2100, 0, 1) / minuteMs })
  .map((minutes) => minutes * minuteMs);

/** Instants within three hours of a real transition, where the interesting bugs live. */
const instantNearTransition = fc
  .record({
    zone: fc.constantFrom(...awkwardZones),
    year: fc.integer({ min: 2020, max: 2035 }),
    pick: fc.nat(),
    minutes: fc.integer({ min: -180, max: 180 }),
  })
  .map(({ zone, year, pick, minutes }) => {
    const transitions = transitionsOf(zone, year);
    const base = transitions[pick % Math.max(transitions.length, 1)] ?? Date.UTC(year, 0, 1);
    return { zone, instant: base + minutes * minuteMs };
  });

const zonedCase = fc.oneof(
  { arbitrary: fc.record({ zone: fc.constantFrom(...awkwardZones), instant: anyInstant }), weight: 1 },
  { arbitrary: instantNearTransition, weight: 2 },
);

/** A wall-clock reading in a zone: some that exist, some skipped by a jump, some shown twice. */
const wallClockCase = fc
  .tuple(zonedCase, fc.integer({ min: -90, max: 90 }))
  .map(([{ zone, instant }, shift]) => ({
    zone,
    wall: wallOf(wallMs(localTimeOf(new Date(instant), zone)) + shift * minuteMs),
  }));

describe('zonedInstant', () => {
  test.prop([wallClockCase], { numRuns: 2000 })(
    'is the earliest instant showing the wall time, or the time moved forward by a DST jump',
    ({ zone, wall }) => {
      const date = { year: wall.year, month: wall.month, day: wall.day };
      const instant = zonedInstant(date, wall.hour, wall.minute, zone).getTime();
      // Every offset in use since 1990 is a multiple of 15 minutes between -12:00 and +14:00.
      const showingWall = Array.from(
        { length: 105 },
        (_, index) => wallMs(wall) - (index - 48) * 15 * minuteMs,
      )
        .filter((candidate) => wallMs(localTimeOf(new Date(candidate), zone)) === wallMs(wall))
        .sort((a, b) => a - b);
      const shown = localTimeOf(new Date(instant), zone);
      if (showingWall.length > 0) {
        expect(instant).toBe(showingWall[0]);
        expect(localDateOf(new Date(instant), zone)).toEqual(date);
        expect(shown).toEqual(wall);
      } else {
        const jump = offsetMs(instant, zone) - offsetMs(instant - dayMs, zone);
        expect(jump).toBeGreaterThan(0);
        expect(wallMs(shown) - wallMs(wall)).toBe(jump);
        expect(daysBetween(date, localDateOf(new Date(instant), zone))).toBeOneOf([0, 1]);
      }
    },
  );

  test.prop([zonedCase], { numRuns: 2000 })(
    'gives back the instant a wall-clock reading came from, or the earlier one for a repeated hour',
    ({ zone, instant }) => {
      const time = localTimeOf(new Date(instant), zone);
      const back = zonedInstant(time, time.hour, time.minute, zone).getTime();
      expect(localTimeOf(new Date(back), zone)).toEqual(time);
      expect(back).toBeLessThanOrEqual(instant);
      expect(instant - back).toBeLessThanOrEqual(3 * 60 * minuteMs);
      if (back < instant) expect(offsetMs(back, zone)).toBeGreaterThan(offsetMs(instant, zone));
    },
  );

  test.prop([zonedCase], { numRuns: 1000 })(
    'localDateOf is the date part of localTimeOf',
    ({ zone, instant }) => {
      const { year, month, day } = localTimeOf(new Date(instant), zone);
      expect(localDateOf(new Date(instant), zone)).toEqual({ year, month, day });
    },
  );
});

// Years 1000 to 8979: room for the arithmetic below to stay inside years 1–9999.
const anyEpochDay = fc.integer({ min: -354_000, max: 2_560_000 });
const anyLocalDate = anyEpochDay.map((days) => addDays(epoch, days));

describe('calendar arithmetic', () => {
  test.prop([anyEpochDay], { numRuns: 2000 })(
    'agrees with the proleptic Gregorian calendar of Date',
    (days) => {
      const utc = new Date(days * dayMs);
      const date = addDays(epoch, days);
      expect(date).toEqual({
        year: utc.getUTCFullYear(),
        month: utc.getUTCMonth() + 1,
        day: utc.getUTCDate(),
      });
      expect(daysBetween(epoch, date)).toBe(days);
      expect(dayOfWeek(date) % 7).toBe(utc.getUTCDay());
      expect(localDate(date.year, date.month, date.day)._unsafeUnwrap()).toEqual(date);
    },
  );

  test.prop([anyLocalDate, fc.integer({ min: -100_000, max: 100_000 })], { numRuns: 1000 })(
    'adding days moves exactly that many days, and compare agrees',
    (date, days) => {
      const moved = addDays(date, days);
      expect(daysBetween(date, moved)).toBe(days);
      expect(addDays(moved, -days)).toEqual(date);
      expect(compareLocalDates(moved, date)).toBe(Math.sign(days));
      expect(compareLocalDates(date, moved)).toBe(0 - Math.sign(days));
    },
  );

  test.prop([anyLocalDate, fc.integer({ min: -1200, max: 1200 })], { numRuns: 1000 })(
    'adding months keeps the day when the month has it, else takes its last day',
    (date, months) => {
      const moved = addMonths(date, months);
      expect((moved.year - date.year) * 12 + moved.month - date.month).toBe(months);
      expect(localDate(moved.year, moved.month, moved.day).isOk()).toBe(true);
      if (moved.day !== date.day) expect(addDays(moved, 1).month).not.toBe(moved.month);
    },
  );

  test.prop([anyLocalDate], { numRuns: 1000 })('ISO dates read back as written', (date) => {
    expect(parseIsoDate(formatIsoDate(date))._unsafeUnwrap()).toEqual(date);
  });

  test.prop([fc.string({ unit: 'grapheme' })], { numRuns: 1000 })('parseIsoDate never throws', (text) => {
    const parsed = parseIsoDate(text);
    if (parsed.isOk()) expect(formatIsoDate(parsed.value)).toBe(text);
  });

  test.prop([fc.double(), fc.double(), fc.double()], { numRuns: 1000 })(
    'localDate never throws, and accepts only whole numbers that make a day',
    (year, month, day) => {
      const built = localDate(year, month, day);
      if (built.isOk()) expect(daysBetween(built.value, addDays(built.value, 1))).toBe(1);
      else expect(built.error.type).toBe('invalid_date');
    },
  );
});
