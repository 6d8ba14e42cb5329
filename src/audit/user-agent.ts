// Checked in order: browsers built on Chrome name Chrome too, and Chrome names Safari.
const BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bChrome\/|\bCriOS\/|\bChromium\//, 'Chrome'],
  [/\bVersion\/[0-9.]+ (?:Mobile\/\w+ )?Safari\//, 'Safari'],
  [/^curl\//, 'curl'],
  [/^(?:python-requests|python-httpx|aiohttp|Python-urllib)\//, 'a Python program'],
  [/^okhttp\//, 'an Android app'],
  [/^(?:CFNetwork|Alamofire)\/|\bCFNetwork\//, 'an Apple app'],
]

// iPhones and iPads say "like Mac OS X", Android says Linux: the specific ones first.
const SYSTEMS: [RegExp, string][] = [
  [/\bWindows\b/, 'Windows'],
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\b(?:Macintosh|Mac OS X)\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
]

// Real user agents fit well within this; a longer header is read no further.
const READ_AT_MOST = 512

/**
 * A user agent as a mail may show it: a browser and a system from a fixed list ("Chrome on
 * Windows"), or "an unknown browser". The header is the client's free text, so a mail never
 * quotes it: it could carry a link and "your account is locked" in the service's own notice.
 */
export function describeUserAgent(userAgent: string | null | undefined): string {
  const head = (userAgent ?? '').slice(0, READ_AT_MOST)
  const browser = BROWSERS.find(([pattern]) => pattern.test(head))?.[1]
  const system = SYSTEMS.find(([pattern]) => pattern.test(head))?.[1]
  if (browser && system) return `${browser} on ${system}`
  if (browser) return browser
  if (system) return `a browser on ${system}`
  return 'an unknown browser'
}
