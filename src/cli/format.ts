import { formatDuration } from '../../core/duration.js'
import type { DeviceHealth, HistoryEntry, NodeResult, Operation } from '../engine/types.js'
import type { NodeView } from '../api/views.js'

/** Columns padded to the widest cell; the last column is not padded (no trailing blanks). */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  return `${all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

/** `pdu1:3 on`, levels separated by ` | ` when a node has several. */
function plugsCell(n: NodeView): string {
  const levels = new Map<number, string[]>()
  for (const p of n.plugs) {
    const l = levels.get(p.level) ?? []
    l.push(`${p.device}:${p.plug} ${p.state}`)
    levels.set(p.level, l)
  }
  if (levels.size <= 1) return [...levels.values()].flat().join(', ')
  return [...levels].map(([lv, ps]) => `L${lv}: ${ps.join(', ')}`).join(' | ')
}

export function nodesTable(nodes: NodeView[], opts: { fenceAction?: boolean } = {}): string {
  const header = ['NODE', 'STATE', ...(opts.fenceAction ? ['FENCE'] : []), 'PLUGS']
  let out = table(
    header,
    nodes.map((n) => [n.name, n.state, ...(opts.fenceAction ? [n.fenceAction] : []), plugsCell(n)]),
  )
  // errors below the table: a long message would wreck the columns
  for (const n of nodes)
    if (n.awaitingConfirmation)
      out += `${n.name}: every device failed; fence ${n.awaitingConfirmation.op} is waiting for operator confirmation since ${n.awaitingConfirmation.since} (fencegate confirm ${n.name} --reason ...)\n`
  for (const n of nodes)
    for (const p of n.plugs)
      if (p.error) out += `${n.name}: ${p.device}:${p.plug}: ${p.error.code}: ${p.error.message}\n`
  return out
}

function detail(r: NodeResult): string {
  const notes: string[] = []
  if (r.joined) notes.push('joined a fence in flight')
  if (r.already) notes.push(`already ${r.state}`)
  if (r.outcome === 'unverified') notes.push('sent to a device that cannot read back: state not known')
  if (r.confirmation)
    notes.push(`confirmed off by ${r.confirmation.by}, not read back: ${r.confirmation.reason}`)
  if (r.error) notes.push(`${r.error.code}: ${r.error.message}`)
  if (r.onVerified === false)
    notes.push(`power-on not verified${r.onError ? `: ${r.onError.code}: ${r.onError.message}` : ''}`)
  // a success on a later level: say why the earlier ones did not do
  if (r.outcome === 'success' && r.level !== undefined && r.level > 1) {
    const failed = r.attempts.find((a) => a.level < r.level! && a.outcome === 'failed')
    if (failed)
      notes.push(`level ${failed.level} failed: ${failed.code ?? ''} ${failed.message ?? ''}`.trim())
  }
  return notes.join('; ')
}

export function resultsTable(results: NodeResult[]): string {
  return table(
    ['NODE', 'ACTION', 'RESULT', 'STATE', 'LEVEL', 'TIME', 'DETAIL'],
    results.map((r) => [
      r.node,
      r.action,
      r.outcome,
      r.state,
      r.level !== undefined ? String(r.level) : '-',
      formatDuration(r.durationMs),
      detail(r),
    ]),
  )
}

export function summary(ops: Operation[]): string {
  const results = ops.flatMap((o) => o.results)
  const ok = results.filter((r) => r.outcome === 'success').length
  const failed = results.filter((r) => r.outcome === 'failed').length
  const unverified = results.filter((r) => r.outcome === 'unverified').length
  const confirmed = results.filter((r) => r.outcome === 'confirmed-by-operator').length
  const ids = ops.map((o) => o.id)
  const more = [
    ...(unverified ? [`${unverified} unverified`] : []),
    ...(confirmed ? [`${confirmed} confirmed by an operator`] : []),
  ]
  return `${ok} succeeded, ${failed} failed${more.map((m) => `, ${m}`).join('')} (operation${ids.length > 1 ? 's' : ''} ${ids.join(', ')})\n`
}

export function historyTable(entries: HistoryEntry[]): string {
  return table(
    ['STARTED', 'NODE', 'KIND', 'ACTION', 'OUTCOME', 'LEVEL', 'BY', 'OPERATION', 'ERROR'],
    entries.map((e) => [
      e.startedAt,
      e.node,
      e.kind,
      e.action,
      e.outcome,
      e.level !== undefined ? String(e.level) : '-',
      `${e.initiator.name} (${e.initiator.via})`,
      e.op,
      [
        e.error ? `${e.error.code}: ${e.error.message}` : '',
        e.onVerified === false ? 'power-on not verified' : '',
      ]
        .filter(Boolean)
        .join('; '),
    ]),
  )
}

export function devicesTable(devices: DeviceHealth[]): string {
  return table(
    ['DEVICE', 'DRIVER', 'HEALTH', 'PLUGS', 'LATENCY', 'LAST OK', 'ERROR'],
    devices.map((d) => [
      d.id,
      d.driver,
      d.verifies === false ? `${d.state} (unverified)` : d.state,
      String(d.plugs),
      d.latencyMs !== undefined ? formatDuration(d.latencyMs) : '-',
      d.lastOkAt ?? '-',
      d.lastError ? `${d.lastError.code}: ${d.lastError.message}` : '',
    ]),
  )
}
