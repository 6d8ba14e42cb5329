import t from 'tap'
import { ApiError, FieldErrors } from '../../src/http/errors.js'
import {
  absoluteUrl,
  checkPage,
  pageExists,
  pageLinks,
  pageWindow,
  searchTerm,
} from '../../src/http/pagination.js'

t.test('page window: defaults, the cap at 100, offsets', async (t) => {
  t.match(pageWindow(), { page: 1, pageSize: 20, limit: 20, offset: 0 })
  t.match(pageWindow(3, 10), { page: 3, limit: 10, offset: 20 })
  t.match(pageWindow(2, 1000), { pageSize: 100, limit: 100, offset: 100 })
})

t.test('a page exists when it has rows; page 1 always does', async (t) => {
  t.ok(pageExists(pageWindow(1, 10), 0))
  t.ok(pageExists(pageWindow(2, 10), 11))
  t.notOk(pageExists(pageWindow(2, 10), 10))
  const err = caught(() => checkPage(pageWindow(5, 10), 10))
  t.ok(err instanceof ApiError)
  t.match(err, { statusCode: 404, detail: 'Invalid page.' })
})

t.test('links keep the other parameters and drop page=1, as DRF', async (t) => {
  const url = 'https://auth.example/api/v1/auth/users/?search=a%20b&page=2&page_size=10'
  t.same(pageLinks(url, pageWindow(2, 10), 35), {
    next: 'https://auth.example/api/v1/auth/users/?search=a+b&page=3&page_size=10',
    previous: 'https://auth.example/api/v1/auth/users/?search=a+b&page_size=10',
  })
  t.same(pageLinks(url, pageWindow(4, 10), 35).next, null)
  t.same(pageLinks('http://h/x/', pageWindow(1, 10), 11).next, 'http://h/x/?page=2')
  t.equal(absoluteUrl('https://h:8443/auth', '/a/?b=1'), 'https://h:8443/auth/a/?b=1')
})

t.test('search terms: trimmed, blank is none, NUL refused', async (t) => {
  t.equal(searchTerm('  bob '), 'bob')
  t.equal(searchTerm('   '), undefined)
  t.equal(searchTerm(undefined), undefined)
  const err = caught(() => searchTerm('a\u0000'))
  t.ok(err instanceof FieldErrors)
  t.same((err as FieldErrors).fields, { search: ['Null characters are not allowed.'] })
})

function caught(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}
