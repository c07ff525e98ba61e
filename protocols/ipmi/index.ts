/**
 * The IPMI v2.0 / RMCP+ codec shared by the ipmi driver and the mock BMC: RMCP/ASF framing,
 * IPMI messages and checksums, session packets, RAKP and key derivation, integrity and
 * AES-CBC. One implementation, so that a bug in it shows up in the real-client tests
 * (ipmitool, fence_ipmilan, ipmi_sim) instead of hiding on both sides.
 */
export * from './constants.js'
export * from './errors.js'
export * from './rmcp.js'
export * from './message.js'
export * from './crypto.js'
export * from './packet.js'
export * from './rakp.js'
export * from './commands.js'
export * from './sequence.js'
