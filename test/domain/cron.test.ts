import { cronProblem } from '../../domain/cron';

describe('cronProblem', () => {
  it.each([
    '*/15 * * * *',
    '0 3 * * 1-5',
    '30 6 1,15 jan-jun mon',
    '@daily',
    '0 0 * * 7',
    '5-55/10 * * * *',
  ])('accepts %s', (cron) => expect(cronProblem(cron)).toBeUndefined());

  it.each([
    ['every fifteen', 'needs 5 fields (minute hour day month weekday), found 2'],
    ['61 * * * *', 'minute: "61" is not in 0-59'],
    ['* 24 * * *', 'hour: "24" is not in 0-23'],
    ['* * 0 * *', 'day of month: "0" is not in 1-31'],
    ['* * * foo *', 'month: "foo" is not in 1-12'],
    ['*/0 * * * *', 'minute: "0" is not a step'],
  ])('refuses %s: %s', (cron, problem) => expect(cronProblem(cron)).toBe(problem));
});
