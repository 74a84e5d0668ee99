import { validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { newId } from './columns.ts';

/** Lists page newest first by id: the ids one process makes must sort in the order they were made. */
describe('newId', () => {
  it('makes valid, distinct UUIDv7s in the order they were made, many to a millisecond', () => {
    const before = Date.now();
    const ids = Array.from({ length: 20_000 }, newId);
    const after = Date.now();

    expect(ids.every((id) => validate(id) && version(id) === 7)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id, i) => i === 0 || ids[i - 1]! < id)).toBe(true);

    const millis = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(millis(ids[0]!)).toBeGreaterThanOrEqual(before);
    expect(millis(ids.at(-1)!)).toBeLessThanOrEqual(after);
    // Far fewer milliseconds than ids: the order held within a millisecond, not only across them.
    expect(new Set(ids.map(millis)).size).toBeLessThan(ids.length / 10);
  });

  it('draws fresh random bits for every id, past the pool’s refill', () => {
    const tails = Array.from({ length: 600 }, () => newId().slice(-12));
    expect(new Set(tails).size).toBe(tails.length);
  });
});
