// Summarizes a .cpuprofile (node --cpu-prof, e.g. `npm run bench -- --profile`): top self time by function,
// by file, and by area of the code. Usage: node --import tsx test/bench/profile-summary.ts FILE [--top N]
import { readFile } from 'node:fs/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const shortUrl = (url: string): string => {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const main = url.indexOf('/work/main/');
  return main >= 0 ? url.slice(main + '/work/main/'.length) : url.replace(/^file:\/\//, '');
};

/** Where a file belongs: ours by folder, a dependency by package, Node itself, or V8 (gc, idle, program). */
export function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const u = shortUrl(url);
  if (u.startsWith('node:')) return `node:${u.slice(5).split('/')[0]}`;
  if (!url.includes('/work/main/') || url.includes('node_modules/')) {
    const pkg = u.startsWith('@') ? u.split('/').slice(0, 2).join('/') : u.split('/')[0]!;
    return `dep:${pkg}`;
  }
  return u.split('/').slice(0, u.startsWith('src/') ? 2 : 1).join('/');
}

export async function summarize(file: string, top = 30): Promise<string> {
  const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const totalUs = p.endTime - p.startTime;
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const name = `${f.functionName || '(anonymous)'}  ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    byFn.set(name, (byFn.get(name) ?? 0) + us);
    byFile.set(shortUrl(f.url) || f.functionName, (byFile.get(shortUrl(f.url) || f.functionName) ?? 0) + us);
    const a = area(f.url, f.functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
  }
  const idle = byFn.get('(idle)  (native)') ?? 0;
  const busy = totalUs - idle;
  const rows = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(8)} ms ${((us / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
  return [
    `${file}: ${(totalUs / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)`,
    '',
    `top ${top} functions by self time:`,
    ...rows(byFn, top),
    '',
    'by area:',
    ...rows(byArea, 20),
    '',
    'top files:',
    ...rows(byFile, 15),
  ].join('\n');
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [--top N]');
  const topAt = process.argv.indexOf('--top');
  const top = topAt > 0 ? Number(process.argv[topAt + 1]) : 30;
  process.stdout.write(`${await summarize(file, top)}\n`);
}
