import type { FieldProblem } from '../core/problems.js'
import type { OptionDecl } from '../core/options.js'
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
  /** `initial` was written in the lab file (not the default): a kind with its own power-up state keeps it otherwise. */
  initialGiven?: boolean
}

/** The fields of a lab device section that firmware-mocks/lab-file.ts reads for every kind. */
export const COMMON_LAB_FIELDS = ['kind', 'listen', 'pty', 'plugs', 'transitionDelay', 'initial'] as const

export interface MockFactory<S = unknown> {
  readonly kind: string
  /** The driver kind that talks to it (the pairing, listed in one place). */
  readonly driver: string
  readonly description: string
  /**
   * How clients reach it, checked by the lab before `validate`: `network` = `listen: HOST:PORT`
   * only (default 127.0.0.1, any free port); `serial` = a serial line, exactly one of
   * `pty: PATH` or `listen: HOST:PORT` (a raw TCP terminal server); `line` names it in the
   * error ("an RPS-10 line"); `optional`: the line is the kind's choice (a usb-relay: a CH340
   * board has one, a dcttech board none), the lab refuses only both, `validate` the rest.
   */
  readonly endpoint: 'network' | { serial: string; optional?: true }
  /**
   * A single-target device (a BMC, a UPS): its one plug id and what to call the device in an
   * error. The lab accepts `plugs` left out, `1`, or `[id]`, and the mock gets `[id]`.
   */
  readonly singlePlug?: { id: string; noun: string }
  /**
   * The kind's own lab fields, declared once (core/options.ts): `validate` reads them
   * with readOptions, and docs/lab.md's table of the kind is generated from them.
   */
  readonly options: OptionDecl
  /**
   * Read the kind's own fields of a lab device section: `section` holds no common field
   * (COMMON_LAB_FIELDS, read and checked by the lab); `common` is what the lab read of them,
   * for the checks only this kind can make (an RPS-10 chain has 1 to 10 units…).
   */
  validate(
    section: Record<string, unknown>,
    path: (string | number)[],
    common: CommonLabSpec,
  ): { spec: S; problems: FieldProblem[] }
  create(id: string, common: CommonLabSpec, spec: S): MockDevice
  /**
   * The driver config section that reaches a started mock, for the demo and for tests:
   * `{ driver: 'dummy', host, port }`. Secrets are written to files under `secretsDir`.
   */
  driverSection(mock: MockDevice, secretsDir: string): Record<string, unknown>
}
