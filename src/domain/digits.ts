// Decimal digits of a non-negative safe integer written as bytes, for the encoders that write JSON straight into
// a buffer (the ledger's records, the results on the wire, the fingerprint's canonical order).

/** How many decimal digits a non-negative safe integer has. */
export function decimalLength(n: number): number {
  let length = 1;
  for (let power = 10; power <= n; power *= 10) length++;
  return length;
}

/**
 * A non-negative safe integer's decimal digits at `at`; returns where they end. Floor division, exact below 2^53:
 * % of a double beyond 2^31 (every time in ms) is a call out of V8's fast code.
 */
export function writeDigits(out: Uint8Array, at: number, n: number): number {
  const end = at + decimalLength(n);
  let rest = n;
  for (let i = end - 1; i >= at; i--) {
    const quotient = Math.floor(rest / 10);
    out[i] = 0x30 + (rest - quotient * 10);
    rest = quotient;
  }
  return end;
}
