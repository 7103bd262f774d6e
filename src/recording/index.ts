// Recordings: NDJSON (optionally gzip) files of received messages, scrubbed of card data.
export { type RecordLine, RecordingFormatError, parseRecordLine, payloadBytes, shiftCreatedAt, toRecordLine } from './line.ts';
export { type ReadRecordingOptions, RECORDING_LINE_BYTES_MAX_DEFAULT, readRecording } from './reader.ts';
export { PAN_REDACTED, redactPanRuns, scrubPayload, scrubRecordLine } from './scrub.ts';
export {
  RECORDING_BUFFERED_BYTES_MAX_DEFAULT,
  type RecordingWriter,
  type RecordingWriterOptions,
  openRecordingWriter,
} from './writer.ts';
