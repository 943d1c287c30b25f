/**
 * Epoch milliseconds of a Graph timestamp, exactly as `Date.parse` gives them, about four times faster for the
 * shape Graph sends (`2024-09-20T12:00:00Z`, `2020-03-13T19:15:41.6195833Z`): the normalisers parse one per record,
 * hundreds of thousands per review. Anything else (offsets, days past the 28th, out-of-range fields) goes to
 * `Date.parse`, so the result never differs from it. NaN when unparseable.
 */
/** Two decimal digits at `i`, or -1. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

export function parseGraphTime(text: string): number {
  const n = text.length;
  if (n < 20 || text.charCodeAt(n - 1) !== 90 /* Z */) return Date.parse(text);
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
    return Date.parse(text);
  }
  const century = twoDigits(text, 0);
  const yearOfCentury = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if (century < 0 || yearOfCentury < 0 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return Date.parse(text);
  }
  let ms = 0;
  if (n > 20) {
    // A fraction: ".f…fZ", truncated to milliseconds as Date.parse does.
    if (text.charCodeAt(19) !== 46 || n === 21) return Date.parse(text);
    for (let i = 20, scale = 100; i < n - 1; i++) {
      const digit = text.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) return Date.parse(text);
      ms += digit * scale;
      scale = scale >= 10 ? scale / 10 : 0;
    }
  }
  // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-compatible low-level date algorithms").
  const year = century * 100 + yearOfCentury;
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms;
}
