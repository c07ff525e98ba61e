import type { FieldProblem } from '../core/problems.js'
import { Type } from 'typebox'
import { Fields, describe } from '../core/fields.js'
import { Opt, readOptions } from '../core/options.js'
import { YamlSource, asMapping } from '../core/yaml.js'
import { COMMON_LAB_FIELDS, type CommonLabSpec } from './mock.js'
import { MOCKS } from './registry.js'

export interface LabDeviceSpec {
  id: string
  common: CommonLabSpec
  spec: unknown
}

export interface LabSpec {
  /** The control API's address (loopback only). */
  control: { host: string; port: number }
  devices: LabDeviceSpec[]
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/

/**
 * The fields every lab device has (COMMON_LAB_FIELDS), declared as a kind's own are: read
 * here for every kind, and docs/lab.md's table is generated from it.
 */
export const COMMON_LAB_OPTIONS = {
  kind: Opt.custom<string>(Type.String(), 'the mock firmware (the kinds below)', {
    type: [...MOCKS.keys()].map((k) => `\`${k}\``).join(', '),
    defaultText: 'required',
    read: (f, name) => f.oneOf(name, [...MOCKS.keys()]),
  }),
  listen: Opt.hostPort(
    'network devices, and serial ones as a raw TCP port: on loopback or a private test address (port 0: any free port)',
    {
      defaultText: '`127.0.0.1:0` (network devices)',
    },
  ),
  pty: Opt.optionalString('serial devices: the path a pseudo-terminal is linked at (or `listen`)'),
  plugs: Opt.custom<CommonLabSpec['plugs']>(
    Type.Union([Type.Integer(), Type.Array(Type.Unknown())]),
    'a count, or a list of ids or `{id, name, state}`; a single-target device (a BMC, a UPS) has one and takes none',
    {
      type: 'integer 1 to 1024, or a list',
      defaultText: '`8`',
      read: (f, name) => readPlugs(f, name),
    },
  ),
  transitionDelay: Opt.duration('how long an outlet takes to switch', { default: 0 }),
  initial: Opt.oneOf(['on', 'off'], "every outlet's state at start", { default: 'on' }),
}

/** Validate a lab document (already parsed); `problems` name fields as paths. */
export function readLab(doc: unknown): { lab: LabSpec; problems: FieldProblem[] } {
  const problems: FieldProblem[] = []
  const top = asMapping(doc) ?? {}
  const f = new Fields(top)
  const control = f.hostPort('control', { host: '127.0.0.1', port: 7700 })
  if (!LOOPBACK.test(control.host))
    problems.push({
      path: ['control'],
      message: 'the control API listens on loopback only (127.0.0.1 or ::1)',
    })
  const devices: LabDeviceSpec[] = []
  const devs = asMapping(top.devices)
  if (!devs)
    problems.push({
      path: ['devices'],
      message: `expected a mapping of device ids, got ${describe(top.devices)}`,
    })
  for (const [id, raw] of Object.entries(devs ?? {})) {
    const path = ['devices', id]
    const section = asMapping(raw)
    if (!section) {
      problems.push({ path, message: `expected a mapping, got ${describe(raw)}` })
      continue
    }
    if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(id))
      problems.push({ path, message: 'device ids start with a letter: letters, digits, . _ -' })
    const { spec: common, own, problems: commonProblems } = readCommonFields(section, path)
    problems.push(...commonProblems)
    const factory = MOCKS.get(common.kind)
    if (!factory) continue
    const { spec, problems: ownProblems } = factory.validate(own, path, common)
    problems.push(...ownProblems)
    devices.push({ id, common, spec })
  }
  f.mark('devices')
  f.noOthers()
  problems.push(...f.problems)
  return { lab: { control, devices }, problems }
}

export function loadLabFile(file: string): LabSpec {
  const src = YamlSource.read(file)
  const { lab, problems } = readLab(src.value)
  src.assertNone(problems)
  return lab
}

/**
 * The fields every lab device has (COMMON_LAB_FIELDS), read and checked here for every kind
 * (as the gateway's config reader takes `driver` off a device section): the kind, where it
 * listens (a network port, or the pty-or-listen choice of a serial line), its plugs (one for
 * a single-target device), transition delay and initial state. Returns the rest, the kind's
 * own fields, for its factory.
 */
function readCommonFields(
  section: Record<string, unknown>,
  path: (string | number)[],
): { spec: CommonLabSpec; own: Record<string, unknown>; problems: FieldProblem[] } {
  const d = new Fields(section, path)
  const initialGiven = d.has('initial')
  const { kind, listen, pty, plugs, transitionDelayMs, initial } = readOptions(d, COMMON_LAB_OPTIONS)
  const factory = MOCKS.get(kind)
  const problems = d.problems
  if (listen && !LOOPBACK.test(listen.host) && !/^10\.|^192\.168\.|^172\./.test(listen.host))
    problems.push({
      path: [...path, 'listen'],
      message: 'a lab device listens on loopback or a test namespace address',
    })
  if (
    factory &&
    factory.endpoint !== 'network' &&
    (pty === undefined) === (listen === undefined) &&
    !(factory.endpoint.optional && pty === undefined)
  )
    problems.push({
      path: [...path, 'pty'],
      message: `${factory.endpoint.serial} is either pty: PATH or listen: HOST:PORT`,
    })
  if (factory && factory.endpoint === 'network' && pty !== undefined)
    problems.push({
      path: [...path, 'pty'],
      message: `a ${kind} device is reached over the network: listen: HOST:PORT, not pty`,
    })
  const own = Object.fromEntries(
    Object.entries(section).filter(([k]) => !(COMMON_LAB_FIELDS as readonly string[]).includes(k)),
  )
  return { spec: { kind, listen, pty, plugs, transitionDelayMs, initial, initialGiven }, own, problems }
}

function readPlugs(d: Fields, name: string): CommonLabSpec['plugs'] {
  const section = d.section
  const path = d.base
  const one = MOCKS.get(String(section.kind))?.singlePlug
  if (one) {
    const p = section.plugs
    if (p !== undefined && p !== 1 && !(Array.isArray(p) && p.length === 1 && String(p[0]) === one.id))
      d.problems.push({
        path: [...path, 'plugs'],
        message: `${one.noun} has one plug, ${one.id}: leave plugs out`,
      })
    return [{ id: one.id }]
  }
  if (Array.isArray(section.plugs))
    return section.plugs.map((p, i) => {
      const m = asMapping(p)
      if (typeof p === 'string' || typeof p === 'number') return { id: String(p) }
      if (m && (typeof m.id === 'string' || typeof m.id === 'number'))
        return {
          id: String(m.id),
          name: typeof m.name === 'string' ? m.name : undefined,
          state: m.state === 'off' ? 'off' : m.state === 'on' ? 'on' : undefined,
        }
      d.problems.push({ path: [...path, 'plugs', i], message: 'expected a plug id or {id, name, state}' })
      return { id: String(i + 1) }
    })
  return d.int(name, { default: 8, min: 1, max: 1024 })
}
