/**
 * Nodes: a grid of tiles with each node's power state (on / off / unknown / fenced-on-hold),
 * grouped by device, filtered by a hostlist and a state; select tiles and act on them (on, off,
 * cycle, reboot, fence) with a confirmation that names the nodes, then follow each node's
 * progress and result as the API reports them.
 */
import { compressHostlist, expandHostlist } from '../core/hostlist.js'
import { ApiError, type NodeView, type Operation, api } from './api.js'
import type { View } from './app.js'
import { fill, h } from './dom.js'
import { can, changed, setOperation, store } from './store.js'

export type TileState = 'on' | 'off' | 'unknown' | 'fenced-on-hold'
const STATES: TileState[] = ['on', 'off', 'unknown', 'fenced-on-hold']

export function tileState(n: NodeView, now = Date.now()): TileState {
  if (n.fenceHold && Date.parse(n.fenceHold.until) > now) return 'fenced-on-hold'
  return n.state
}

type GroupBy = 'device' | 'group' | 'none'

/** The device a node is grouped under: the first plug of its first level. */
function deviceOf(n: NodeView): string {
  return n.levels[0]?.[0]?.device ?? '(none)'
}

type Action = 'on' | 'off' | 'cycle' | 'reboot' | 'fence'
const VERB: Record<Action, string> = {
  on: 'Power on',
  off: 'Power off',
  cycle: 'Power cycle',
  reboot: 'Reboot',
  fence: 'Fence',
}

/** The operation under way on a node that has not finished with it yet. */
function runningOn(node: string): Operation | undefined {
  for (const o of store.ops.values())
    if (o.status === 'running' && o.nodes.includes(node) && !o.results.some((r) => r.node === node)) return o
  return undefined
}

