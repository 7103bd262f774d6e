// `paystream record | replay | generate | batch submit | demo`: developer tools (filled by the record/replay issue).

import type { Command } from 'commander';
import type { GlobalOptions } from './context.ts';

export function registerTools(_program: Command, _globals: () => GlobalOptions): void {}
