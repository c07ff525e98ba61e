/** Devices (health), heartbeat (membership, links), history (timeline), one operation. */
import { ApiError, type HistoryEntry, type Operation, api } from './api.js'
import type { View } from './app.js'
import { ago, fill, h, sparkline } from './dom.js'
import { can, changed, setDevice, setOperation, store } from './store.js'

function errorText(e: unknown): string {
  return e instanceof ApiError ? `${e.status} ${e.code}: ${e.message}` : String(e)
}

// ---- devices ------------------------------------------------------------------------------

export function mountDevices(el: HTMLElement): View {
  const list = h('ul', { class: 'devices' })
  const status = h('p', { role: 'status', class: 'help' })
  fill(el, h('h1', {}, 'Devices'), status, list)
  const probe = async (id: string) => {
    status.textContent = `probing ${id}…`
    try {
      const { device } = await api<{ device: Parameters<typeof setDevice>[0] }>(
        'POST',
        `/v1/devices/${encodeURIComponent(id)}/probe`,
      )
      setDevice(device)
      status.textContent = `${id}: ${device.state}`
      changed()
    } catch (e) {
      status.textContent = errorText(e)
    }
  }
  return {
    update() {
      const now = Date.now()
      fill(
        list,
        [...store.devices.values()].map((d) =>
          h(
            'li',
            { class: `device dev-${d.state}`, 'data-device': d.id, 'data-state': d.state },
            h('h2', {}, d.id, ' ', h('span', { class: 'driver' }, d.driver)),
            h(
              'p',
              { class: 'badges' },
              h('span', { class: `badge dev-${d.state}` }, d.state),
              d.verifies
                ? null
                : h(
                    'span',
                    {
                      class: 'badge unverified',
                      title: 'cannot read its outlets back: operator power only, never fencing',
                    },
                    'unverified',
                  ),
            ),
            h(
              'dl',
              {},
              h('dt', {}, 'Last contact'),
              h('dd', {}, ago(d.lastOkAt, now)),
              h('dt', {}, 'Last probe'),
              h('dd', {}, ago(d.lastProbeAt, now)),
              h('dt', {}, 'Latency'),
              h(
                'dd',
                {},
                d.latencyMs !== undefined ? `${d.latencyMs} ms ` : '– ',
                sparkline(
                  store.latency.get(d.id) ?? [],
                  `probe latency of ${d.id}, last ${(store.latency.get(d.id) ?? []).length} probes`,
                ),
              ),
              h('dt', {}, 'Last error'),
              h(
                'dd',
                { class: 'last-error' },
                d.lastError
                  ? [
                      h('code', {}, d.lastError.code),
                      ' ',
                      d.lastError.message,
                      ' (',
                      ago(d.lastError.at, now),
                      ')',
                    ]
                  : 'none',
              ),
              h('dt', {}, 'Counts'),
              h(
                'dd',
                {},
                `${d.counts.probes} probes (${d.counts.probeFailures} failed), ${d.counts.commands} commands (${d.counts.commandFailures} failed), ${d.queued} queued, ${d.plugs} plugs`,
              ),
            ),
            can('operator')
              ? h(
                  'button',
                  { type: 'button', class: 'secondary', onclick: () => probe(d.id) },
                  `Probe ${d.id} now`,
                )
              : null,
          ),
        ),
      )
    },
  }
}

// ---- heartbeat ----------------------------------------------------------------------------

interface HeartbeatSnapshot {
  node: string
  nodes: {
    name: string
    self: boolean
    state: string
    reason?: string
    lastHeard?: string
    links: { name: string; state: string; lastHeard?: string }[]
  }[]
  links: { name: string; kind: string; state: string; lastError?: string; sent: number; received: number }[]
  quorum: { members: number; live: number; needed: number; quorate: boolean }
  fencing: { enabled: boolean; blockedBy?: string }
}

