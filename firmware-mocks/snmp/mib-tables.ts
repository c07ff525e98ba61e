/**
 * Live MIB objects on a net-snmp agent: every GET/GETNEXT/GETBULK computes the value from
 * the simulator at that moment (never a stale copy), and a SET is checked in net-snmp's test
 * pass and applied in its commit pass (the agent calls the handler twice; side effects only
 * on commit). Used by both PDU mocks to declare their tables as data.
 */
import snmp from 'net-snmp'

export type CellValue = number | string

/** The parts of net-snmp's agent Mib we use (its agent-side types are `any`). */
export interface AgentMib {
  registerProvider(provider: Record<string, unknown>): void
  setScalarValue(name: string, value: unknown): void
  addTableRow(name: string, row: unknown[]): void
}

/** The parts of net-snmp's MibRequest a handler uses. */
interface MibRequest {
  oid: string
  operation: number
  testSet?: boolean
  setValue?: unknown
  instanceNode: { value: unknown }
  done(error?: { errorStatus: number; type: number; value: null }): void
}

export type ErrorStatusName = 'GeneralError' | 'WrongValue' | 'InconsistentValue' | 'ResourceUnavailable'

interface Writable<R> {
  /** Refuse a value in the test pass (the value already passed type and constraint checks). */
  check?: (row: R, value: CellValue) => ErrorStatusName | undefined
  /** Apply in the commit pass. */
  set: (row: R, value: CellValue) => void
}

export interface ColumnDef<R> {
  number: number
  name: string
  type: 'int' | 'str'
  get: (row: R) => CellValue
  write?: Writable<R>
  /** INTEGER values a SET may carry (others: wrongValue / badValue). */
  enumeration?: readonly number[]
  range?: { min: number; max: number }
  maxLength?: number
}

export interface TableDef<R> {
  name: string
  /** The Entry OID (net-snmp's table provider sits there). */
  entry: string
  /** The leading columns that index the table (their `get` gives the index values). */
  indexColumns: number
  rows: readonly R[]
  columns: ColumnDef<R>[]
}

export interface ScalarDef {
  name: string
  /** The object OID without `.0`. */
  oid: string
  type: 'int' | 'str' | 'oid' | 'timeticks'
  get: () => CellValue
  write?: Writable<undefined>
  enumeration?: readonly number[]
  range?: { min: number; max: number }
}

const TYPE = {
  int: snmp.ObjectType.Integer,
  str: snmp.ObjectType.OctetString,
  oid: snmp.ObjectType.OID,
  timeticks: snmp.ObjectType.TimeTicks,
} as const

/**
 * SET constraints, checked in the handler's test pass (net-snmp's own constraints would also
 * reject the values the objects read back, e.g. a WTI group's "mixed" state).
 */
function violates(
  d: { enumeration?: readonly number[]; range?: { min: number; max: number }; maxLength?: number },
  v: CellValue,
): boolean {
  if (d.enumeration && !d.enumeration.includes(Number(v))) return true
  if (d.range && (Number(v) < d.range.min || Number(v) > d.range.max)) return true
  return d.maxLength !== undefined && String(v).length > d.maxLength
}

function asValue(type: 'int' | 'str' | 'oid' | 'timeticks', v: unknown): CellValue {
  if (type === 'int' || type === 'timeticks') return Number(v)
  return Buffer.isBuffer(v) ? v.toString('latin1') : String(v)
}

/** Run a handler; a bug in the mock answers genErr instead of killing the agent. */
function handle(req: MibRequest, fn: () => void): void {
  try {
    fn()
    req.done()
  } catch {
    req.done({ errorStatus: snmp.ErrorStatus.GeneralError, type: snmp.ObjectType.Null, value: null })
  }
}

function refuse(req: MibRequest, status: ErrorStatusName): void {
  req.done({ errorStatus: snmp.ErrorStatus[status], type: snmp.ObjectType.Null, value: null })
}

