import type { PlugRef, PowerState } from '../../core/types.js'

/**
 * Rule 5, the only definition of a node's state: off when every plug of some level reads off;
 * on when any plug reads on; otherwise unknown. `unknown` is never off.
 */
export function nodeState(
  levels: readonly (readonly PlugRef[])[],
  read: (ref: PlugRef) => PowerState,
): PowerState {
  if (levels.some((level) => level.length > 0 && level.every((r) => read(r) === 'off'))) return 'off'
  if (levels.some((level) => level.some((r) => read(r) === 'on'))) return 'on'
  return 'unknown'
}

/** The plugs of a level all read off. */
export function allOff(level: readonly PlugRef[], read: (ref: PlugRef) => PowerState): boolean {
  return level.length > 0 && level.every((r) => read(r) === 'off')
}

export function allOn(plugs: readonly PlugRef[], read: (ref: PlugRef) => PowerState): boolean {
  return plugs.length > 0 && plugs.every((r) => read(r) === 'on')
}