export function mountHeartbeat(el: HTMLElement): View {
  const body = h('div', {}, h('p', {}, 'Loading…'))
  fill(el, h('h1', {}, 'Heartbeat'), body)
  let gone = false
  const load = async () => {
    try {
      const s = await api<HeartbeatSnapshot>('GET', '/v1/heartbeat')
      if (gone) return
      fill(
        body,
        h(
          'p',
          { class: s.quorum.quorate ? 'ok' : 'error' },
          `This node: ${s.node}. Quorum: ${s.quorum.live} of ${s.quorum.members} live, ${s.quorum.needed} needed — ${s.quorum.quorate ? 'quorate' : 'NOT quorate'}. Heartbeat fencing ${s.fencing.enabled ? 'on' : 'off'}${s.fencing.blockedBy ? ` (blocked: ${s.fencing.blockedBy})` : ''}.`,
        ),
        h('h2', {}, 'Members'),
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Node', 'State', 'Last heard', 'Links'].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            s.nodes.map((n) =>
              h(
                'tr',
                { 'data-member': n.name },
                h('th', { scope: 'row' }, n.name, n.self ? ' (this node)' : ''),
                h(
                  'td',
                  {},
                  h('span', { class: `badge hb-${n.state}` }, n.state),
                  n.reason ? ` ${n.reason}` : '',
                ),
                h('td', {}, ago(n.lastHeard)),
                h(
                  'td',
                  {},
                  n.links.map((l) => h('span', { class: `badge hb-${l.state}` }, `${l.name} ${l.state}`)),
                ),
              ),
            ),
          ),
        ),
        h('h2', {}, 'Links (this end)'),
        h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Link', 'Kind', 'State', 'Sent', 'Received', 'Last error'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            s.links.map((l) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, l.name),
                h('td', {}, l.kind),
                h('td', {}, h('span', { class: `badge link-${l.state}` }, l.state)),
                h('td', {}, l.sent),
                h('td', {}, l.received),
                h('td', {}, l.lastError ?? ''),
              ),
            ),
          ),
        ),
      )
    } catch (e) {
      if (gone) return
      fill(
        body,
        h(
          'p',
          {},
          e instanceof ApiError && e.status === 404
            ? 'This gateway runs no heartbeat (no heartbeat section in its config).'
            : errorText(e),
        ),
      )
      clearInterval(timer)
    }
  }
  void load()
  const timer = setInterval(load, 2000)
  return {
    update() {},
    unmount() {
      gone = true
      clearInterval(timer)
    },
  }
}

// ---- history ------------------------------------------------------------------------------

const OUTCOMES = ['success', 'failed', 'unverified', 'confirmed-by-operator', 'unknown', 'running']

export function mountHistory(el: HTMLElement): View {
  const node = h('input', { id: 'h-node', type: 'text', spellcheck: 'false', list: 'h-nodes' })
  const outcome = h(
    'select',
    { id: 'h-outcome' },
    h('option', { value: '' }, 'any outcome'),
    OUTCOMES.map((o) => h('option', { value: o }, o)),
  )
  const list = h('ol', { class: 'timeline', 'aria-live': 'polite' })
  const status = h('p', { role: 'status', class: 'help' })
  fill(
    el,
    h('h1', {}, 'History'),
    h(
      'form',
      {
        class: 'filters',
        role: 'search',
        onsubmit: (e: Event) => {
          e.preventDefault()
          void load()
        },
      },
      h('label', { for: 'h-node' }, 'Node'),
      node,
      h(
        'datalist',
        { id: 'h-nodes' },
        [...store.nodes.keys()].map((n) => h('option', { value: n })),
      ),
      h('label', { for: 'h-outcome' }, 'Outcome'),
      outcome,
      h('button', { type: 'submit' }, 'Show'),
    ),
    status,
    list,
  )
  outcome.addEventListener('change', () => void load())
  let gone = false
  async function load(): Promise<void> {
    const q = new URLSearchParams({ limit: '200' })
    if (node.value.trim()) q.set('node', node.value.trim())
    if (outcome.value) q.set('outcome', outcome.value)
    try {
      const { entries } = await api<{ entries: HistoryEntry[] }>('GET', `/v1/history?${q}`)
      if (gone) return
      status.textContent = `${entries.length} entries${entries.length === 200 ? ' (the newest 200)' : ''}`
      fill(list, entries.map(entry))
    } catch (e) {
      status.textContent = errorText(e)
    }
  }
  function entry(e: HistoryEntry): HTMLElement {
    const attempts = h('div', { class: 'attempts' })
    const details = h('details', {}, h('summary', {}, 'Attempts'), attempts)
    details.addEventListener('toggle', async () => {
      if (!details.open || attempts.childElementCount) return
      try {
        const { operation } = await api<{ operation: Operation }>(
          'GET',
          `/v1/operations/${encodeURIComponent(e.op)}`,
        )
        const r = operation.results.find((x) => x.node === e.node)
        fill(attempts, r ? attemptsTable(r.attempts) : h('p', {}, 'no result yet'))
      } catch (err) {
        fill(attempts, h('p', {}, errorText(err)))
      }
    })
    return h(
      'li',
      { class: `entry out-${e.outcome}`, 'data-op': e.op, 'data-node': e.node, 'data-outcome': e.outcome },
      h('time', { datetime: e.startedAt }, new Date(e.startedAt).toLocaleString()),
      ' ',
      h('strong', {}, `${e.kind} ${e.action} ${e.node}`),
      ' ',
      h('span', { class: `badge out-${e.outcome}` }, e.outcome),
      e.level !== undefined ? ` level ${e.level}` : '',
      ` by ${e.initiator.name} (${e.initiator.role}, ${e.initiator.via}) `,
      h('a', { href: `#/operations/${e.op}` }, 'operation'),
      e.error ? h('p', { class: 'error-line' }, h('code', {}, e.error.code), ' ', e.error.message) : null,
      e.confirmation ? h('p', {}, `confirmed off by ${e.confirmation.by}: ${e.confirmation.reason}`) : null,
      details,
    )
  }
  const onOp = () => void load()
  document.addEventListener('fg-operation', onOp)
  void load()
  return {
    update() {},
    unmount() {
      gone = true
      document.removeEventListener('fg-operation', onOp)
    },
  }
}