export function registerScalar(mib: AgentMib, d: ScalarDef): void {
  mib.registerProvider({
    name: d.name,
    type: snmp.MibProviderType.Scalar,
    oid: d.oid,
    scalarType: TYPE[d.type],
    maxAccess: d.write ? snmp.MaxAccess['read-write'] : snmp.MaxAccess['read-only'],
    handler: (req: MibRequest) => {
      if (req.operation === snmp.PduType.SetRequest && d.write) {
        const value = asValue(d.type, req.setValue)
        if (req.testSet) {
          const bad = violates(d, value) ? 'WrongValue' : d.write.check?.(undefined, value)
          return bad ? refuse(req, bad) : req.done()
        }
        return handle(req, () => d.write!.set(undefined, value))
      }
      handle(req, () => {
        req.instanceNode.value = d.get()
      })
    },
  })
  mib.setScalarValue(d.name, d.get())
}

export function registerTable<R>(mib: AgentMib, t: TableDef<R>): void {
  const byKey = new Map<string, R>()
  const indexOf = (row: R) => t.columns.slice(0, t.indexColumns).map((c) => c.get(row))
  for (const row of t.rows) byKey.set(indexOf(row).join('.'), row)
  const cols = new Map(t.columns.map((c) => [c.number, c]))
  mib.registerProvider({
    name: t.name,
    type: snmp.MibProviderType.Table,
    oid: t.entry,
    maxAccess: snmp.MaxAccess['not-accessible'],
    tableColumns: t.columns.map((c) => ({
      number: c.number,
      name: c.name,
      type: TYPE[c.type],
      maxAccess: c.write ? snmp.MaxAccess['read-write'] : snmp.MaxAccess['read-only'],
    })),
    tableIndex: t.columns.slice(0, t.indexColumns).map((c) => ({ columnName: c.name })),
    handler: (req: MibRequest) => {
      // <entry>.<column>.<index…>
      const rest = String(req.oid)
        .slice(t.entry.length + 1)
        .split('.')
      const col = cols.get(Number(rest[0]))
      const row = byKey.get(rest.slice(1).join('.'))
      if (!col || row === undefined) return req.done()
      if (req.operation === snmp.PduType.SetRequest && col.write) {
        const value = asValue(col.type, req.setValue)
        if (req.testSet) {
          const bad = violates(col, value) ? 'WrongValue' : col.write.check?.(row, value)
          return bad ? refuse(req, bad) : req.done()
        }
        return handle(req, () => col.write!.set(row, value))
      }
      handle(req, () => {
        req.instanceNode.value = col.get(row)
      })
    },
  })
  for (const row of t.rows)
    mib.addTableRow(
      t.name,
      t.columns.map((c) => c.get(row)),
    )
}

/** The MIB-II system group of a unit (sysUpTime counts from `startedAt`). */
export function systemScalars(s: {
  descr: string
  objectID: string
  name: string
  contact?: string
  location?: string
  startedAt: number
}): ScalarDef[] {
  const sys = '1.3.6.1.2.1.1'
  return [
    { name: 'sysDescr', oid: `${sys}.1`, type: 'str', get: () => s.descr },
    { name: 'sysObjectID', oid: `${sys}.2`, type: 'oid', get: () => s.objectID },
    {
      name: 'sysUpTime',
      oid: `${sys}.3`,
      type: 'timeticks',
      get: () => Math.floor((Date.now() - s.startedAt) / 10) % 2 ** 32,
    },
    { name: 'sysContact', oid: `${sys}.4`, type: 'str', get: () => s.contact ?? '' },
    { name: 'sysName', oid: `${sys}.5`, type: 'str', get: () => s.name },
    { name: 'sysLocation', oid: `${sys}.6`, type: 'str', get: () => s.location ?? 'fencegate lab' },
    { name: 'sysServices', oid: `${sys}.7`, type: 'int', get: () => 72 },
  ]
}
