// Where paystream's own files are (data/risk.yaml, the bundled recording), wherever it runs from: the
// sources (src/), the build (dist/, dist/chunks/) or an installed package (node_modules/paystream/dist/...).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** how far above this file the package's package.json may be: one folder from src/ or dist/, two from dist/chunks/ */
const PACKAGE_ROOT_LEVELS_MAX = 3;

/** The nearest folder above `file` that holds a package.json. */
export function packageRootAbove(file: string): string {
  let dir = path.dirname(file);
  for (let level = 0; level < PACKAGE_ROOT_LEVELS_MAX; level++) {
    dir = path.dirname(dir);
    if (existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`paystream's package.json is not within ${PACKAGE_ROOT_LEVELS_MAX} folders above ${file}`);
}

export const PACKAGE_ROOT = packageRootAbove(fileURLToPath(import.meta.url));

/** A file the package ships, by its path in the package (e.g. data/risk.yaml). */
export const packageFile = (relative: string): string => path.join(PACKAGE_ROOT, relative);
