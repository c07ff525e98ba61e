import { Fields } from '../../src/config/fields.js'
import { DEFAULT_TRANSFER_TIMEOUT_MS, parseLocation } from '../../protocols/usb.js'
import type { FieldProblem } from '../driver.js'

/** The usb-hub driver's options: every one is read here (docs/drivers/usb-hub.md lists them). */
export interface UsbHubConfig {
  /** The hub by location (`1-1.4`), uhubctl's `-l`. */
  location?: string
  /** Or by vendor:product (hex) … */
  vendorId?: number
  productId?: number
  /** … and serial number, when several hubs share vendor:product. */
  serial?: string
  /** Switch through sysfs `disable` files first (kernel ≥ 6.0), falling back to hub requests. */
  sysfs: boolean
  sysfsRoot: string
  /** The USB 2 companion of a USB 3 hub: `auto` (container ID, else the same port path), `none`, or a location. */
  companion: string
  /** How often off is sent over hub requests (the kernel may power a port back on), and the gap. */
  offRepeat: number
  offRepeatGapMs: number
  /** Each control transfer's timeout (uhubctl: 5 s). */
  transferTimeoutMs: number
  /** The hub's ports are ganged and the config knows it: switching one switches all. */
  ganged: boolean
  /** Every node powered from the gang (required with ganged: true; check-config compares). */
  gang: string[]
  /** The name of an in-process simulated host (the lab's usb-hub mock); absent = this machine's USB. */
  simulated?: string
}

const VIDPID = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$/

export function readUsbHubConfig(section: Record<string, unknown>): {
  config: UsbHubConfig
  problems: FieldProblem[]
} {
  const f = new Fields(section)
  const problems: FieldProblem[] = []
  const location = f.optStr('location')
  if (location !== undefined && !parseLocation(location))
    problems.push({
      path: ['location'],
      message: `expected a hub location like 1-1.4 (bus-port.port…, as lsusb -t and uhubctl show it), got '${location}'`,
    })
  const id = f.optStr('id')
  let vendorId: number | undefined
  let productId: number | undefined
  if (id !== undefined) {
    const m = VIDPID.exec(id)
    if (!m)
      problems.push({ path: ['id'], message: `expected vendor:product in hex like 2109:3431, got '${id}'` })
    else {
      vendorId = Number.parseInt(m[1]!, 16)
      productId = Number.parseInt(m[2]!, 16)
    }
  }
  const serial = f.optStr('serial')
  if (!location && !id)
    problems.push({
      path: ['location'],
      message: 'required: location (1-1.4) or id (vendor:product, with serial)',
    })
  if (location && id) problems.push({ path: ['id'], message: 'give location or id, not both' })
  if (serial !== undefined && !id) problems.push({ path: ['serial'], message: 'serial goes with id' })
  const companion = f.str('companion', { default: 'auto' })
  if (companion !== 'auto' && companion !== 'none' && !parseLocation(companion))
    problems.push({
      path: ['companion'],
      message: `expected auto, none or a hub location, got '${companion}'`,
    })
  let gang: string[] = []
  if (f.has('gang')) {
    const raw = section.gang
    f.mark('gang')
    if (!Array.isArray(raw) || raw.length === 0 || !raw.every((n) => typeof n === 'string'))
      problems.push({ path: ['gang'], message: 'expected a list of node names' })
    else gang = [...new Set(raw as string[])]
  }
  const ganged = f.bool('ganged', false)
  if (ganged && gang.length === 0)
    problems.push({
      path: ['gang'],
      message:
        'ganged: true needs gang: [every node powered from this hub] (switching one port switches them all)',
    })
  if (!ganged && gang.length > 0) problems.push({ path: ['gang'], message: 'gang goes with ganged: true' })
  const config: UsbHubConfig = {
    location,
    vendorId,
    productId,
    serial,
    sysfs: f.bool('sysfs', true),
    sysfsRoot: f.str('sysfsRoot', { default: '/sys/bus/usb/devices' }),
    companion,
    offRepeat: f.int('offRepeat', { default: 3, min: 1, max: 1000 }),
    offRepeatGapMs: f.duration('offRepeatGap', 20, { max: 1000 }),
    transferTimeoutMs: f.duration('transferTimeout', DEFAULT_TRANSFER_TIMEOUT_MS, { min: 10, max: 60_000 }),
    ganged,
    gang,
    simulated: f.optStr('simulated'),
  }
  f.noOthers()
  return { config, problems: [...problems, ...f.problems] }
}
