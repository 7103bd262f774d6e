// Appends record lines to an NDJSON file (gzip when the name ends in .gz), scrubbed, with backpressure.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { RecordLine } from './line.ts';
import { scrubRecordLine } from './scrub.ts';

export interface RecordingWriterOptions {
  /** turns a PAN in a payload's `pan` field into its card token; without it the PAN is redacted */
  tokenize?: (pan: string) => string;
  /**
   * Bytes the writer may hold before write() throws instead of buffering more: a caller that ignores
   * write() returning false and never awaits drain() fails loudly rather than eating memory.
   * @default 64 MiB
   */
  bufferedBytesMax?: number;
}

export interface RecordingWriter {
  /** Scrubs and queues one line; false means "await drain() before writing more". */
  write(line: RecordLine): boolean;
  /** Resolves once the buffered lines are below the stream's high-water mark. */
  drain(): Promise<void>;
  /** Flushes everything (and the gzip trailer), closes the file; rejects with the first write error. */
  close(): Promise<void>;
  readonly linesWritten: number;
}

export const RECORDING_BUFFERED_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

/** A file paystream writes that may hold order data (recordings, results, logs): owner read and write only. */
export const PRIVATE_FILE_MODE = 0o600;

/** Writes a whole file (a results file, say) with mode 0600, an existing one included. */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: PRIVATE_FILE_MODE });
  await chmod(path, PRIVATE_FILE_MODE);
}

/**
 * Creates (or truncates) `path` with mode 0600 (an existing file is set to 0600 too, whatever the umask);
 * resolves once the file is open, so a bad path fails here.
 */
export async function openRecordingWriter(
  path: string,
  options: RecordingWriterOptions = {},
): Promise<RecordingWriter> {
  const bufferedBytesMax = options.bufferedBytesMax ?? RECORDING_BUFFERED_BYTES_MAX_DEFAULT;
  const file = createWriteStream(path, { mode: PRIVATE_FILE_MODE });
  await once(file, 'open');
  // the mode above applies only to a file it creates, and through the umask: set it outright
  await chmod(path, PRIVATE_FILE_MODE);
  let failure: Error | undefined;
  let sink: Writable = file;
  let done: Promise<void>;
  if (path.endsWith('.gz')) {
    const gzip = createGzip();
    sink = gzip;
    done = pipeline(gzip, file);
  } else {
    done = finished(file);
  }
  // keep the first error for write() and close(); the listener also keeps it from crashing the process
  done.catch((err: Error) => {
    failure ??= err;
  });
  let closing: Promise<void> | undefined;
  let linesWritten = 0;

  return {
    write(line: RecordLine): boolean {
      if (failure !== undefined) throw failure;
      if (closing !== undefined) throw new Error(`recording ${path} is closed`);
      if (sink.writableLength > bufferedBytesMax) {
        throw new Error(
          `recording ${path}: ${sink.writableLength} bytes buffered, over ${bufferedBytesMax}; await drain()`,
        );
      }
      linesWritten++;
      return sink.write(`${JSON.stringify(scrubRecordLine(line, options.tokenize))}\n`);
    },
    async drain(): Promise<void> {
      if (failure !== undefined) throw failure;
      if (!sink.writableNeedDrain) return;
      await once(sink, 'drain');
    },
    close(): Promise<void> {
      closing ??= (async () => {
        sink.end();
        try {
          await done;
        } catch {
          // reported below
        }
        if (failure !== undefined) throw failure;
      })();
      return closing;
    },
    get linesWritten() {
      return linesWritten;
    },
  };
}
