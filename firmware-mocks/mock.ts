import type { FieldProblem } from '../drivers/driver.js'
import type { DeviceSimulator, PhysicalState } from './simulator.js'

/**
 * A firmware mock: a DeviceSimulator behind a real wire protocol on a real endpoint
 * (TCP or UDP port, pseudo-terminal). Instances only: tests start as many as they like.
 */
export interface MockDevice {
  readonly id: string
  readonly kind: string
  readonly sim: DeviceSimulator
  /** Where clients reach it: `tcp://127.0.0.1:17001`, `udp://127.0.0.1:16161`, `pty:/tmp/rps0`. Valid after start(). */
  readonly endpoint: string
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * Called by the lab once every device exists, before any starts: a device that is another
   * face of the same machine (an iDRAC's racadm beside its Redfish) takes that device's simulator.
   */
  attach?(devices: ReadonlyMap<string, MockDevice>): void
  /** Kind-specific facts for the lab's control API (community, users…); never secrets of real devices. */
  info?(): Record<string, unknown>
}

/** The fields every lab device has. */
export interface CommonLabSpec {
  kind: string
  /** Network mocks: `127.0.0.1:17001` (port 0 = any free port). */
  listen?: { host: string; port: number }
  /** Serial mocks: the path the pseudo-terminal is linked at. */
  pty?: string
  plugs: number | { id: string; name?: string; state?: PhysicalState }[]
  transitionDelayMs: number
  initial: PhysicalState
}

export interface MockFactory<S = unknown> {
  readonly kind: string
  /** The driver kind that talks to it (the pairing, listed in one place). */
  readonly driver: string
  readonly description: string
  /** Read the kind's own fields of a lab device section (common ones are read by the lab). */
  validate(section: Record<string, unknown>, path: (string | number)[]): { spec: S; problems: FieldProblem[] }
  create(id: string, common: CommonLabSpec, spec: S): MockDevice
  /**
   * The driver config section that reaches a started mock, for the demo and for tests:
   * `{ driver: 'dummy', host, port }`. Secrets are written to files under `secretsDir`.
   */
  driverSection(mock: MockDevice, secretsDir: string): Record<string, unknown>
}
