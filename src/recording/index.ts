// Recordings: NDJSON (optionally gzip) files of received messages, scrubbed of card data.
export {
  parseRecordLine,
  payloadBytes,
  RecordingFormatError,
  type RecordLine,
  shiftCreatedAt,
  toRecordLine,
} from './line.ts';
export { RECORDING_LINE_BYTES_MAX_DEFAULT, type ReadRecordingOptions, readRecording } from './reader.ts';
export { PAN_REDACTED, redactPanRuns, scrubPayload, scrubRecordLine } from './scrub.ts';
export {
  openRecordingWriter,
  RECORDING_BUFFERED_BYTES_MAX_DEFAULT,
  type RecordingWriter,
  type RecordingWriterOptions,
} from './writer.ts';