function attemptsTable(attempts: Operation['results'][number]['attempts']): HTMLElement {
  if (!attempts.length) return h('p', {}, 'no device step (nothing was switched)')
  return h(
    'table',
    { class: 'attempts-table' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Level', 'Device', 'Plug', 'Step', 'Outcome', 'State', 'Error', 'Tries', 'ms'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      attempts.map((a) =>
        h(
          'tr',
          { class: `att-${a.outcome}` },
          h('td', {}, a.level),
          h('td', {}, a.device),
          h('td', {}, a.plug),
          h('td', {}, a.step),
          h('td', {}, h('span', { class: `badge att-${a.outcome}` }, a.outcome)),
          h('td', {}, a.state ?? ''),
          h('td', {}, a.code ? [h('code', {}, a.code), ' ', a.message ?? ''] : (a.message ?? '')),
          h('td', {}, a.tries),
          h('td', {}, Math.round(a.durationMs)),
        ),
      ),
    ),
  )
}

// ---- one operation ------------------------------------------------------------------------

export function mountOperation(el: HTMLElement, id: string): View {
  const body = h('div', {}, h('p', {}, 'Loading…'))
  fill(el, h('h1', {}, 'Operation ', h('code', {}, id)), body)
  let error: string | undefined
  api<{ operation: Operation }>('GET', `/v1/operations/${encodeURIComponent(id)}`)
    .then(({ operation }) => {
      setOperation(operation, 'answer')
      changed()
    })
    .catch((e) => {
      error = errorText(e)
      changed()
    })
  return {
    update() {
      const o = store.ops.get(id)
      if (!o) {
        if (error) fill(body, h('p', { class: 'error', role: 'alert' }, error))
        return
      }
      fill(
        body,
        h(
          'dl',
          { class: 'op-head' },
          h('dt', {}, 'What'),
          h('dd', {}, `${o.kind} ${o.action} ${o.nodes.join(', ')}`),
          h('dt', {}, 'Status'),
          h('dd', {}, h('span', { class: `badge op-${o.status}`, 'data-status': o.status }, o.status)),
          h('dt', {}, 'By'),
          h('dd', {}, `${o.initiator.name} (${o.initiator.role}, via ${o.initiator.via})`),
          h('dt', {}, 'Started'),
          h('dd', {}, o.startedAt),
          h('dt', {}, 'Finished'),
          h('dd', {}, o.finishedAt ?? 'running'),
        ),
        o.results.map((r) =>
          h(
            'section',
            { class: 'result', 'data-node': r.node, 'data-outcome': r.outcome },
            h('h2', {}, r.node, ' ', h('span', { class: `badge out-${r.outcome}` }, r.outcome)),
            h(
              'p',
              {},
              `state ${r.state}`,
              r.level !== undefined ? `, level ${r.level}` : '',
              r.already ? ', already so' : '',
              r.joined ? ', joined a fence in flight' : '',
              r.onVerified !== undefined ? `, power-on ${r.onVerified ? 'verified' : 'not verified'}` : '',
              `, ${Math.round(r.durationMs)} ms`,
            ),
            r.error
              ? h('p', { class: 'error-line' }, h('code', {}, r.error.code), ' ', r.error.message)
              : null,
            r.onError
              ? h(
                  'p',
                  { class: 'error-line' },
                  'power-on: ',
                  h('code', {}, r.onError.code),
                  ' ',
                  r.onError.message,
                )
              : null,
            r.confirmation
              ? h('p', {}, `confirmed off by ${r.confirmation.by}: ${r.confirmation.reason}`)
              : null,
            attemptsTable(r.attempts),
          ),
        ),
      )
    },
  }
}
