import { readFileSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type OpenApiDoc, renderApiDoc } from '../../src/api/api-doc.js'
import { type ApiGateway, startApi } from './helpers.js'

const FILE = new URL('../../docs/api.md', import.meta.url)

let g: ApiGateway
beforeAll(async () => {
  g = await startApi()
})
afterAll(async () => g?.stop())

it('docs/api.md is generated from the OpenAPI document and up to date', async () => {
  const doc = (await g.app.inject({ method: 'GET', url: '/openapi.json' })).json() as OpenApiDoc
  const text = renderApiDoc(doc)
  for (const p of Object.keys(doc.paths)) expect(text).toContain(` ${p}\n`)
  expect(text).toContain('Token: role **fencer** or above.')
  if (process.env.UPDATE_API_DOC) writeFileSync(FILE, text)
  expect(
    readFileSync(FILE, 'utf8'),
    'docs/api.md is stale: UPDATE_API_DOC=1 npx vitest run test/api/api-doc.test.ts',
  ).toBe(text)
})
