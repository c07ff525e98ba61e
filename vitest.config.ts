import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'core/**/*.test.ts',
      'src/**/*.test.ts',
      'drivers/**/*.test.ts',
      'firmware-mocks/**/*.test.ts',
      'protocols/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // concurrent tests of one file (describe.concurrent: the fault suite, whose tests mostly wait
    // out deadlines, each on its own gateway); vitest's default is 5
    maxConcurrency: 24,
  },
})
