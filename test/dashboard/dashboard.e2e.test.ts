/**
 * The web dashboard end to end, in Debian's Chromium (playwright-core, no browser download)
 * against a demo gateway on an ephemeral loopback port: sign in, power a node off and see its
 * tile change, a fault injected through the lab control API turns a device unhealthy without a
 * reload, fence a node and find the operation in the history with its attempts, and a viewer
 * sees no power buttons and is refused (403) when it forges a request from its session.
 *
 * Screenshots go to $DASHBOARD_SCREENSHOTS (`npm run docs:screenshots`: docs/dashboard/), else
 * to a temporary folder removed at the end.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningServer, startServer } from '../../src/api/server.js'
import { hashToken } from '../../src/api/auth.js'
import { DEMO_DEVICES } from '../../src/demo/demo.js'
import { type RunningDemo, startDemo } from '../../src/demo/start.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const FENCER = 'dash-fencer-0123456789abcdefghij'
const VIEWER = 'dash-viewer-0123456789abcdefghij'
const WAIT = { timeout: 15_000 }
const root = path.resolve(import.meta.dirname, '../..')

describe('dashboard (Chromium against the demo gateway)', { timeout: 90_000 }, () => {
  let scratch: string
  let shots: string
  let demo: RunningDemo
  let server: RunningServer
  let browser: Browser
  let ctx: BrowserContext
  let page: Page
  /** Script errors and console errors of the page (none expected). */
  const pageErrors: string[] = []

  const shot = (name: string, p: Page = page) => p.screenshot({ path: path.join(shots, `${name}.png`) })
  const rest = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${FENCER}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }
  const tile = (node: string) => page.locator(`li.tile[data-node="${node}"]`)

  async function signIn(p: Page, token: string): Promise<void> {
    await p.goto(server.url)
    await p.getByLabel('Token').fill(token)
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.locator('#live[data-live="live"]').waitFor(WAIT)
  }

  beforeAll(async () => {
    // the assets as `npm run build` makes them, from the current sources
    execFileSync(process.execPath, [path.join(root, 'scripts/build-dashboard.mjs')], { cwd: root })
    scratch = mkdtempSync(path.join(tmpdir(), 'fencegate-dash-e2e-'))
    shots = process.env.DASHBOARD_SCREENSHOTS
      ? path.resolve(root, process.env.DASHBOARD_SCREENSHOTS)
      : path.join(scratch, 'shots')
    mkdirSync(shots, { recursive: true })
    demo = await startDemo({
      stateDir: path.join(scratch, 'state'),
      listen: { host: '127.0.0.1', port: 0 },
      tokenHash: `sha256:${hashToken(FENCER).toString('hex')}`,
      devices: DEMO_DEVICES.filter((d) => d.id === 'demo-pdu-a' || d.id === 'demo-pdu-b'),
    })
    demo.config.tokens.push({ name: 'lab-viewer', role: 'viewer', hash: hashToken(VIEWER) })
    server = await startServer({ config: demo.config, listen: { port: 0 } })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 30_000 })
    ctx = await browser.newContext({ viewport: { width: 1200, height: 800 } })
    page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(e.message))
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text())
    })
  })

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await demo?.stop()
    if (scratch) rmSync(scratch, { recursive: true, force: true })
  })

  it('signs in with a token kept in session storage, never in the URL, and shows every node', async () => {
    await page.goto(server.url)
    await page.getByLabel('Token').waitFor(WAIT)
    await shot('sign-in')
    // a wrong token: the API's answer, as it gave it
    await page.getByLabel('Token').fill('not-a-token')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.locator('#signin-error').textContent(), WAIT).toContain('unknown token')
    pageErrors.length = 0 // the browser logs the 401 of that attempt
    await page.getByLabel('Token').fill(FENCER)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.locator('#live[data-live="live"]').waitFor(WAIT)
    for (const n of ['demo-1', 'demo-2', 'demo-3', 'demo-4']) await tile(n).waitFor(WAIT)
    expect(page.url()).not.toContain(FENCER)
    // (the page's own code, as strings: this file is type-checked without the DOM library)
    expect(await page.evaluate("sessionStorage.getItem('fencegate.token')")).toBe(FENCER)
    expect(await page.evaluate('localStorage.length')).toBe(0)
    // a measurement for the docs (no threshold): the page's load, first navigation of this tab
    const timing = await page.evaluate<{ domContentLoaded: number; load: number }>(
      "(() => { const e = performance.getEntriesByType('navigation')[0]; return { domContentLoaded: e.domContentLoadedEventEnd, load: e.loadEventEnd } })()",
    )
    const js = statSync(path.join(root, 'dist/dashboard/app.js')).size
    console.log(
      `dashboard: DOMContentLoaded ${timing.domContentLoaded.toFixed(0)} ms, load ${timing.load.toFixed(0)} ms, app.js ${(js / 1024).toFixed(1)} KiB`,
    )
    expect(timing.load).toBeGreaterThan(0)
  })

  it('groups tiles by the config group label, filters by hostlist and state, and works from the keyboard', async () => {
    // the demo labels demo-1 and demo-2 rack-a, demo-3 and demo-4 rack-b
    const rackA = page.locator('section.group[aria-label="rack-a"] li.tile')
    await rackA.first().waitFor(WAIT)
    expect(await rackA.evaluateAll((els) => els.map((e) => e.getAttribute('data-node')))).toEqual([
      'demo-1',
      'demo-2',
    ])
    await page.getByLabel('Group').selectOption('device')
    await page.locator('section.group[aria-label="demo-pdu-a"]').waitFor(WAIT)
    await page.getByLabel('Hostlist').fill('demo-[2-3]')
    await expect.poll(() => page.locator('li.tile').count(), WAIT).toBe(2)
    await page.getByLabel('Hostlist').fill('demo-[2-')
    await expect.poll(() => page.locator('#f-hostlist-err').textContent(), WAIT).not.toBe('')
    await page.getByLabel('Hostlist').fill('')
    await page.getByLabel('State').selectOption('fenced-on-hold')
    await page.getByText('No node matches the filter.').waitFor(WAIT)
    await page.getByLabel('State').selectOption('')
    await expect.poll(() => page.locator('li.tile').count(), WAIT).toBe(4)
    // keyboard only: select a tile, open the confirmation, Escape cancels it
    await page.locator('#sel-demo-4').focus()
    await page.keyboard.press('Space')
    await expect.poll(() => page.locator('.sel-count').textContent(), WAIT).toBe('1 selected: demo-4')
    await page.locator('button[data-action="cycle"]').focus()
    await page.keyboard.press('Enter')
    const dialog = page.locator('dialog.confirm')
    await dialog.waitFor(WAIT)
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Power cycle demo-4')
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden', ...WAIT })
    await page.locator('#sel-demo-4').press('Space')
    await expect
      .poll(() => page.locator('.sel-count').textContent(), WAIT)
      .toBe('Select nodes to act on them')
  })

  it('powers a node off from its tile; the tile changes without a reload', async () => {
    const on = await rest('POST', '/v1/nodes/demo-1/power', { action: 'on' })
    expect((on.body.operation as { status: string }).status).toBe('succeeded')
    await tile('demo-1').and(page.locator('[data-state="on"]')).waitFor(WAIT)
    // a mark that a reload would wipe
    await page.evaluate('window.marker = 1')
    await page.locator('#sel-demo-1').check()
    await page.locator('button[data-action="off"]').click()
    const dialog = page.locator('dialog.confirm')
    await expect.poll(() => dialog.locator('.names').textContent(), WAIT).toBe('demo-1')
    await shot('confirm-off')
    await dialog.getByRole('button', { name: 'Power off demo-1' }).click()
    await tile('demo-1').and(page.locator('[data-state="off"]')).waitFor(WAIT)
    const row = page.locator('.ops li[data-node="demo-1"][data-outcome="success"]')
    await row.waitFor(WAIT)
    expect(await page.evaluate('window.marker')).toBe(1)
    await shot('nodes')
  })

  it('a fault injected through the lab control API turns the device unhealthy without a reload', async () => {
    await page.getByRole('link', { name: 'Devices' }).click()
    const card = page.locator('li.device[data-device="demo-pdu-b"]')
    await card.and(page.locator('[data-state="ok"]')).waitFor(WAIT)
    const fault = await fetch(`${demo.controlUrl}/devices/demo-pdu-b/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'disconnect' }),
    })
    expect(fault.status).toBe(201)
    // the gateway's next probe (here asked for at once, not waited for) finds it failing
    await rest('POST', '/v1/devices/demo-pdu-b/probe')
    await card.and(page.locator('[data-state="failing"]')).waitFor(WAIT)
    expect(await card.locator('.last-error').textContent()).not.toBe('none')
    await shot('devices')
    await fetch(`${demo.controlUrl}/devices/demo-pdu-b/faults`, { method: 'DELETE' })
    await rest('POST', '/v1/devices/demo-pdu-b/probe')
    await card.and(page.locator('[data-state="ok"]')).waitFor(WAIT)
  })

  it('fences a node (level 1 a stuck relay) and finds the operation in the history with its attempts', async () => {
    const lie = await fetch(`${demo.controlUrl}/devices/demo-pdu-a/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'lie', plugs: ['3'] }),
    })
    expect(lie.status).toBe(201)
    await rest('POST', '/v1/nodes/demo-3/power', { action: 'on' })
    await page.getByRole('link', { name: 'Nodes' }).click()
    await tile('demo-3').and(page.locator('[data-state="on"]')).waitFor(WAIT)
    await page.locator('#sel-demo-1').uncheck()
    // fencing several nodes wants their names typed
    await page.locator('#sel-demo-2').check()
    await page.locator('#sel-demo-3').check()
    await page.locator('button[data-action="fence"]').click()
    const dialog = page.locator('dialog.confirm')
    const go = dialog.getByRole('button', { name: 'Fence 2 nodes' })
    expect(await go.isDisabled()).toBe(true)
    await dialog.getByLabel('Type demo-[2-3] to confirm').fill('demo-[2-3]')
    expect(await go.isEnabled()).toBe(true)
    await shot('confirm-fence')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    await page.locator('#sel-demo-2').uncheck()
    // one node: confirmed by naming it in the dialog
    await page.locator('button[data-action="fence"]').click()
    await expect.poll(() => dialog.locator('.names').textContent(), WAIT).toBe('demo-3')
    await dialog.getByRole('button', { name: 'Fence demo-3' }).click()
    await page.locator('.ops li[data-node="demo-3"][data-outcome="success"]').waitFor(WAIT)
    await tile('demo-3').and(page.locator('[data-state="fenced-on-hold"]')).waitFor(WAIT)
    await shot('fenced')

    await page.getByRole('link', { name: 'History' }).click()
    await page.getByLabel('Node').fill('demo-3')
    await page.getByRole('button', { name: 'Show' }).click()
    const entry = page
      .locator('.timeline li[data-node="demo-3"]')
      .filter({ hasText: 'fence off demo-3' })
      .first()
    await entry.waitFor(WAIT)
    expect(await entry.getAttribute('data-outcome')).toBe('success')
    await entry.locator('summary').click()
    const attempts = entry.locator('.attempts-table tbody tr')
    await attempts.first().waitFor(WAIT)
    // level 1 acknowledged the off and still read on; level 2 did it
    expect(await entry.locator('.attempts-table').textContent()).toContain('failed')
    expect(await attempts.count()).toBeGreaterThanOrEqual(3)
    await shot('history')
    await entry.getByRole('link', { name: 'operation' }).click()
    await page.locator('section.result[data-node="demo-3"][data-outcome="success"]').waitFor(WAIT)
    expect(page.url()).toMatch(/#\/operations\/[0-9a-f-]{36}$/)
    await shot('operation')
    await fetch(`${demo.controlUrl}/devices/demo-pdu-a/faults`, { method: 'DELETE' })
  })

  it('a viewer sees no power buttons, and a request forged from its session is refused (403)', async () => {
    const vctx = await browser.newContext({ viewport: { width: 390, height: 844 } })
    try {
      const vp = await vctx.newPage()
      await signIn(vp, VIEWER)
      await vp.locator('li.tile[data-node="demo-1"]').waitFor(WAIT)
      expect(await vp.locator('button[data-action]').count()).toBe(0)
      expect(await vp.locator('li.tile input[type="checkbox"]').count()).toBe(0)
      await shot('viewer-narrow', vp)
      // what a user could paste into the console: the session's own token, a power request
      const forged = await vp.evaluate<{
        status: number
        body: { code: string; message: string }
      }>(`(async () => {
        const res = await fetch('/v1/nodes/demo-1/power', {
          method: 'POST',
          headers: { authorization: 'Bearer ' + sessionStorage.getItem('fencegate.token'), 'content-type': 'application/json' },
          body: JSON.stringify({ action: 'off' }),
        })
        return { status: res.status, body: await res.json() }
      })()`)
      expect(forged.status).toBe(403)
      expect(forged.body.code).toBe('FORBIDDEN')
      expect(forged.body.message).toContain('role viewer')
    } finally {
      await vctx.close()
    }
  })

  it('leaves the screenshots it was asked for, and the page logged no error', () => {
    expect(pageErrors).toEqual([])
    for (const n of ['sign-in', 'nodes', 'devices', 'confirm-fence', 'history', 'operation', 'viewer-narrow'])
      expect(existsSync(path.join(shots, `${n}.png`))).toBe(true)
  })
})
