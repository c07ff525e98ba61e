import { describe, expect, it } from 'vitest'
import { FenceError } from './errors.js'
import { untilAborted } from './deadline.js'

describe('untilAborted', () => {
  it('passes the result through when the work ends first', async () => {
    await expect(untilAborted(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7)
    await expect(untilAborted(Promise.reject(new Error('no')), new AbortController().signal)).rejects.toThrow(
      'no',
    )
  })

  it('rejects with the signal when it aborts first, and hands a late result to onLate', async () => {
    const ac = new AbortController()
    let finish!: (v: string) => void
    const work = new Promise<string>((r) => {
      finish = r
    })
    const late: string[] = []
    const waiting = untilAborted(work, ac.signal, (v) => late.push(v))
    ac.abort(new FenceError('DEADLINE_EXCEEDED', 'deadline passed'))
    await expect(waiting).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' })
    finish('port')
    await work
    expect(late).toEqual(['port'])
  })

  it('an already aborted signal rejects at once; a late failure is swallowed', async () => {
    const ac = new AbortController()
    ac.abort()
    await expect(untilAborted(Promise.reject(new Error('late')), ac.signal)).rejects.toMatchObject({
      code: 'ABORTED',
    })
  })
})
