import { ApiError, FieldErrors } from './errors.js'

/**
 * DRF's PageNumberPagination without the framework: `?page=` and `?page_size=` to a LIMIT/OFFSET
 * window, and the absolute `next`/`previous` links DRF builds from the request's own URL.
 */
export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 100

export interface PageRequest {
  page: number
  pageSize: number
  limit: number
  offset: number
}

/** As DRF: a page size above the maximum is capped rather than refused. */
export function pageWindow(page = 1, pageSize = DEFAULT_PAGE_SIZE): PageRequest {
  const size = Math.min(Math.max(1, Math.trunc(pageSize)), MAX_PAGE_SIZE)
  const number = Math.max(1, Math.trunc(page))
  return { page: number, pageSize: size, limit: size, offset: (number - 1) * size }
}

/** Whether the page exists: page 1 always does, even for an empty list (DRF's allow_empty_first_page). */
export function pageExists(request: PageRequest, count: number): boolean {
  return request.page === 1 || request.offset < count
}

/** DRF answers a page past the end with 404 "Invalid page.". */
export function checkPage(request: PageRequest, count: number): void {
  if (!pageExists(request, count)) throw new ApiError(404, 'Invalid page.', 'not_found')
}

// A host name, an IPv4 address or a bracketed IPv6 address, and an optional port.
const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/

/**
 * The absolute URL of a request, which the links are built from: protocol and host come from the
 * client (the Host header, or X-Forwarded-* behind a trusted proxy), so they are checked before
 * they reach a link, as Django refuses a bad Host with 400.
 */
export function absoluteUrl(request: { protocol: string; host: string; url: string }): string {
  const port = HOST.exec(request.host)?.[1]
  const validHost = HOST.test(request.host) && (port === undefined || Number(port) <= 65535)
  if (!validHost || (request.protocol !== 'http' && request.protocol !== 'https')) {
    throw new ApiError(400, 'Invalid Host header.', 'bad_request')
  }
  return `${request.protocol}://${request.host}${request.url}`
}

/**
 * The links of one page. `url` is the absolute URL of the request; other query parameters are kept,
 * and the first page's link carries no `page` parameter, as DRF's.
 */
export function pageLinks(
  url: string,
  request: PageRequest,
  count: number,
): { next: string | null; previous: string | null } {
  const link = (page: number) => {
    const u = new URL(url)
    if (page === 1) u.searchParams.delete('page')
    else u.searchParams.set('page', String(page))
    return u.toString()
  }
  const hasNext = request.offset + request.limit < count
  return {
    next: hasNext ? link(request.page + 1) : null,
    previous: request.page > 1 ? link(request.page - 1) : null,
  }
}

export function paginated<T>(url: string, request: PageRequest, count: number, results: T[]) {
  return { count, ...pageLinks(url, request, count), results }
}

/**
 * The `?search=` term of a list, or undefined for none. PostgreSQL text cannot hold NUL, so a term
 * with one is refused in DRF's words rather than reaching the database.
 */
export function searchTerm(raw: string | undefined): string | undefined {
  if (raw?.includes('\u0000')) throw new FieldErrors({ search: ['Null characters are not allowed.'] })
  return raw?.trim() || undefined
}
