// The metrics endpoint's port bounds, apart from prom-client: the CLI checks --metrics-port without loading it.

/** the metrics port: 0 picks a free one */
export const METRICS_PORT_BOUNDS = { min: 0, max: 65_535 } as const;