export function mountNodes(el: HTMLElement): View {
  let filter: Set<string> | undefined
  let stateFilter = ''
  let groupBy: GroupBy = [...store.nodes.values()].some((n) => n.group) ? 'group' : 'device'
  const hostlist = h('input', {
    id: 'f-hostlist',
    type: 'text',
    placeholder: 'node[1-16]',
    'aria-describedby': 'f-hostlist-err',
    spellcheck: 'false',
  })
  const hostErr = h('span', { id: 'f-hostlist-err', class: 'error', 'aria-live': 'polite' })
  hostlist.addEventListener('input', () => {
    const v = hostlist.value.trim()
    try {
      filter = v ? new Set(expandHostlist(v)) : undefined
      hostErr.textContent = ''
      hostlist.removeAttribute('aria-invalid')
    } catch (e) {
      hostErr.textContent = (e as Error).message
      hostlist.setAttribute('aria-invalid', 'true')
    }
    grid()
  })
  const stateSel = h(
    'select',
    { id: 'f-state' },
    h('option', { value: '' }, 'any state'),
    STATES.map((s) => h('option', { value: s }, s)),
  )
  stateSel.addEventListener('change', () => {
    stateFilter = stateSel.value
    grid()
  })
  const groupSel = h(
    'select',
    { id: 'f-group' },
    h('option', { value: 'device', selected: groupBy === 'device' }, 'by device'),
    h('option', { value: 'group', selected: groupBy === 'group' }, 'by group label'),
    h('option', { value: 'none' }, 'no grouping'),
  )
  groupSel.addEventListener('change', () => {
    groupBy = groupSel.value as GroupBy
    grid()
  })

  const gridEl = h('div', { class: 'groups' })
  const bar = h('div', { class: 'actions', role: 'toolbar', 'aria-label': 'Actions on the selected nodes' })
  const progress = h('section', { class: 'progress', 'aria-labelledby': 'progress-title' })
  const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title' })

  fill(
    el,
    h('h1', {}, 'Nodes'),
    h(
      'form',
      { class: 'filters', role: 'search', onsubmit: (e: Event) => e.preventDefault() },
      h('label', { for: 'f-hostlist' }, 'Hostlist'),
      hostlist,
      h('label', { for: 'f-state' }, 'State'),
      stateSel,
      h('label', { for: 'f-group' }, 'Group'),
      groupSel,
      hostErr,
    ),
    can('operator') ? bar : null,
    gridEl,
    progress,
    dialog,
  )

  const visible = (): NodeView[] =>
    [...store.nodes.values()].filter(
      (n) => (!filter || filter.has(n.name)) && (!stateFilter || tileState(n) === stateFilter),
    )

  function tile(n: NodeView): HTMLElement {
    const st = tileState(n)
    const running = runningOn(n.name)
    const rest = [
      h('span', { class: `badge st-${st}` }, st),
      running
        ? h('span', { class: 'busy' }, `${running.kind === 'fence' ? 'fencing' : running.action}…`)
        : null,
      h('span', { class: 'plugs' }, n.plugs.map((p) => `${p.device}:${p.plug} ${p.state}`).join(', ')),
      n.awaitingConfirmation ? h('span', { class: 'warn' }, 'waits for manual confirmation') : null,
    ]
    const name = h('span', { class: 'name' }, n.name)
    const attrs = { class: `tile st-${st}`, 'data-node': n.name, 'data-state': st }
    if (!can('operator')) return h('li', attrs, h('div', { class: 'tile-body' }, name, rest))
    const box = h('input', { type: 'checkbox', id: `sel-${n.name}`, checked: store.selected.has(n.name) })
    box.addEventListener('change', () => {
      if (box.checked) store.selected.add(n.name)
      else store.selected.delete(n.name)
      changed()
    })
    return h(
      'li',
      attrs,
      h(
        'label',
        { class: 'tile-body', for: `sel-${n.name}` },
        h('span', { class: 'tile-head' }, box, name),
        rest,
      ),
    )
  }

  /** What a tile shows, to leave the grid alone when nothing it shows has changed. */
  const shown = (n: NodeView) => [
    n.name,
    tileState(n),
    runningOn(n.name)?.id,
    store.selected.has(n.name),
    n.plugs.map((p) => p.state),
    !!n.awaitingConfirmation,
  ]
  let lastGrid = ''
  let lastBar = ''

  function grid(): void {
    const nodes = visible()
    const key = JSON.stringify([groupBy, store.nodes.size, nodes.map(shown)])
    if (key === lastGrid) return
    lastGrid = key
    const groups = new Map<string, NodeView[]>()
    for (const n of nodes) {
      const g =
        groupBy === 'device' ? deviceOf(n) : groupBy === 'group' ? (n.group ?? '(no group)') : 'all nodes'
      groups.set(g, [...(groups.get(g) ?? []), n])
    }
    const focused = document.activeElement?.id
    fill(
      gridEl,
      nodes.length
        ? null
        : h('p', {}, store.nodes.size ? 'No node matches the filter.' : 'This token may see no node.'),
      [...groups].map(([g, ns]) =>
        h(
          'section',
          { class: 'group', 'aria-label': g },
          h('h2', {}, g, h('span', { class: 'count' }, ` ${ns.length}`)),
          h('ul', { class: 'tiles' }, ns.map(tile)),
        ),
      ),
    )
    if (focused) document.getElementById(focused)?.focus()
  }

  function actions(): void {
    if (!can('operator')) return
    const sel = [...store.selected].filter((n) => store.nodes.has(n))
    const acts: Action[] = ['on', 'off', 'cycle', 'reboot', ...(can('fencer') ? (['fence'] as const) : [])]
    const key = JSON.stringify(sel)
    if (key === lastBar) return
    lastBar = key
    fill(
      bar,
      h(
        'span',
        { class: 'sel-count', 'aria-live': 'polite' },
        sel.length ? `${sel.length} selected: ${compressHostlist(sel)}` : 'Select nodes to act on them',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: () => {
            for (const n of visible()) store.selected.add(n.name)
            changed()
          },
        },
        'Select shown',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          disabled: !sel.length,
          onclick: () => {
            store.selected.clear()
            changed()
          },
        },
        'Clear',
      ),
      acts.map((a) =>
        h(
          'button',
          {
            type: 'button',
            class: a === 'fence' ? 'danger' : '',
            'data-action': a,
            disabled: !sel.length,
            onclick: () => confirmAction(a, sel),
          },
          VERB[a],
        ),
      ),
    )
  }

  function confirmAction(action: Action, nodes: string[]): void {
    const list = compressHostlist(nodes)
    const mustType = action === 'fence' && nodes.length > 1
    const typed = h('input', { id: 'confirm-typed', type: 'text', autocomplete: 'off', spellcheck: 'false' })
    const ok = h(
      'button',
      { type: 'submit', class: action === 'fence' || action === 'off' ? 'danger' : '', disabled: mustType },
      `${VERB[action]} ${nodes.length === 1 ? nodes[0] : `${nodes.length} nodes`}`,
    )
    typed.addEventListener('input', () => {
      ok.disabled = typed.value.trim() !== list
    })
    const form = h(
      'form',
      { method: 'dialog' },
      h(
        'h2',
        { id: 'confirm-title' },
        `${VERB[action]} ${nodes.length === 1 ? 'this node' : `these ${nodes.length} nodes`}?`,
      ),
      h(
        'ul',
        { class: 'names' },
        nodes.map((n) => h('li', {}, n)),
      ),
      action === 'fence'
        ? h('p', {}, 'Fencing is a hard power-off, verified by read-back; the node loses power at once.')
        : null,
      mustType ? [h('label', { for: 'confirm-typed' }, `Type ${list} to confirm`), typed] : null,
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel'),
        ok,
      ),
    )
    form.addEventListener('submit', (e) => {
      e.preventDefault()
      if (mustType && typed.value.trim() !== list) return
      dialog.close()
      void run(action, nodes)
    })
    fill(dialog, form)
    dialog.showModal()
    ;(mustType ? typed : ok).focus()
  }

  /** Refused requests, by a key of the progress panel, with the API's error as it came. */
  const refused: { key: string; action: Action; nodes: string[]; error: ApiError }[] = []

  async function run(action: Action, nodes: string[]): Promise<void> {
    const calls =
      action === 'fence'
        ? nodes.map((n) => ({
            nodes: [n],
            call: () =>
              api<{ operation: Operation }>(
                'POST',
                `/v1/nodes/${encodeURIComponent(n)}/fence?wait=false`,
                {},
              ),
          }))
        : nodes.length === 1
          ? [
              {
                nodes,
                call: () =>
                  api<{ operation: Operation }>(
                    'POST',
                    `/v1/nodes/${encodeURIComponent(nodes[0]!)}/power?wait=false`,
                    { action },
                  ),
              },
            ]
          : [
              {
                nodes,
                call: () =>
                  api<{ operation: Operation }>('POST', '/v1/power?wait=false', {
                    targets: compressHostlist(nodes),
                    action,
                  }),
              },
            ]
    await Promise.all(
      calls.map(async (c) => {
        try {
          const { operation } = await c.call()
          setOperation(operation, 'answer')
          store.mine.unshift(operation.id)
        } catch (e) {
          const error = e instanceof ApiError ? e : new ApiError(0, 'ERROR', String(e))
          refused.unshift({ key: `r${Date.now()}${Math.random()}`, action, nodes: c.nodes, error })
        }
        changed()
      }),
    )
  }

  function progressPanel(): void {
    const ops = store.mine
      .map((id) => store.ops.get(id))
      .filter((o): o is Operation => !!o)
      .slice(0, 10)
    if (!ops.length && !refused.length) {
      fill(progress)
      return
    }
    fill(
      progress,
      h('h2', { id: 'progress-title' }, 'Your operations'),
      h(
        'ul',
        { class: 'ops', 'aria-live': 'polite' },
        refused
          .slice(0, 10)
          .map((r) =>
            h(
              'li',
              { class: 'op failed', 'data-refused': r.nodes.join(',') },
              h('span', { class: 'what' }, `${r.action} ${compressHostlist(r.nodes)}`),
              ' refused: ',
              h('code', {}, `${r.error.status} ${r.error.code}`),
              ' ',
              h('span', { class: 'message' }, r.error.message),
            ),
          ),
        ops.map((o) =>
          h(
            'li',
            { class: `op ${o.status}`, 'data-op': o.id },
            h(
              'a',
              { href: `#/operations/${o.id}` },
              `${o.kind === 'fence' ? 'fence' : o.action} ${compressHostlist(o.nodes)}`,
            ),
            ' ',
            h('span', { class: `badge op-${o.status}` }, o.status),
            h(
              'ul',
              { class: 'per-node' },
              o.nodes.map((n) => {
                const r = o.results.find((x) => x.node === n)
                return h(
                  'li',
                  { 'data-node': n, 'data-outcome': r?.outcome ?? 'running' },
                  `${n}: `,
                  r
                    ? h('span', { class: `badge out-${r.outcome}` }, r.outcome)
                    : h('span', { class: 'busy' }, 'running…'),
                  r ? ` state ${r.state}` : '',
                  r?.level !== undefined ? `, level ${r.level}` : '',
                  r?.error
                    ? [
                        ' ',
                        h('code', {}, r.error.code),
                        ' ',
                        h('span', { class: 'message' }, r.error.message),
                      ]
                    : null,
                  r?.onError ? [' power-on: ', h('code', {}, r.onError.code), ' ', r.onError.message] : null,
                )
              }),
            ),
          ),
        ),
      ),
    )
  }

  // a fence hold ends by the clock, not by an event
  const tick = setInterval(() => {
    if ([...store.nodes.values()].some((n) => n.fenceHold)) grid()
  }, 1000)

  return {
    update() {
      grid()
      actions()
      progressPanel()
    },
    unmount() {
      clearInterval(tick)
    },
  }
}
