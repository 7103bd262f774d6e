// The JetStream topology's options: documented defaults, names NATS takes, numbers within their bounds.

import { describe, expect, it } from 'vitest';
import { DEFAULT_TOPOLOGY, parseTopology } from '../../src/nats/setup.ts';

describe('parseTopology', () => {
  it('fills the defaults (pay, PAY, paystream; orders leave once applied) and keeps what is given', () => {
    expect(parseTopology()).toEqual(DEFAULT_TOPOLOGY);
    expect(parseTopology({ prefix: 'staging.eu', durable: 'replica-2', ordersRetention: 'limits' })).toEqual({
      ...DEFAULT_TOPOLOGY,
      prefix: 'staging.eu',
      durable: 'replica-2',
      ordersRetention: 'limits',
    });
  });

  it.each([
    [{ prefix: 'pay.*' }, 'topology prefix "pay.*" must be subject tokens'],
    [{ prefix: 'a..b' }, 'topology prefix "a..b" must be subject tokens'],
    [{ streamPrefix: 'PAY.X' }, 'topology streamPrefix "PAY.X" must be 1-64 of'],
    [{ durable: '' }, 'topology durable "" must be 1-64 of'],
    [{ ackWaitMs: 999 }, 'topology ackWaitMs must be a whole number within 1000..3600000, got 999'],
    [{ maxAckPending: 0 }, 'topology maxAckPending must be a whole number within 1..1000000, got 0'],
    [{ duplicateWindowMs: 86_400_001 }, 'topology duplicateWindowMs must be a whole number within 1000..86400000'],
    [{ ordersRetention: 'forever' as never }, 'topology ordersRetention must be applied or limits, got forever'],
  ])('refuses %j', (partial, message) => {
    expect(() => parseTopology(partial)).toThrow(message);
  });
});
