import { afterEach, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.js'
import { type ApiGateway, bearer, startApi } from './helpers.js'

let g: ApiGateway
afterEach(async () => g?.stop())

const scrape = async () => {
  const r = await g.app.inject({ method: 'GET', url: '/metrics', headers: bearer('viewer') })
  expect(r.statusCode).toBe(200)
  expect(r.headers['content-type']).toMatch(/^text\/plain/)
  return r.body
}

it('after operations: operation counters, duration histograms, unverified power-ons', async () => {
  g = await startApi()
  await g.app.inject({
    method: 'POST',
    url: '/v1/nodes/n1/power',
    headers: bearer('operator'),
    payload: { action: 'off' },
  })
  await g.app.inject({
    method: 'POST',
    url: '/v1/nodes/dual/fence',
    headers: bearer('fencer'),
    payload: { action: 'off' },
  })
  const text = await scrape()
  expect(text).toContain('fencegate_operations_total{kind="power",action="off",outcome="success"} 1')
  expect(text).toContain('fencegate_operations_total{kind="fence",action="off",outcome="success"} 1')
  expect(text).toMatch(
    /fencegate_operation_duration_seconds_bucket\{le="[0-9.+Inf]+",kind="power",action="off"\} 1/,
  )
  expect(text).toContain('fencegate_operation_duration_seconds_count{kind="fence",action="off"} 1')
  expect(text).toContain('fencegate_reboot_power_on_unverified_total 0')
})

it('device health: up, probe latency, probe failures, from the engine at scrape time', async () => {
  g = await startApi()
  const before = await scrape()
  expect(before).toContain('fencegate_device_up{device="pdu",driver="dummy"} 0') // not probed yet
  await g.app.inject({ method: 'POST', url: '/v1/devices/pdu/probe', headers: bearer('operator') })
  g.gw.lab.device('bmc')!.sim.faults.add({ type: 'garble' })
  await g.app.inject({ method: 'POST', url: '/v1/devices/bmc/probe', headers: bearer('operator') })
  const text = await scrape()
  expect(text).toContain('fencegate_device_up{device="pdu",driver="dummy"} 1')
  expect(text).toContain('fencegate_device_up{device="bmc",driver="dummy"} 0')
  expect(text).toMatch(/fencegate_device_probe_latency_seconds\{device="pdu"\} [0-9.e-]+/)
  expect(text).toMatch(/fencegate_device_probe_failures_total\{device="bmc"\} [1-9]/)
  expect(text).toContain('fencegate_device_probe_failures_total{device="pdu"} 0')
})

it('each app has its own registry (two apps on one engine do not collide) with process metrics', async () => {
  g = await startApi()
  const other = await buildApp({ engine: g.gw.engine, config: g.gw.config })
  try {
    await g.app.inject({
      method: 'POST',
      url: '/v1/nodes/n1/power',
      headers: bearer('operator'),
      payload: { action: 'off' },
    })
    const r = await other.inject({ method: 'GET', url: '/metrics', headers: bearer('viewer') })
    expect(r.body).toContain('process_cpu_seconds_total')
    // both apps listen to the same engine: the operation is counted in each registry once
    expect(r.body).toContain('fencegate_operations_total{kind="power",action="off",outcome="success"} 1')
  } finally {
    await other.close()
  }
})
