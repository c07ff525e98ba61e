import { Opt, type OptionValues } from '../../core/options.js'

/** The dummy driver's config section (besides `driver` and the common `deviceCycle`). */
export const DUMMY_OPTIONS = {
  host: Opt.string('where the dummy device listens', { default: '127.0.0.1' }),
  port: Opt.int('its TCP port', { min: 1, max: 65535 }),
  connectTimeout: Opt.duration('past it the device counts as unreachable', { default: 1000, min: 1 }),
  requestTimeout: Opt.duration('longest wait for one answer (then a transient error, retried)', {
    default: 2000,
    min: 1,
  }),
}

export type DummyConfig = OptionValues<typeof DUMMY_OPTIONS>
