import { describe, expect, it, vi } from 'vitest'
import { FakeDriver } from '../../test/helpers/fake-driver.js'
import { EmbeddedCoordinator } from '../coordination/coordinator.js'
import { ENGINE_DEFAULTS } from '../config/config.js'
import { DeviceRunner, MAX_QUEUED_PER_DEVICE, PRIORITY } from './device-runner.js'

const live = () => new AbortController().signal

function runner(plugs: Record<string, 'on' | 'off'>, delay: number, deviceCycle = false) {
  const fake = new FakeDriver(plugs)
  fake.delay = delay
  const r = new DeviceRunner(
    'pdu',
    'fake',
    fake,
    { ...ENGINE_DEFAULTS, retries: 0 },
    Object.keys(plugs),
    deviceCycle,
  )
  return { fake, r }
}

describe('DeviceRunner', () => {
  it("refuses the device's own cycle unless deviceCycle, for every kind, before the driver is asked", async () => {
    const { fake, r } = runner({ '1': 'on' }, 0)
    await expect(r.set('1', 'cycle', { priority: PRIORITY.operator, signal: live() })).rejects.toMatchObject({
      code: 'UNSUPPORTED_ACTION',
      message: expect.stringContaining('deviceCycle: true'),
    })
    expect(fake.calls).toHaveLength(0)
    expect(r.health.counts.commands).toBe(0)
    const allowed = runner({ '1': 'on' }, 0, true)
    await allowed.r.set('1', 'cycle', { priority: PRIORITY.operator, signal: live() })
    expect(allowed.fake.calls).toMatchObject([{ kind: 'set', action: 'cycle' }])
  })

  it('a batch abandoned by every requester is never joined: later reads reach the device', async () => {
    const { fake, r } = runner({ '1': 'on', '4': 'off' }, 100)
    const first = r.status(['1'], { priority: PRIORITY.operator, signal: live() })
    // queued behind the first read, then every requester goes (a viewer hung up, a probe timed out)
    await expect(
      r.status(['4'], { priority: PRIORITY.operator, signal: AbortSignal.timeout(20) }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/ABORTED|DEADLINE_EXCEEDED/) })
    await first
    const again = await r.status(['4'], { priority: PRIORITY.fence, signal: live() })
    expect(again.value.get('4')).toBe('off')
    const later = await r.status(['4'], { priority: PRIORITY.operator, signal: live() })
    expect(later.value.get('4')).toBe('off')
    expect(fake.calls.filter((c) => c.kind === 'status')).toHaveLength(3)
  })

  it("a fence's read never joins a queued operator batch: it goes ahead of the queued sets", async () => {
    const { fake, r } = runner({ '1': 'on', '2': 'on', '3': 'on', '4': 'on', '5': 'on' }, 20)
    const busy = r.status(['1'], { priority: PRIORITY.operator, signal: live() }) // at the device
    const sets = ['2', '3', '4', '5'].map((p) =>
      r.set(p, 'off', { priority: PRIORITY.operator, signal: live() }),
    )
    const opRead = r.status(['2'], { priority: PRIORITY.operator, signal: live() }) // queued after the sets
    const fenceRead = r.status(['1'], { priority: PRIORITY.fence, signal: live() })
    await Promise.all([busy, ...sets, opRead, fenceRead])
    expect(fake.calls[1]).toMatchObject({ kind: 'status', plugs: ['1'] })
    expect(fake.calls.slice(2, 6).every((c) => c.kind === 'set')).toBe(true)
  })

  it('holds the device slot until an abandoned driver call has settled', async () => {
    const { fake, r } = runner({ '1': 'on', '2': 'on' }, 100)
    fake.ignoreAbort = true
    await expect(
      r.set('1', 'off', { priority: PRIORITY.operator, signal: AbortSignal.timeout(20) }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/ABORTED|DEADLINE_EXCEEDED/) })
    await r.status(['2'], { priority: PRIORITY.fence, signal: live() })
    expect(fake.maxInFlight).toBe(1)
    expect(fake.calls[1]!.at).toBeGreaterThanOrEqual(fake.calls[0]!.end!)
  })

  it('a call taken out of the queue by its caller never reaches the device', async () => {
    const { fake, r } = runner({ '1': 'on', '2': 'on' }, 60)
    const busy = r.status(['1'], { priority: PRIORITY.operator, signal: live() })
    const gone = new AbortController()
    const queued = r.set('2', 'off', { priority: PRIORITY.operator, signal: gone.signal })
    gone.abort()
    await expect(queued).rejects.toMatchObject({ code: 'ABORTED' })
    await busy
    expect(fake.sets()).toHaveLength(0)
    expect(r.health.queued).toBe(0)
  })

  it('replica mode: a lock kept for a queued call goes when that call is aborted before its round (other replicas would wait behind it)', async () => {
    // the device lock of replica mode as the runner sees it: kept while calls wait here
    class Lock extends EmbeddedCoordinator {
      held = false
      readonly releases: boolean[] = []
      open = () => {}
      readonly gate = new Promise<void>((r) => {
        this.open = r
      })
      override acquire(): Promise<AbortSignal | undefined> {
        this.held = true
        return Promise.resolve(new AbortController().signal)
      }
      // optional parameters: the embedded coordinator's release takes none
      override async release(_d?: string, idle = false, closeSessions = async () => {}): Promise<void> {
        this.releases.push(idle)
        await this.gate
        if (!idle) return
        await closeSessions()
        this.held = false
      }
      override holds(): boolean {
        return this.held
      }
    }
    const lock = new Lock()
    const fake = new FakeDriver({ '1': 'on', '2': 'on' })
    fake.delay = 10
    const r = new DeviceRunner(
      'pdu',
      'fake',
      fake,
      { ...ENGINE_DEFAULTS, retries: 0 },
      ['1', '2'],
      false,
      () => {},
      lock,
      () => fake,
    )
    const busy = r.status(['1'], { priority: PRIORITY.operator, signal: live() })
    const gone = new AbortController()
    const queued = r.set('2', 'off', { priority: PRIORITY.operator, signal: gone.signal })
    // the read's round ends with a call waiting: the lock is kept for it
    await vi.waitFor(() => expect(lock.releases).toEqual([false]))
    gone.abort()
    await expect(queued).rejects.toMatchObject({ code: 'ABORTED' })
    lock.open()
    await busy
    await vi.waitFor(() => expect(lock.holds()).toBe(false))
    expect(lock.releases).toEqual([false, true])
    expect(fake.sets()).toHaveLength(0)
  })

  it('refuses non-fence work past the queue bound, never fence work', async () => {
    const { r } = runner({ '1': 'on' }, 5)
    const calls: Promise<unknown>[] = []
    for (let i = 0; i <= MAX_QUEUED_PER_DEVICE; i++)
      calls.push(r.set('1', 'off', { priority: PRIORITY.operator, signal: live() }).catch((e) => e))
    await expect(r.set('1', 'off', { priority: PRIORITY.operator, signal: live() })).rejects.toMatchObject({
      code: 'QUEUE_FULL',
    })
    const fence = r.set('1', 'off', { priority: PRIORITY.fence, signal: live() })
    await expect(fence).resolves.toMatchObject({ tries: 1 })
    r.close()
    await Promise.race([Promise.all(calls), new Promise((res) => setTimeout(res, 100))])
  })
})
