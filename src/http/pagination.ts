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

/**
 * The absolute URL of a request, which the links are built from: PUBLIC_URL (the service as users
 * reach it) and the request's path and query. Never the Host header or X-Forwarded-Host: a client
 * could point the links elsewhere, and a cache could keep them for everyone.
 */
export function absoluteUrl(publicUrl: string, requestUrl: string): string {
  return `${publicUrl}${requestUrl}`
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
