/**
 * The fencegate dashboard: sign in with a token, then views of the nodes, devices, heartbeat,
 * history and single operations (hash routes: #/nodes, #/devices, #/heartbeat, #/history,
 * #/operations/ID), kept live by the gateway's event stream. What the page offers follows the
 * token's role; the API enforces it either way.
 */
import {
  ApiError,
  type DeviceHealth,
  type NodeView,
  type Operation,
  type Whoami,
  api,
  readEvents,
  token,
} from './api.js'
import { fill, h } from './dom.js'
import { mountNodes } from './nodes.js'
import { changed, setDevice, setOperation, store, watch } from './store.js'
import { mountDevices, mountHeartbeat, mountHistory, mountOperation } from './views.js'

const main = document.getElementById('main')!
const nav = document.getElementById('nav')!
const whoEl = document.getElementById('who')!

/** A mounted view: called on every store change until unmounted. */
export interface View {
  update(): void
  unmount?(): void
}

const ROUTES: { path: string; label: string }[] = [
  { path: 'nodes', label: 'Nodes' },
  { path: 'devices', label: 'Devices' },
  { path: 'heartbeat', label: 'Heartbeat' },
  { path: 'history', label: 'History' },
]

let view: View | undefined
let stream: AbortController | undefined

function signIn(message?: string): void {
  stream?.abort()
  view?.unmount?.()
  view = undefined
  nav.hidden = true
  fill(whoEl)
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    required: true,
    'aria-describedby': 'token-help',
  })
  const error = h('p', { id: 'signin-error', class: 'error', role: 'alert' }, message ?? '')
  const form = h(
    'form',
    { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h('label', { for: 'token' }, 'Token'),
    input,
    h(
      'p',
      { id: 'token-help', class: 'help' },
      'A fencegate API token (the demo prints one). It is kept in this tab only (session storage).',
    ),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const t = input.value.trim()
    try {
      await api<Whoami>('GET', '/v1/whoami', undefined, t)
      token.set(t)
      await start()
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err)
    }
  })
  fill(main, form)
  input.focus()
}

async function start(): Promise<void> {
  try {
    const [me, nodes, devices] = await Promise.all([
      api<Whoami>('GET', '/v1/whoami'),
      api<{ nodes: NodeView[] }>('GET', '/v1/nodes'),
      api<{ devices: DeviceHealth[] }>('GET', '/v1/devices'),
    ])
    store.me = me
    store.nodes = new Map(nodes.nodes.map((n) => [n.name, n]))
    for (const d of devices.devices) setDevice(d)
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      token.clear()
      return signIn(e.message)
    }
    fill(main, h('p', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e)))
    return
  }
  const me = store.me!
  fill(
    whoEl,
    h('span', {}, `${me.name} (${me.role})${me.simulated ? ' · simulated' : ''} `),
    h('span', { id: 'live', class: 'live', role: 'status' }),
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: () => {
          token.clear()
          signIn()
        },
      },
      'Sign out',
    ),
  )
  nav.hidden = false
  live()
  route()
}

/** Keep the event stream open; on every (re)connect read the state afresh. */
function live(): void {
  stream?.abort()
  const ctl = new AbortController()
  stream = ctl
  let backoff = 1000
  const loop = async () => {
    while (!ctl.signal.aborted) {
      store.live = 'connecting'
      showLive()
      try {
        await readEvents(onEvent, ctl.signal)
      } catch (e) {
        if (ctl.signal.aborted) return
        if (e instanceof ApiError && e.status === 401) {
          token.clear()
          return signIn(e.message)
        }
      }
      if (ctl.signal.aborted) return
      store.live = 'down'
      showLive()
      await new Promise((r) => setTimeout(r, backoff))
      backoff = Math.min(backoff * 2, 10_000)
    }
  }
  const onEvent = (name: string, data: unknown) => {
    switch (name) {
      case 'hello':
        backoff = 1000
        store.live = 'live'
        showLive()
        void resync()
        break
      case 'node': {
        const n = data as NodeView
        store.nodes.set(n.name, n)
        break
      }
      case 'device':
        setDevice(data as DeviceHealth)
        break
      case 'operation': {
        const { phase, operation } = data as {
          phase: 'started' | 'progress' | 'finished'
          operation: Operation
        }
        setOperation(operation, phase)
        break
      }
    }
    changed()
    if (name === 'heartbeat' || name === 'operation') document.dispatchEvent(new CustomEvent(`fg-${name}`))
  }
  void loop()
}

async function resync(): Promise<void> {
  try {
    const [nodes, devices] = await Promise.all([
      api<{ nodes: NodeView[] }>('GET', '/v1/nodes'),
      api<{ devices: DeviceHealth[] }>('GET', '/v1/devices'),
    ])
    store.nodes = new Map(nodes.nodes.map((n) => [n.name, n]))
    for (const d of devices.devices) setDevice(d)
    changed()
  } catch {
    // the stream tells again; the next reconnect reads again
  }
}

function showLive(): void {
  const el = document.getElementById('live')
  if (!el) return
  el.dataset.live = store.live
  el.textContent =
    store.live === 'live' ? '● live' : store.live === 'connecting' ? '○ connecting' : '○ offline, retrying'
}

function route(): void {
  if (!store.me) return
  const [path = 'nodes', arg] = location.hash.replace(/^#\/?/, '').split('/')
  fill(
    nav,
    h(
      'ul',
      {},
      ROUTES.map((r) =>
        h(
          'li',
          {},
          h('a', { href: `#/${r.path}`, 'aria-current': r.path === path ? 'page' : undefined }, r.label),
        ),
      ),
    ),
  )
  view?.unmount?.()
  const container = h('div', { class: `view view-${path}` })
  fill(main, container)
  switch (path) {
    case 'devices':
      view = mountDevices(container)
      break
    case 'heartbeat':
      view = mountHeartbeat(container)
      break
    case 'history':
      view = mountHistory(container)
      break
    case 'operations':
      view = mountOperation(container, decodeURIComponent(arg ?? ''))
      break
    default:
      view = mountNodes(container)
  }
  view.update()
  main.querySelector('h1')?.setAttribute('tabindex', '-1')
  ;(main.querySelector('h1') as HTMLElement | null)?.focus()
}

watch(() => view?.update())
window.addEventListener('hashchange', route)
if (token.get()) void start()
else signIn()
