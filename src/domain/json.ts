// Values as JSON: bigints (amounts in minor units) as decimal strings.

export const bigintReplacer = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? value.toString() : value);

/** A value as JSON gives it back: plain objects, bigints as strings. */
export const plain = <T>(value: T): unknown => JSON.parse(JSON.stringify(value, bigintReplacer));
