/**
 * What each simulated APC model says about itself: a representative product of the family
 * (rPDU AP7920 is on cluster-glue's list of known models, so apcmastersnmp does not warn).
 */
import type { ApcFamily } from '../../protocols/apc-mib.js'

export interface ApcModelDefaults {
  model: string
  firmware: string
  hardware: string
  /** The agent's sysDescr, in the management card's format. */
  describe: (serial: string) => string
}

const card = (model: string, aos: string, app: string) => (serial: string) =>
  `APC Web/SNMP Management Card (MB:v3.9.2 PF:${aos} PN:apc_hw02_aos_${aos.replace(/\D/g, '')}.bin AF1:${app} AN1:apc_hw02_${model.toLowerCase()}.bin MN:${model} HR:B2 SN: ${serial} MD:01/01/2020) (simulated by fencegate)`

export const APC_MODELS: Readonly<Record<ApcFamily, ApcModelDefaults>> = {
  sPDU: { model: 'AP9212', firmware: 'v2.2.0', hardware: 'B2', describe: card('AP9212', 'v2.2.0', 'v2.2.0') },
  MSP: { model: 'AP9225', firmware: 'v2.6.1', hardware: 'B2', describe: card('AP9225', 'v2.6.1', 'v2.6.1') },
  rPDU: { model: 'AP7920', firmware: 'v3.7.3', hardware: 'B2', describe: card('AP7920', 'v3.7.0', 'v3.7.3') },
  rPDU2: {
    model: 'AP8941',
    firmware: 'v6.0.9',
    hardware: '02',
    describe: card('AP8941', 'v6.0.9', 'v6.0.9'),
  },
}
