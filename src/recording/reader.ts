// Reads a recording back, line by line, whether plain NDJSON or gzip (told by its first bytes).

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { parseRecordLine, RecordingFormatError, type RecordLine } from './line.ts';

export interface ReadRecordingOptions {
  /** longest accepted line; a longer one is an error, not an unbounded buffer @default 16 MiB */
  lineBytesMax?: number;
}

export const RECORDING_LINE_BYTES_MAX_DEFAULT = 16 * 1024 * 1024;

/**
 * The lines of a recording, in file order; blank lines are skipped. Throws RecordingFormatError (with the
 * line number) on a malformed line and the stream's error on a truncated or corrupt gzip file.
 * Lines are split by hand rather than with readline, which does not pass a gunzip error on to the loop.
 */
export async function* readRecording(
  path: string,
  options: ReadRecordingOptions = {},
): AsyncGenerator<RecordLine> {
  const lineBytesMax = options.lineBytesMax ?? RECORDING_LINE_BYTES_MAX_DEFAULT;
  // pipeline, not pipe: a read error reaches the gunzip stream, and so the loop below
  const source: Readable = (await isGzip(path))
    ? pipeline(createReadStream(path), createGunzip(), () => {})
    : createReadStream(path);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let lineNumber = 0;
  const parse = (text: string): RecordLine | undefined => {
    lineNumber++;
    const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text;
    return trimmed.trim() === '' ? undefined : parseRecordLine(trimmed, lineNumber);
  };
  try {
    for await (const chunk of source) {
      pending += decoder.write(chunk as Buffer);
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        const line = parse(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (line !== undefined) yield line;
        newline = pending.indexOf('\n');
      }
      if (pending.length > lineBytesMax) {
        throw new RecordingFormatError(`longer than ${lineBytesMax} bytes`, lineNumber + 1);
      }
    }
    pending += decoder.end();
    const last = parse(pending);
    if (last !== undefined) yield last;
  } finally {
    source.destroy();
  }
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await handle.close();
  }
}
