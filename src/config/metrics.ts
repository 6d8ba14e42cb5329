import type { Reader } from './read.js'

export interface MetricsConfig {
  /** /metrics on its own port (0: off), or on the service port behind METRICS_TOKEN. */
  metricsPort: number
  /** Bearer token that opens /metrics on the service port; undefined: not served there. */
  metricsToken: string | undefined
}

export function readMetrics(read: Reader): MetricsConfig {
  const metrics: MetricsConfig = {
    metricsPort: read.int('METRICS_PORT', 0, 0, 65_535),
    metricsToken: read.text('METRICS_TOKEN'),
  }
  if (metrics.metricsToken !== undefined && metrics.metricsToken.length < 16) {
    read.problem('METRICS_TOKEN: must be at least 16 characters long.')
  }
  return metrics
}
