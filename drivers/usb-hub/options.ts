/**
 * The usb-hub driver's config section, declared once (core/options.ts): the docs'
 * tables and `fencegate list --drivers` come from it. Docs: docs/drivers/usb-hub.md.
 */
import { Type } from 'typebox'
import { DEFAULT_TRANSFER_TIMEOUT_MS, parseLocation } from '../../protocols/usb.js'
import { Opt, type OptionValues } from '../../core/options.js'

const VIDPID = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$/

/** The usb-hub driver's config section (besides `driver` and the common `deviceCycle`). */
export const USB_HUB_OPTIONS = {
  location: Opt.custom<string | undefined>(
    Type.String(),
    "the hub by location (uhubctl's `-l`, as `lsusb -t` shows it); `location` or `id` is required",
    {
      type: 'a hub location like `1-1.4`',
      defaultText: 'none',
      read: (f, name) => {
        const location = f.optStr(name)
        if (location !== undefined && !parseLocation(location))
          f.problems.push({
            path: [...f.base, name],
            message: `expected a hub location like 1-1.4 (bus-port.port…, as lsusb -t and uhubctl show it), got '${location}'`,
          })
        return location
      },
    },
  ),
  id: Opt.custom<{ vendorId: number; productId: number } | undefined>(
    Type.String({ pattern: VIDPID.source }),
    'or the hub by vendor:product in hex (with `serial` when several hubs share it)',
    {
      type: '`vendor:product` (hex)',
      defaultText: 'none',
      read: (f, name) => {
        const id = f.optStr(name)
        if (id === undefined) return undefined
        const m = VIDPID.exec(id)
        if (!m) {
          f.problems.push({
            path: [...f.base, name],
            message: `expected vendor:product in hex like 2109:3431, got '${id}'`,
          })
          return undefined
        }
        return { vendorId: Number.parseInt(m[1]!, 16), productId: Number.parseInt(m[2]!, 16) }
      },
    },
  ),
  serial: Opt.optionalString("with `id`: the hub's serial number, when several hubs share vendor:product"),
  sysfs: Opt.bool(
    'try the sysfs `disable` files first (kernel 6.0 and later); `false`: hub requests only (uhubctl `-S`)',
    {
      default: true,
    },
  ),
  sysfsRoot: Opt.string('where the `disable` files are', { default: '/sys/bus/usb/devices' }),
  companion: Opt.custom<string>(
    Type.String({ default: 'auto' }),
    'the USB 2 companion of a USB 3 hub: `auto` (container ID, else the same port path), `none`, or its location',
    {
      type: '`auto`, `none` or a hub location',
      defaultText: '`auto`',
      read: (f, name) => {
        const companion = f.str(name, { default: 'auto' })
        if (companion !== 'auto' && companion !== 'none' && !parseLocation(companion))
          f.problems.push({
            path: [...f.base, name],
            message: `expected auto, none or a hub location, got '${companion}'`,
          })
        return companion
      },
    },
  ),
  offRepeat: Opt.int(
    'how many times off is sent over hub requests: the kernel may power a port back on (uhubctl `-r`)',
    {
      default: 3,
      min: 1,
      max: 1000,
    },
  ),
  offRepeatGap: Opt.duration('the pause between repeats (uhubctl `-w`)', { default: 20, max: 1000 }),
  transferTimeout: Opt.duration("each control transfer's timeout (uhubctl: 5 s)", {
    default: DEFAULT_TRANSFER_TIMEOUT_MS,
    min: 10,
    max: 60_000,
  }),
  ganged: Opt.bool("the hub's ports are ganged and the config says so: switching one switches all", {
    default: false,
  }),
  gang: Opt.custom<string[]>(
    Type.Array(Type.String()),
    'with `ganged: true`: every node powered from the hub (check-config compares)',
    {
      type: 'a list of node names',
      defaultText: 'none',
      read: (f, name) => {
        if (!f.has(name)) return []
        const raw = f.section[name]
        if (!Array.isArray(raw) || raw.length === 0 || !raw.every((n) => typeof n === 'string')) {
          f.problems.push({ path: [...f.base, name], message: 'expected a list of node names' })
          return []
        }
        return [...new Set(raw as string[])]
      },
    },
  ),
  simulated: Opt.optionalString(
    "the lab's simulated bus (a name in-process, `tcp://HOST:PORT` from `fencegate lab`); not for real hubs",
  ),
}

export type UsbHubOptionValues = OptionValues<typeof USB_HUB_OPTIONS>

/** The validated section: `id` split into vendorId and productId. */
export type UsbHubConfig = Omit<UsbHubOptionValues, 'id'> & { vendorId?: number; productId?: number }
