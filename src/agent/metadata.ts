import { ACTIONS, OPTIONS, type OptionSpec, longName } from './options.js'

export const AGENT_NAME = 'fence_fencegate'

const LONGDESC =
  'fence_fencegate is a fence agent for the fencegate gateway: one daemon that owns the power devices ' +
  '(PDUs, BMCs, serial power switches, USB hubs) and fences a node by switching every plug of it hard off ' +
  'and reading every plug back off. plug is the node name as the gateway knows it, never an outlet number. ' +
  'The gateway can itself be down: configure a last fencing level that does not go through it.'

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function mixed(o: OptionSpec): string {
  const long = `--${longName(o)}${o.type === 'boolean' ? '' : `=${o.arg ?? '[value]'}`}`
  return o.short ? `-${o.short}, ${long}` : long
}

function parameter(o: OptionSpec, name: string, extra: string): string {
  const def = o.default !== undefined ? ` default="${esc(o.default)}"` : ''
  const content =
    o.type === 'select'
      ? `\t\t<content type="select"${def} >\n${(o.choices ?? []).map((c) => `\t\t\t<option value="${esc(c)}" />\n`).join('')}\t\t</content>\n`
      : `\t\t<content type="${o.type}"${def} />\n`
  return (
    `\t<parameter name="${name}" unique="0" required="${o.required ? 1 : 0}"${extra}>\n` +
    `\t\t<getopt mixed="${esc(mixed(o))}" />\n` +
    content +
    `\t\t<shortdesc lang="en">${esc(o.shortdesc)}</shortdesc>\n` +
    '\t</parameter>\n'
  )
}

/**
 * The metadata XML in fence-agents' form (RelaxNG: fence-agents' metadata.rng). `on` is not
 * automatic: unfencing through the gateway is never implied. Old names (`port`) are listed as
 * deprecated, as fence-agents list them, so a configuration that uses them still validates.
 */
export function metadataXml(): string {
  let params = ''
  for (const o of OPTIONS) {
    if (o.flagOnly) continue
    params += parameter(o, o.name, o.obsoletes ? ` obsoletes="${o.obsoletes}"` : '')
    if (o.obsoletes) params += parameter(o, o.obsoletes, ' deprecated="1"')
  }
  const actions = ACTIONS.filter((a) => a !== 'on')
    .map((a) => `\t<action name="${a}" />\n`)
    .join('')
  return (
    '<?xml version="1.0" ?>\n' +
    `<resource-agent name="${AGENT_NAME}" shortdesc="Fence agent for the fencegate power and fencing gateway" >\n` +
    `<longdesc>${esc(LONGDESC)}</longdesc>\n` +
    '<vendor-url></vendor-url>\n' +
    '<parameters>\n' +
    params +
    '</parameters>\n' +
    '<actions>\n' +
    '\t<action name="on" automatic="0"/>\n' +
    actions +
    '</actions>\n' +
    '</resource-agent>\n'
  )
}
