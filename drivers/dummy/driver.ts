import type { DeviceAction, PowerState } from '../../core/types.js'
import { FenceError, type ErrorCode, ERRORS, abortError } from '../../core/errors.js'
import { type DummyVerb, decodeAnswer, encodeRequest } from '../../protocols/dummy-line.js'
import type { Call, PlugInfo, PowerDriver } from '../driver.js'
import { TcpLineClient } from '../transport/tcp-line-client.js'

import type { DummyConfig } from './options.js'

export type { DummyConfig }

/**
 * The dummy driver (fence-agents' fence_dummy, over a real socket): the engine's test double
 * and the demo's first device. It talks the line protocol of protocols/dummy-line.ts.
 */
export class DummyDriver implements PowerDriver {
  readonly kind = 'dummy'
  private readonly client: TcpLineClient
  private tag = 0
  private readonly label: string

  constructor(
    private readonly cfg: DummyConfig,
    deviceId: string,
  ) {
    this.label = `${deviceId} (${cfg.host}:${cfg.port})`
    this.client = new TcpLineClient({
      host: cfg.host,
      port: cfg.port,
      connectTimeoutMs: cfg.connectTimeoutMs,
      label: this.label,
    })
  }

  private async request(verb: DummyVerb, args: string[], call: Call): Promise<[string, string][]> {
    this.tag = (this.tag % 999_999_999) + 1
    const tag = this.tag
    const timeout = AbortSignal.timeout(this.cfg.requestTimeoutMs)
    const signal = AbortSignal.any([call.signal, timeout])
    try {
      await this.client.send(encodeRequest({ tag, verb, args }), signal)
      for (;;) {
        const line = await this.client.readLine(signal)
        const answer = decodeAnswer(line)
        if (!answer) {
          this.client.reset()
          throw new FenceError(
            'PROTOCOL_ERROR',
            `${this.label}: unreadable answer to ${verb}: ${JSON.stringify(line.slice(0, 80))}`,
          )
        }
        if (answer.tag < tag) continue // a late answer to an earlier, abandoned request
        if (answer.tag !== tag) {
          this.client.reset()
          throw new FenceError(
            'PROTOCOL_ERROR',
            `${this.label}: answer tagged ${answer.tag}, expected ${tag}`,
          )
        }
        if (!answer.ok) {
          const code = (answer.code && answer.code in ERRORS ? answer.code : 'DEVICE_ERROR') as ErrorCode
          throw new FenceError(
            code,
            `${this.label}: ${verb} refused: ${answer.code} ${answer.text ?? ''}`.trim(),
          )
        }
        return answer.pairs
      }
    } catch (e) {
      if (signal.aborted && !call.signal.aborted && timeout.aborted) {
        this.client.reset()
        throw new FenceError(
          'DEVICE_TIMEOUT',
          `${this.label}: no answer to ${verb} within ${this.cfg.requestTimeoutMs}ms`,
        )
      }
      if (call.signal.aborted) throw abortError(call.signal)
      throw e
    }
  }

  async plugs(call: Call): Promise<PlugInfo[]> {
    const pairs = await this.request('PLUGS', [], call)
    return pairs.map(([id, name]) => ({ id, name }))
  }

  async status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>> {
    const pairs = await this.request('STATUS', [...plugs], call)
    const got = new Map(pairs)
    const out = new Map<string, PowerState>()
    for (const p of plugs) {
      const v = got.get(p)
      out.set(p, v === 'on' || v === 'off' ? v : 'unknown')
    }
    return out
  }

  async set(plug: string, action: DeviceAction, call: Call): Promise<void> {
    await this.request('SET', [plug, action], call)
  }

  async cancelPending(plugs: readonly string[], call: Call): Promise<void> {
    await this.request('CANCEL', [...plugs], call)
  }

  async close(): Promise<void> {
    await this.client.close()
  }
}
