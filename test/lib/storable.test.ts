import t from 'tap'
import { storableIp, storableJson, storableText } from '../../src/lib/storable.js'

/** The one rule for client text that reaches a row (src/lib/storable.ts). */
t.test('text: well-formed, no NUL, capped by code points', async (t) => {
  t.equal(storableText('plain', 150), 'plain', 'ordinary text is untouched')
  t.equal(storableText('x\ud800', 150), 'x\uFFFD', 'a lone high surrogate is replaced')
  t.equal(storableText('\udc00y', 150), '\uFFFDy', 'a lone low surrogate too')
  t.equal(storableText('a\u0000b', 150), 'a\uFFFDb', 'NUL, which text columns refuse')
  const name = `${'n'.repeat(149)}\u{1F600}`
  t.equal(storableText(name, 150), name, '150 code points fit in 150, though 151 UTF-16 units')
  t.equal(storableText(`${name}tail`, 150), name, 'cut after the 150th code point')
  t.equal(
    storableText(`${'n'.repeat(149)}\u{1F600}`, 149),
    'n'.repeat(149),
    'never between the halves of a pair',
  )
  t.ok(storableText(`${'\u{1F600}'.repeat(300)}\ud800`, 200).isWellFormed())
})

t.test('JSON: every string and key made storable; nothing JSON.stringify would refuse', async (t) => {
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  const stored = storableJson({
    '\ud800': 'v\u0000',
    list: ['x\udfff', undefined, Number.NaN],
    big: 10n,
    when: new Date(0),
    gone: undefined,
    cyclic,
  }) as Record<string, unknown>
  t.same(Object.keys(stored), ['\uFFFD', 'list', 'big', 'when', 'cyclic'])
  t.same(stored.list, ['x\uFFFD', null, null])
  t.equal(stored.big, '10')
  t.equal(stored.when, '1970-01-01T00:00:00.000Z')
  t.doesNotThrow(() => JSON.stringify(stored), 'a cycle is cut at a depth')
  const proto = storableJson(JSON.parse('{"__proto__": {"admin": true}}')) as Record<string, unknown>
  t.same(Object.keys(proto), ['__proto__'], 'a "__proto__" key stays data')
  t.equal(Object.getPrototypeOf(proto), Object.prototype)
})

t.test('IP: a valid address that fits the column, or null', async (t) => {
  for (const ip of [
    '192.0.2.1',
    '2001:db8::1',
    '::ffff:192.0.2.1',
    'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255',
  ]) {
    t.equal(storableIp(ip), ip, ip)
  }
  for (const ip of [
    'not-an-ip <script>',
    'x'.repeat(60),
    '',
    '1.2.3.4, 5.6.7.8',
    'fe80::1%eth0-with-a-zone-name-too-long-for-the-column',
  ]) {
    t.equal(storableIp(ip), null, JSON.stringify(ip))
  }
  t.equal(storableIp(undefined), null)
})
