// Who asked for an operation: an identity the NATS server attested, or the local user who holds the ledger.

/** How the identity was established. */
export type ActorVia = 'nats' | 'cli' | 'dashboard' | 'system';

export interface Actor {
  /** the identity, as the server or the OS states it: a NATS user (nkey, user name) or `local:<os user>` */
  id: string;
  /** the NATS account the request came from, when it came over NATS */
  account?: string;
  via: ActorVia;
}

/** The local user at a terminal that holds the ledger: the OS vouches for it (it can read the data directory). */
export function localActor(osUser: string, via: 'cli' | 'dashboard'): Actor {
  return { id: `local:${osUser}`, via };
}

/** paystream itself (sweeps, timeouts). */
export const SYSTEM_ACTOR: Actor = Object.freeze({ id: 'system', via: 'system' });

/** One line for logs, audit listings and the dashboard. */
export function describeActor(actor: Actor): string {
  return actor.account === undefined ? actor.id : `${actor.id}@${actor.account}`;
}
