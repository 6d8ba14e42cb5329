import { fullFormats } from 'ajv-formats/dist/formats.js'
/**
 * Django REST Framework's field semantics on top of JSON Schema: DRF accepts numbers where it
 * wants strings and trims whitespace, takes "true"/"1" as booleans and "42" as integers (forms
 * send nothing else), and words its errors in its own sentences. Clients compare those sentences.
 */

interface PropertySchema {
  type?: string | string[]
  enum?: unknown[]
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  format?: string
  anyOf?: PropertySchema[]
  const?: unknown
  'x-no-trim'?: boolean
}

export interface ObjectSchema {
  type?: string
  properties?: Record<string, PropertySchema>
}

function baseType(p: PropertySchema): string | undefined {
  if (typeof p.type === 'string') return p.type
  if (Array.isArray(p.type)) return p.type.find((t) => t !== 'null')
  if (p.anyOf) for (const a of p.anyOf) if (a.type && a.type !== 'null') return baseType(a)
  if (p.enum) return 'string'
  return undefined
}

const DATETIME_FORMAT =
  'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].'

const rfc3339 = fullFormats['date-time'] as { validate: (value: string) => boolean }

/**
 * RFC 3339 date-times that are also instants a database can store: the format alone lets through
 * a leap second (23:59:60) and year 0, which neither JavaScript's Date nor PostgreSQL can hold,
 * so a request carrying one would fail past validation.
 */
export function isStorableDateTime(value: string): boolean {
  if (!rfc3339.validate(value)) return false
  const ms = Date.parse(value)
  if (!Number.isFinite(ms)) return false
  const year = new Date(ms).getUTCFullYear()
  return year >= 1 && year <= 9999
}

const TRUE = new Set(['true', 'True', '1', 'yes', 'on'])
const FALSE = new Set(['false', 'False', '0', 'no', 'off'])

/** Coerces a body in place the way DRF's fields would, before JSON Schema validation runs. */
export function normalizeBody(schema: ObjectSchema, body: unknown): unknown {
  if (body === undefined || body === null || body === '') return {}
  if (typeof body !== 'object' || Array.isArray(body) || !schema.properties) return body
  const record = body as Record<string, unknown>
  for (const [name, prop] of Object.entries(schema.properties)) {
    const value = record[name]
    if (value === undefined || value === null) continue
    const type = baseType(prop)
    if (type === 'string') {
      if (typeof value === 'number' && Number.isFinite(value)) record[name] = String(value)
      else if (typeof value === 'string' && !prop['x-no-trim']) record[name] = value.trim()
    } else if (type === 'integer' && typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) {
      record[name] = Number(value)
    } else if (type === 'boolean' && typeof value === 'string') {
      if (TRUE.has(value)) record[name] = true
      else if (FALSE.has(value)) record[name] = false
    } else if (type === 'boolean' && (value === 1 || value === 0)) {
      record[name] = value === 1
    }
  }
  return record
}

/** DRF's ProhibitNullCharactersValidator, for every string field (of a body or a query) that holds one. */
export function nullCharacterErrors(
  schema: ObjectSchema,
  body: unknown,
): Record<string, string[]> | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body) || !schema.properties) return undefined
  const record = body as Record<string, unknown>
  let out: Record<string, string[]> | undefined
  for (const name of Object.keys(schema.properties)) {
    const value = record[name]
    // A query parameter given twice arrives as a list.
    const values = Array.isArray(value) ? value : [value]
    if (values.some((v) => typeof v === 'string' && v.includes('\u0000'))) {
      out ??= {}
      out[name] = ['Null characters are not allowed.']
    }
  }
  return out
}

export interface AjvError {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
}

const pyType = (v: unknown): string =>
  Array.isArray(v)
    ? 'list'
    : v === null
      ? 'NoneType'
      : typeof v === 'string'
        ? 'str'
        : typeof v === 'number'
          ? Number.isInteger(v)
            ? 'int'
            : 'float'
          : typeof v === 'boolean'
            ? 'bool'
            : 'dict'

const typeSentence: Record<string, string> = {
  string: 'Not a valid string.',
  integer: 'A valid integer is required.',
  number: 'A valid number is required.',
  boolean: 'Must be a valid boolean.',
  object: 'Invalid data.',
  array: 'Expected a list of items.',
}

/** Ajv's errors as DRF's `{"field": ["sentence"]}`, fields in the schema's order, one sentence each. */
export function fieldErrors(
  errors: AjvError[],
  data: unknown,
  schema?: ObjectSchema,
): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  const record = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>
  for (const err of errors) {
    if (err.instancePath === '' && err.keyword === 'type') {
      return { non_field_errors: [`Invalid data. Expected a dictionary, but got ${pyType(data)}.`] }
    }
    const field =
      err.keyword === 'required'
        ? String(err.params.missingProperty)
        : decodeURIComponent(err.instancePath.split('/')[1] ?? '')
            .replace(/~1/g, '/')
            .replace(/~0/g, '~')
    if (!field || out[field]) continue
    const prop = schema?.properties?.[field] ?? {}
    out[field] = [sentence(err, record[field], prop)]
  }
  const order = Object.keys(schema?.properties ?? {})
  const sorted: Record<string, string[]> = {}
  for (const k of order) if (out[k]) sorted[k] = out[k]
  for (const k of Object.keys(out)) if (!sorted[k]) sorted[k] = out[k]!
  return sorted
}

/** A ChoiceField: an enum, or TypeBox's union of literals (anyOf of const). */
function isChoice(p: PropertySchema): boolean {
  return p.enum !== undefined || p.anyOf?.every((a) => a.const !== undefined) === true
}

/** How Python's str() would print a JSON value, as DRF quotes it in "is not a valid choice". */
const pyStr = (v: unknown): string =>
  v === true ? 'True' : v === false ? 'False' : typeof v === 'object' ? JSON.stringify(v) : String(v)

function sentence(err: AjvError, value: unknown, prop: PropertySchema): string {
  const p = err.params
  // A choice answers every wrong value alike, whatever keyword Ajv failed on first.
  if (err.keyword !== 'required' && value !== null && isChoice(prop)) {
    return `"${pyStr(value)}" is not a valid choice.`
  }
  switch (err.keyword) {
    case 'required':
      return 'This field is required.'
    case 'minLength':
      return value === ''
        ? 'This field may not be blank.'
        : `Ensure this field has at least ${p.limit} characters.`
    case 'maxLength':
      return `Ensure this field has no more than ${p.limit} characters.`
    case 'format':
      if (p.format === 'email') return 'Enter a valid email address.'
      if (p.format === 'date-time') return DATETIME_FORMAT
      return 'Enter a valid value.'
    case 'minimum':
      return `Ensure this value is greater than or equal to ${p.limit}.`
    case 'maximum':
      return `Ensure this value is less than or equal to ${p.limit}.`
    default:
      if (value === null) return 'This field may not be null.'
      return typeSentence[baseType(prop) ?? String(p.type)] ?? 'Invalid value.'
  }
}
