/**
 * The gateway's REST API from the page: the token lives in sessionStorage only (never in a URL,
 * never in localStorage), every call sends it as a Bearer header, and the live events are read
 * from GET /v1/events with fetch() (EventSource cannot send a header).
 */
import type { NodeView } from '../src/api/views.js'
import type { DeviceHealth, HistoryEntry, Operation } from '../src/engine/types.js'

export type { DeviceHealth, HistoryEntry, NodeView, Operation }
export type Role = 'viewer' | 'operator' | 'fencer'
export interface Whoami {
  name: string
  role: Role
  nodes: string[]
  simulated: boolean
}

const KEY = 'fencegate.token'

export const token = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (t: string) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
}

/** An error answer of the API, kept as it came: {statusCode, error, code, message}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export async function api<T>(method: string, path: string, body?: unknown, tok = token.get()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (tok) headers.authorization = `Bearer ${tok}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `the gateway did not answer: ${(e as Error).message}`)
  }
  const text = await res.text()
  let data: unknown
  try {
    data = text ? JSON.parse(text) : undefined
  } catch {
    data = undefined
  }
  if (!res.ok) {
    const b = (data ?? {}) as { code?: string; message?: string }
    throw new ApiError(res.status, b.code ?? `HTTP_${res.status}`, b.message ?? (text || res.statusText))
  }
  return data as T
}

/**
 * Read the event stream until it ends or `signal` aborts: `onEvent(name, data)` per event.
 * Throws ApiError when the stream is refused (401/403).
 */
export async function readEvents(
  onEvent: (name: string, data: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  const res = await fetch('/v1/events', {
    headers: { authorization: `Bearer ${token.get() ?? ''}`, accept: 'text/event-stream' },
    signal,
  })
  if (!res.ok || !res.body) {
    const b = (await res.json().catch(() => ({}))) as { code?: string; message?: string }
    throw new ApiError(res.status, b.code ?? `HTTP_${res.status}`, b.message ?? res.statusText)
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buf += value
    for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
      const block = buf.slice(0, end)
      buf = buf.slice(end + 2)
      let name = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
      }
      if (data.length) onEvent(name, JSON.parse(data.join('\n')))
    }
  }
}
