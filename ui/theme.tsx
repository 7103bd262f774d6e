// Colours in one place so NO_COLOR (https://no-color.org) turns every one of them off.

import { createContext, useContext } from 'react';
import type { ResultStatus } from '../src/domain/types.ts';

export interface Theme {
  color: boolean;
}

/** NO_COLOR set to anything non-empty disables colour. */
export const themeFromEnv = (env: NodeJS.ProcessEnv = process.env): Theme => ({ color: !env.NO_COLOR });

export const ThemeContext = createContext<Theme>(themeFromEnv());

/** Returns a colour prop value, or undefined when colour is off; loud states also use bold/inverse. */
export function useColor(): (color: string) => string | undefined {
  const theme = useContext(ThemeContext);
  return (color) => (theme.color ? color : undefined);
}

export const STATUS_COLORS: Partial<Record<ResultStatus, string>> = {
  approved: 'green',
  authorized: 'green',
  captured: 'green',
  refunded: 'cyan',
  voided: 'cyan',
  canceled: 'cyan',
  modified: 'cyan',
  held: 'yellow',
  declined: 'red',
  rejected: 'magenta',
  expired: 'gray',
};
