import * as OTPAuth from 'otpauth'
import QRCode from 'qrcode'

const PERIOD = 30

/**
 * TOTP (RFC 6238: SHA-1, 6 digits, 30 s), as every authenticator app reads it, with otpauth
 * (no dependencies, maintained, RFC 4226/6238 test vectors in its suite).
 */
export function newSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32
}

function totp(secret: string, issuer = 'authjwt', label = ''): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer,
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD,
    secret: OTPAuth.Secret.fromBase32(secret),
  })
}

/** The otpauth:// URI and a QR code of it (an SVG data URL) for an authenticator app to scan. */
export async function enrolment(secret: string, issuer: string, username: string) {
  const uri = totp(secret, issuer, username).toString()
  const svg = await QRCode.toString(uri, { type: 'svg', margin: 1 })
  return { otpauth_url: uri, qr_code: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` }
}

/**
 * The 30-second step a code belongs to, if it is right for now or one step either side (clock
 * skew); undefined otherwise. The caller accepts a step once (replay).
 */
export function codeStep(secret: string, code: string, nowMs = Date.now()): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined
  const delta = totp(secret).validate({ token: code, timestamp: nowMs, window: 1 })
  if (delta === null) return undefined
  return Math.floor(nowMs / 1000 / PERIOD) + delta
}

/** The code for a moment: for tests and the console's demo only, never sent anywhere. */
export function codeAt(secret: string, nowMs = Date.now()): string {
  return totp(secret).generate({ timestamp: nowMs })
}
