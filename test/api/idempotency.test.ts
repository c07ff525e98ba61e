import { expect, it } from 'vitest'
import { IdempotencyStore, type IdempotentEntry } from '../../src/api/idempotency.js'
import type { Operation } from '../../src/engine/types.js'

const entry = (at: number): IdempotentEntry => {
  const p = Promise.resolve({} as Operation)
  return { fingerprint: 'f', started: p, done: p, at }
}

it('keys are scoped by token, expire after the TTL, and the store is bounded', () => {
  let now = 0
  const s = new IdempotencyStore({ ttlMs: 1000, max: 3, now: () => now })
  s.set('a', 'k', entry(now))
  expect(s.get('a', 'k')).toBeDefined()
  expect(s.get('b', 'k')).toBeUndefined()
  now = 1001
  expect(s.get('a', 'k')).toBeUndefined()
  for (const k of ['1', '2', '3', '4', '5']) s.set('a', k, entry(now))
  expect(s.size).toBe(3)
  expect(s.get('a', '1')).toBeUndefined()
  expect(s.get('a', '5')).toBeDefined()
})

it('delete forgets a key only if it still holds that entry', () => {
  const s = new IdempotencyStore()
  const first = entry(Date.now())
  const second = entry(Date.now())
  s.set('a', 'k', first)
  s.set('a', 'k', second)
  s.delete('a', 'k', first)
  expect(s.get('a', 'k')).toBe(second)
  s.delete('a', 'k', second)
  expect(s.get('a', 'k')).toBeUndefined()
})
