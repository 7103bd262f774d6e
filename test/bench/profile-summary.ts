// Summarizes a .cpuprofile (node --cpu-prof, e.g. `npm run bench -- --profile`): top self time by function,
// by file, by area of the code, and the time inside each stage of an order's path; or a .heapprofile
// (BENCH_ALLOC_PROFILE=FILE npm run bench ...): bytes allocated by function and call site.
// Usage: node --import tsx test/bench/profile-summary.ts FILE [--top N] [--orders N (figures per order)]
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

export async function summarize(file: string, top = 30, orders?: number): Promise<string> {
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
    `${file}: ${(totalUs / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)${
      orders ? `; ${((busy / orders) * 1).toFixed(1)} µs busy an order over ${orders.toLocaleString('en-US')} orders` : ''
    }`,
    '',
    `top ${top} functions by self time:`,
    ...rows(byFn, top),
    '',
    'by area:',
    ...rows(byArea, 20),
    '',
    'top files:',
    ...rows(byFile, 15),
    '',
    "inside each stage of an order's path (inclusive: a stage's callees count in it):",
    ...stageRows(p, byId, selfUs, busy, orders),
  ].join('\n');
}

/** An order's path, stage by stage, as the functions that run each (streams/pipeline.ts). */
const STAGES: [string, RegExp][] = [
  ['nats client (its own code only: the source callback runs inside it)', /^dep:nats$/],
  ['source: JsMsg -> InboundMessage', /^toInbound$/],
  ['decode', /^decodeOne$/],
  ['validate (tokenize, fingerprint, checks)', /^validateOne$/],
  ['apply: prefetch', /^prefetchFor$/],
  ['apply: decide (with risk)', /^decideBuffer$/],
  ['  of it, risk evaluate', /^evaluate src\/domain\/risk\/engine\.ts$/],
  ['apply: commit (encode + LevelDB batch)', /^stageCommit$/],
  ['publish results', /^(publishApplied|publish src\/nats\/results\.ts)$/],
  ['dashboard/metrics record', /^recordApplied$/],
  ['garbage collector', /^\(garbage collector\)$/],
];

function stageRows(p: CpuProfile, byId: Map<number, ProfileNode>, selfUs: Map<number, number>, busy: number, orders?: number): string[] {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inStage = STAGES.map(() => 0);
  const ownArea = STAGES.findIndex(([, re]) => re.source.startsWith('^dep:'));
  for (const [id, us] of selfUs) {
    const self = byId.get(id)!.callFrame;
    if (ownArea >= 0 && STAGES[ownArea]![1].test(area(self.url, self.functionName))) inStage[ownArea]! += us;
    const seen = new Set<number>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const fn = f.functionName;
      const withFile = `${fn} ${shortUrl(f.url)}`;
      STAGES.forEach(([, re], i) => {
        if (!seen.has(i) && (re.test(fn) || re.test(withFile))) {
          seen.add(i);
          inStage[i]! += us;
        }
      });
    }
  }
  return STAGES.map(([label], i) => {
    const us = inStage[i]!;
    const perOrder = orders ? `${(us / orders).toFixed(1).padStart(6)} µs/order ` : '';
    return `${(us / 1000).toFixed(0).padStart(8)} ms ${((us / busy) * 100).toFixed(1).padStart(5)}% ${perOrder} ${label}`;
  });
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** A sampling heap profile with collected objects included: where the bytes the collector sweeps are allocated. */
export async function summarizeAllocations(file: string, top = 30, orders?: number): Promise<string> {
  const p = JSON.parse(await readFile(file, 'utf8')) as { head: HeapNode };
  const bySite = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode, callers: string[], callerUrl: string): void => {
    const f = n.callFrame;
    const here = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}`;
    if (n.selfSize > 0) {
      total += n.selfSize;
      // a builtin (Map#set, Array#push, RegExp#exec) is named with its callers: that is where to act
      const site = [here, ...callers.slice(0, f.url ? 1 : 2)].join(' < ');
      bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
      // a builtin's bytes count in the area of the code that called it
      const a = f.url ? area(f.url, f.functionName) : callerUrl ? area(callerUrl, '') : area('', f.functionName);
      byArea.set(a, (byArea.get(a) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, [here, ...callers].slice(0, 3), f.url || callerUrl);
  };
  walk(p.head, [], '');
  const rows = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, bytes]) => `${(bytes / 2 ** 20).toFixed(1).padStart(8)} MB ${((bytes / total) * 100).toFixed(1).padStart(5)}%${orders ? ` ${(bytes / orders).toFixed(0).padStart(6)} B/order` : ''}  ${k}`);
  return [
    `${file}: ${(total / 2 ** 20).toFixed(0)} MB allocated (sampled)${orders ? `, ${(total / orders / 1024).toFixed(1)} KB an order over ${orders.toLocaleString('en-US')} orders` : ''}`,
    '',
    `top ${top} allocation sites:`,
    ...rows(bySite, top),
    '',
    'by area:',
    ...rows(byArea, 15),
  ].join('\n');
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile|FILE.heapprofile [--top N] [--orders N]');
  const topAt = process.argv.indexOf('--top');
  const top = topAt > 0 ? Number(process.argv[topAt + 1]) : 30;
  const ordersAt = process.argv.indexOf('--orders');
  const orders = ordersAt > 0 ? Number(process.argv[ordersAt + 1]) : undefined;
  const summary = file.endsWith('.heapprofile') ? summarizeAllocations(file, top, orders) : summarize(file, top, orders);
  process.stdout.write(`${await summary}\n`);
}
