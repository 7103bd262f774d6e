// A one-line progress report for publishing tools, on a terminal only.

/** A one-line progress report on a terminal (messages, rate, ETA), nothing when piped. */
export function progressLine(total: number | undefined): (sent: number) => void {
  const started = Date.now();
  return (sent: number) => {
    if (!process.stderr.isTTY) return;
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = sent / seconds;
    const eta = total && rate > 0 ? ` ETA ${Math.max(0, (total - sent) / rate).toFixed(0)} s` : '';
    process.stderr.write(`\r${sent}${total ? `/${total}` : ''} messages  ${Math.round(rate)}/s${eta}   `);
  };
}

/** Ends the progress line, so what follows starts on a line of its own. */
export function endProgressLine(): void {
  if (process.stderr.isTTY) process.stderr.write('\n');
}
