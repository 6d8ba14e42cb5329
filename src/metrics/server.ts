import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Metrics } from './metrics.js'

/**
 * METRICS_PORT: a small HTTP server of its own that answers GET /metrics and nothing else, with no
 * authentication: it is meant for a port only the scraper reaches (a private interface, a
 * firewall rule), so the service port need not expose anything.
 */
export class MetricsServer {
  private server: Server | undefined

  constructor(
    private readonly metrics: Metrics,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Listens; resolves to the bound port (port 0 picks a free one). */
  async listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      if (path !== '/metrics') return answer(res, 404, { detail: 'Not found.', code: 'not_found' })
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD')
        return answer(res, 405, { detail: `Method "${req.method}" not allowed.`, code: 'method_not_allowed' })
      }
      this.metrics.text().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.metrics.contentType, 'cache-control': 'no-store' })
          res.end(req.method === 'HEAD' ? undefined : text)
        },
        (err: unknown) => {
          this.onError(err)
          answer(res, 500, { detail: 'A server error occurred.', code: 'server_error' })
        },
      )
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.server = server
    return this.port!
  }

  /** The bound port, once listening. */
  get port(): number | undefined {
    const address = this.server?.address() as AddressInfo | null | undefined
    return address?.port
  }

  async close(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}

function answer(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}
