/**
 * The PowerDriver contract: one interface between the engine and every device.
 *
 * A driver talks to one device. It knows the protocol and nothing else: no fencing rules,
 * no retries, no verification, no HTTP. The engine owns those (src/engine).
 *
 * Rules every driver follows:
 * - Every call takes a {@link Call}; when `call.signal` aborts, the call rejects promptly with
 *   the signal's reason turned into a FenceError (`abortError(signal)` in core/errors)
 *   and leaves the connection usable or closed, never half-read.
 * - Errors are FenceErrors with a code from core/errors: transient ones
 *   (DEVICE_TIMEOUT, DEVICE_UNREACHABLE, DEVICE_BUSY, CONNECTION_LOST, PROTOCOL_ERROR)
 *   may be retried by the engine; permanent ones (AUTH_REFUSED, NO_SUCH_PLUG,
 *   UNSUPPORTED_ACTION, DEVICE_ERROR, INSECURE_DEVICE) are not.
 * - `set` only issues the command. It never waits for the outlet to change and never
 *   reports a state: the engine reads the state back with `status`.
 * - `status` reads the device now, never from a cache, and returns `unknown` for a plug
 *   whose state the device did not give in a form the driver understands.
 * - A driver never retries by itself; one command at a time (the engine serialises calls).
 * - Secrets a driver was given never appear in its errors or logs.
 */
import type { FieldProblem, SecretRef } from '../core/problems.js'
import type { OptionDecl } from '../core/options.js'
import type { DeviceAction, PowerState } from '../core/types.js'

export interface Call {
  /** Aborts on the caller's deadline or when the caller goes away. */
  signal: AbortSignal
}

export interface PlugInfo {
  /** The id the config and the engine use (`3`, `1:4`, `chassis`). */
  id: string
  /** The device's own name for it, when it has one. */
  name?: string
}

export interface PowerDriver {
  readonly kind: string
  /** Discover the outlets/ports of the device, with their names. */
  plugs(call: Call): Promise<PlugInfo[]>
  /** Read the state of several plugs in as few device rounds as the protocol allows. */
  status(plugs: readonly string[], call: Call): Promise<Map<string, PowerState>>
  /**
   * Issue on, off or the device's own cycle. Resolves when the device accepted the command.
   * `cycle` is never used for fencing (design rule 2); a driver without one throws
   * UNSUPPORTED_ACTION.
   */
  set(plug: string, action: DeviceAction, call: Call): Promise<void>
  /**
   * Cancel commands the device still has pending for these plugs (APC delayedOn,
   * delayedReboot…), so that a fenced node is not powered back on by the device itself.
   * Called by the engine before a fence. Drivers of devices without delayed commands omit it.
   */
  cancelPending?(plugs: readonly string[], call: Call): Promise<void>
  /** Release sockets, sessions and ports. Idempotent. */
  close(): Promise<void>
}

/** What a driver gets besides its own config section. */
export type { FieldProblem, SecretRef }

export interface DriverContext {
  /** The device id in the config (`pdu1`), for error messages. */
  deviceId: string
  /** Resolves a secret reference (`{ file }` or `{ env }`) to its value. Never logged. */
  readSecret(ref: SecretRef, field: string): string
  /** Structured log; never pass secrets. */
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void
}

/**
 * How a driver kind is registered (drivers/registry.ts). The config loader calls `validate`
 * on the device's section without the fields every device has (`driver`, `deviceCycle`:
 * COMMON_DEVICE_FIELDS, read by drivers/registry.ts readDeviceSection) and reports problems
 * with file and line. A driver's `set(…, 'cycle')` does the device's own cycle; whether an
 * operator may use it (`deviceCycle`) is decided outside the driver.
 */
export interface DriverFactory<C = unknown> {
  readonly kind: string
  /** One line for docs and `fencegate list --drivers`. */
  readonly description: string
  /**
   * The plug id of a single-target device (a BMC: `chassis`), so a node may name the device
   * alone (`bmc3`). Absent for multi-outlet devices.
   */
  readonly singlePlug?: string
  /**
   * The driver's own fields, declared once (core/options.ts): `validate` reads them,
   * the config type is derived from them, and the docs' option tables and
   * `fencegate list --drivers` are generated from them.
   */
  readonly options: OptionDecl
  /**
   * Can the device read its outlets back? `false` (or a function of the config saying so) makes it
   * an *unverified* device: it can switch power but its status reads `unknown`, so it can never
   * prove a node off. Such a device serves operator on/off/cycle only (results say `unverified`)
   * and is refused as a fencing level. Default: true.
   */
  readonly verifies?: boolean | ((config: C) => boolean)
  /**
   * Problems only the whole config shows: which nodes use this device (`uses`: each node with a plug
   * on it). Reported by the config loader and check-config under the device's section.
   */
  checkNodes?(config: C, uses: readonly { node: string; plugs: string[]; fence: boolean }[]): FieldProblem[]
  validate(section: Record<string, unknown>): { config: C; problems: FieldProblem[] }
  create(config: C, ctx: DriverContext): PowerDriver
}
