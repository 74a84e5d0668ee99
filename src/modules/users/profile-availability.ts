import { ValidationError } from '../../platform/errors.ts';
import { WEEKDAYS, type WeeklyAvailability } from './schema.ts';

const minutes = (clock: string) => Number(clock.slice(0, 2)) * 60 + Number(clock.slice(3, 5));

/** Each range must end after it starts and not overlap another on the same day. */
export function checkAvailability(availability: WeeklyAvailability | null | undefined, field: string) {
  if (!availability) return;
  const errors = [];
  for (const day of WEEKDAYS) {
    const ranges = (availability[day] ?? [])
      .map((r, i) => ({ ...r, i }))
      .sort((a, b) => minutes(a.from) - minutes(b.from));
    for (const [k, range] of ranges.entries()) {
      if (minutes(range.to) <= minutes(range.from)) {
        errors.push({ in: 'body', field: `${field}.${day}.${range.i}`, message: 'must end after it starts' });
      } else if (k > 0 && minutes(range.from) < minutes((ranges[k - 1] as typeof range).to)) {
        errors.push({
          in: 'body',
          field: `${field}.${day}.${range.i}`,
          message: 'overlaps another range that day',
        });
      }
    }
  }
  if (errors.length > 0) throw new ValidationError(errors, 'the availability is not valid');
}

/** The days a weekly availability has any hours on: what the directory filters by. */
export const weekdaysOf = (availability: WeeklyAvailability) =>
  WEEKDAYS.filter((d) => (availability[d]?.length ?? 0) > 0);
